/**
 * The chunk half of block verification: every chunk of the series with ordinal in [from, to)
 * read (CRC-checked) and decoded, its samples checked against the index's chunk range, their
 * order, and the block's range. Opens its own chunk reader (and index reader, unless given one),
 * so two ranges can run in two threads.
 */
import { join } from 'node:path';
import type { BlockMeta } from '../meta.js';
import { IndexReader } from '../index/reader.js';
import { SegmentReader } from '../chunks/reader.js';
import { CHUNKS_DIR, INDEX_FILENAME } from '../block/files.js';
import { isDownsampled, scanStoredChunk } from './scan.js';
import { newChunkTimeSummary, type ChunkTimeSummary } from '../chunkenc/codec.js';
import type { ChunkMeta } from '../index/format.js';
import { formatLabels, type Labels } from '../labels.js';
import { problemFromError, type BlockProblem } from './problems.js';

export interface ChunkRangeJob {
  dir: string;
  meta: BlockMeta;
  /** Series ordinals (position in the index's series section), from inclusive, to exclusive. */
  from: number;
  to: number;
  maxProblems: number;
}

export interface ChunkRangeResult {
  problems: BlockProblem[];
  series: number;
  chunks: number;
  samples: number;
}

/** Verifies the range; `opened` is the block's index if the caller has it open (it stays open). */
export async function verifyChunkRange(job: ChunkRangeJob, opened?: IndexReader): Promise<ChunkRangeResult> {
  const res: ChunkRangeResult = { problems: [], series: 0, chunks: 0, samples: 0 };
  const add = (p: BlockProblem): void => {
    if (res.problems.length < job.maxProblems) res.problems.push(p);
  };
  let index = opened;
  let chunks: SegmentReader | undefined;
  try {
    index ??= await IndexReader.open(join(job.dir, INDEX_FILENAME));
    chunks = await SegmentReader.open(join(job.dir, CHUNKS_DIR));
    await walk(index, chunks, job, res, add);
  } catch (err) {
    add(problemFromError(err));
  } finally {
    if (opened === undefined) await index?.close();
    await chunks?.close();
  }
  return res;
}

async function walk(
  index: IndexReader,
  chunks: SegmentReader,
  job: ChunkRangeJob,
  res: ChunkRangeResult,
  add: (p: BlockProblem) => void,
): Promise<void> {
  const sum = newChunkTimeSummary();
  const downsampled = isDownsampled(job.meta);
  const c = index.seriesCursor();
  let ordinal = -1;
  for (;;) {
    while (c.next()) {
      ordinal++;
      if (ordinal < job.from) continue;
      if (ordinal >= job.to) return;
      const s = c.series;
      res.series++;
      for (const m of s.chunks) {
        res.chunks++;
        try {
          // Chunks are read in file order: most are already in the reader's buffer.
          const stored = chunks.tryReadRaw(m.ref) ?? (await chunks.read(m.ref));
          scanStoredChunk(stored, sum, chunks.fileFor(m.ref), downsampled);
        } catch (err) {
          add(problemFromError(err, where(s.labels, m.ref)));
          continue;
        }
        res.samples += sum.samples;
        if (sum.samples === 0) {
          add({ severity: 'error', kind: 'chunk-empty', message: `${where(s.labels, m.ref)}: no samples` });
          continue;
        }
        checkChunkTimes(sum, m, job.meta, add, () => where(s.labels, m.ref));
      }
    }
    if (!(await c.load())) break;
  }
}

function where(labels: Labels, ref: number): string {
  return `series ${formatLabels(labels)} chunk ref ${ref}`;
}

function checkChunkTimes(
  sum: ChunkTimeSummary,
  m: ChunkMeta,
  meta: BlockMeta,
  add: (p: BlockProblem) => void,
  at: () => string,
): void {
  const { first, last } = sum;
  if (first !== m.mint || last !== m.maxt) {
    add({
      severity: 'error',
      kind: 'chunk-bounds-mismatch',
      message: `${at()}: index says [${m.mint}, ${m.maxt}], samples span [${first}, ${last}]`,
    });
  }
  if (sum.disorderAt > 0) {
    add({
      severity: 'error',
      kind: 'samples-out-of-order',
      message: `${at()}: sample ${sum.disorderAt} at ${sum.disorderT} after ${sum.disorderPrevT}`,
    });
  }
  if (first < meta.minTime || last >= meta.maxTime) {
    add({
      severity: 'error',
      kind: 'samples-outside-block',
      message: `${at()}: samples [${first}, ${last}] outside block range [${meta.minTime}, ${meta.maxTime})`,
    });
  }
}
