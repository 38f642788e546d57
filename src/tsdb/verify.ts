/**
 * Whole-block verification (`strata tsdb verify`, and the compactor's check before it renames an
 * output into place): meta.json, index invariants, tombstones, every chunk's CRC, and every chunk
 * decoded with its samples checked against the chunk's and the block's time range.
 */
import { join } from 'node:path';
import { readMetaFile, type BlockMeta } from './meta.js';
import { IndexReader } from './index/reader.js';
import { SegmentReader } from './chunks/reader.js';
import { readTombstones } from './tombstones/tombstones.js';
import { CHUNKS_DIR, INDEX_FILENAME } from './block/files.js';
import { scanChunkTimes } from './chunk-decode.js';
import type { XorTimeSummary } from './chunkenc/xor.js';
import type { ChunkMeta } from './index/format.js';
import { formatLabels, type Labels } from './labels.js';
import { isStrataError, errorMessage } from '../util/errors.js';

export interface BlockProblem {
  severity: 'error' | 'warning';
  /** Stable kind: an index problem kind, an error code, or a verify-specific kind. */
  kind: string;
  message: string;
}

export interface BlockVerification {
  dir: string;
  ok: boolean;
  problems: BlockProblem[];
  meta?: BlockMeta;
  samples: number;
  chunks: number;
  series: number;
}

export interface VerifyOptions {
  maxProblems?: number;
}

function fromError(err: unknown): BlockProblem {
  return { severity: 'error', kind: isStrataError(err) ? err.code : 'ERR_IO', message: errorMessage(err) };
}

export async function verifyBlock(dir: string, opts: VerifyOptions = {}): Promise<BlockVerification> {
  const max = opts.maxProblems ?? 100;
  const res: BlockVerification = { dir, ok: false, problems: [], samples: 0, chunks: 0, series: 0 };
  const add = (p: BlockProblem): void => {
    if (res.problems.length < max) res.problems.push(p);
  };
  let meta: BlockMeta;
  try {
    meta = await readMetaFile(dir);
    res.meta = meta;
  } catch (err) {
    add(fromError(err));
    return res;
  }
  try {
    await readTombstones(dir);
  } catch (err) {
    add(fromError(err));
  }
  let index: IndexReader | undefined;
  let chunks: SegmentReader | undefined;
  try {
    index = await IndexReader.open(join(dir, INDEX_FILENAME));
    const v = await index.validate(meta.minTime, meta.maxTime, { maxProblems: max });
    for (const p of v.problems) add({ severity: p.severity, kind: p.kind, message: p.message });
    chunks = await SegmentReader.open(join(dir, CHUNKS_DIR));
    await verifyChunks(index, chunks, meta, res, add);
  } catch (err) {
    add(fromError(err));
  } finally {
    await index?.close();
    await chunks?.close();
  }
  if (res.problems.every((p) => p.severity !== 'error')) {
    const st = meta.stats;
    if (st.numSamples && st.numSamples !== res.samples) {
      add({
        severity: 'warning',
        kind: 'stats-mismatch',
        message: `meta.json numSamples ${st.numSamples}, found ${res.samples}`,
      });
    }
    if (st.numSeries && st.numSeries !== res.series) {
      add({
        severity: 'warning',
        kind: 'stats-mismatch',
        message: `meta.json numSeries ${st.numSeries}, found ${res.series}`,
      });
    }
  }
  res.ok = res.problems.every((p) => p.severity !== 'error');
  return res;
}

async function verifyChunks(
  index: IndexReader,
  chunks: SegmentReader,
  meta: BlockMeta,
  res: BlockVerification,
  add: (p: BlockProblem) => void,
): Promise<void> {
  const sum: XorTimeSummary = {
    samples: 0,
    first: NaN,
    last: NaN,
    disorderAt: -1,
    disorderT: NaN,
    disorderPrevT: NaN,
  };
  const c = index.seriesCursor();
  for (;;) {
    while (c.next()) {
      const s = c.series;
      res.series++;
      for (const m of s.chunks) {
        res.chunks++;
        try {
          // Chunks are read in file order: most are already in the reader's buffer.
          const stored = chunks.tryReadRaw(m.ref) ?? (await chunks.read(m.ref));
          scanChunkTimes(stored, sum, chunks.fileFor(m.ref));
        } catch (err) {
          add({ ...fromError(err), message: `${where(s.labels, m.ref)}: ${errorMessage(err)}` });
          continue;
        }
        res.samples += sum.samples;
        if (sum.samples === 0) {
          add({ severity: 'error', kind: 'chunk-empty', message: `${where(s.labels, m.ref)}: no samples` });
          continue;
        }
        checkChunkTimes(sum, m, meta, add, () => where(s.labels, m.ref));
      }
    }
    if (!(await c.load())) break;
  }
}

function where(labels: Labels, ref: number): string {
  return `series ${formatLabels(labels)} chunk ref ${ref}`;
}

function checkChunkTimes(
  sum: XorTimeSummary,
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
