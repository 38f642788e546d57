/**
 * compactBlocks: N local blocks → one local block, streaming. Series are merged in label order
 * from sequential index cursors; chunk bytes flow from input segments to the output segment
 * through fixed-size buffers. Memory grows with the series and label data (symbols, postings,
 * one series' chunk metas at a time), not with samples or chunks.
 */
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BlockReader, closeBlocks } from '../block/reader.js';
import { BlockWriter } from '../block/writer.js';
import { blockFiles, INDEX_FILENAME } from '../block/files.js';
import type { BlockMeta } from '../meta.js';
import { compareLabels, formatLabels, type Labels } from '../labels.js';
import type { SeriesCursor } from '../index/cursor.js';
import type { SeriesScratch } from '../index/series.js';
import { ulidSource, type UlidSource } from '../ulid.js';
import { mergeSymbols } from '../index/symbols.js';
import { verifyBlock } from '../verify/verify.js';
import { readBackBlock } from '../verify/light.js';
import type { WriteSeam } from '../block/write-seam.js';
import type { BlockWriterOptions } from '../block/writer.js';
import type { DedupMode } from '../samples/dedup.js';
import { checkCompatible, outputMetaParts } from './inputs.js';
import { SeriesMerger } from './series-merge.js';
import type { InputSeries } from './input-series.js';
import { CompactionInputError } from './errors.js';
import { StrataError } from '../../util/errors.js';

export interface CompactOptions {
  dedup?: DedupMode;
  replicaLabels?: readonly string[];
  maxSamplesPerChunk?: number;
  ulid?: string;
  ulids?: UlidSource;
  maxSegmentSize?: number;
  /**
   * The output check before the rename. 'light' (default): the writer asserts the index
   * invariants as it writes, copied chunks' CRCs are checked as written, re-encoded chunks are
   * decoded and compared before they are written, and the finished files are read back in part
   * (src/tsdb/verify/light.ts). 'full': the light checks and then `strata tsdb verify`'s whole
   * check (every chunk decoded). Both also decode every histogram chunk copied byte for byte (a
   * corrupt one fails the compaction as bad input). false: the writer's own checks only
   * (benchmarks).
   */
  verify?: VerifyMode | false;
  /** Test seam into the writer path (fault injection); none in production. */
  seam?: WriteSeam;
  /** Thanos source of the output (default `compactor`). */
  source?: string;
  /** External labels of the output (default: the inputs' labels without the replica labels). */
  externalLabels?: Readonly<Record<string, string>>;
}

export type VerifyMode = 'light' | 'full';

export interface CompactResult {
  /** Undefined when the inputs held no samples (no block is written). */
  ulid: string | undefined;
  dir: string | undefined;
  meta: BlockMeta | undefined;
  durationMs: number;
  inputBlocks: number;
  inputSamples: number;
  outputSamples: number;
  series: number;
  chunks: number;
  bytesRead: number;
  bytesWritten: number;
  copiedChunks: number;
  reencodedChunks: number;
  droppedDuplicateChunks: number;
}

/**
 * Moves a cursor to its next series. The series stays in the cursor's scratch (labels and chunk
 * metas are overwritten by the next advance), so a series is merged and written before its
 * cursor advances: nothing is copied per series. A promise only when the cursor must read.
 */
function advance(
  c: SeriesCursor,
  block: string,
): SeriesScratch | undefined | Promise<SeriesScratch | undefined> {
  try {
    if (c.next()) return c.series;
  } catch (err) {
    throw CompactionInputError.wrap(err, block, undefined);
  }
  return advanceSlow(c, block);
}

async function advanceSlow(c: SeriesCursor, block: string): Promise<SeriesScratch | undefined> {
  try {
    for (;;) {
      if (!(await c.load())) return undefined;
      if (c.next()) return c.series;
    }
  } catch (err) {
    throw CompactionInputError.wrap(err, block, undefined);
  }
}

async function inputBytes(b: BlockReader): Promise<number> {
  let n = (await stat(join(b.dir, INDEX_FILENAME))).size;
  for (const f of await blockFiles(join(b.dir, 'chunks'))) n += f.size;
  return n;
}

export async function compactBlocks(
  inputDirs: readonly string[],
  outDir: string,
  opts: CompactOptions = {},
): Promise<CompactResult> {
  const started = performance.now();
  const dedup = opts.dedup ?? 'exact';
  const replicaLabels = opts.replicaLabels ?? [];
  const blocks = await openInputs(inputDirs);
  try {
    // Oldest block first: later inputs win timestamp ties in exact dedup.
    blocks.sort((a, b) => (a.ulid < b.ulid ? -1 : a.ulid > b.ulid ? 1 : 0));
    // Chunks are stored in series order: each input's first window is read while the output is set up.
    for (const b of blocks) {
      const first = b.chunks.firstRef();
      if (first !== undefined) b.chunks.prefetchFrom(first);
    }
    const metas = blocks.map((b) => b.meta);
    const extLabels = checkCompatible(metas, { dedup, replicaLabels });
    const parts = outputMetaParts(metas);
    const replicaKeys: string[] = [];
    const replicaOf = blocks.map((b) => {
      const key = JSON.stringify(Object.entries(b.meta.thanos?.labels ?? {}).sort());
      if (!replicaKeys.includes(key)) replicaKeys.push(key);
      return replicaKeys.indexOf(key);
    });
    const symbols = mergeSymbols(blocks.map((b) => b.index.symbols()));
    const writer = await BlockWriter.create(outDir, {
      symbols,
      ulid: opts.ulid ?? (opts.ulids ?? ulidSource())(),
      minTime: parts.minTime,
      maxTime: parts.maxTime,
      compaction: { level: parts.level, sources: parts.sources, parents: parts.parents },
      thanos: {
        labels: { ...(opts.externalLabels ?? extLabels) },
        downsample: { resolution: parts.resolution },
        source: opts.source ?? 'compactor',
      },
      maxSegmentSize: opts.maxSegmentSize,
      checkChunkRange: true,
      beforeRename: outputCheck(opts.verify ?? 'light'),
      ...(opts.seam ? { seam: opts.seam } : {}),
    });
    const merger = new SeriesMerger(
      writer,
      dedup,
      opts.maxSamplesPerChunk ?? 120,
      opts.seam,
      opts.verify !== false,
    );
    let series = 0;
    let chunks = 0;
    try {
      const cursors = blocks.map((b) => b.index.seriesCursor());
      const heads: (SeriesScratch | undefined)[] = await Promise.all(
        cursors.map((c, i) => advance(c, blocks[i]!.ulid)),
      );
      // One reusable entry per input; `group` lists those holding the current series.
      const entries: InputSeries[] = blocks.map((block, i) => ({
        input: i,
        replica: replicaOf[i]!,
        block,
        chunks: [],
        deleted: undefined,
      }));
      const group: InputSeries[] = [];
      const members: number[] = [];
      for (;;) {
        let min: Labels | undefined;
        for (let i = 0; i < heads.length; i++) {
          const h = heads[i];
          if (h && (min === undefined || compareLabels(h.labels, min) < 0)) min = h.labels;
        }
        if (min === undefined) break;
        const labels = min;
        group.length = 0;
        members.length = 0;
        for (let i = 0; i < heads.length; i++) {
          const h = heads[i];
          if (!h || (h.labels !== labels && compareLabels(h.labels, labels) !== 0)) continue;
          const e = entries[i]!;
          e.chunks = h.chunks;
          e.deleted = blocks[i]!.tombstones.get(h.id);
          group.push(e);
          members.push(i);
        }
        let out = merger.merge(() => formatLabels(labels), group);
        if (!Array.isArray(out)) out = await out;
        if (out.length > 0) {
          const p = writer.addSeriesRefs(labels, out);
          if (p) await p;
          series++;
          chunks += out.length;
        }
        for (let m = 0; m < members.length; m++) {
          const i = members[m]!;
          const h = advance(cursors[i]!, blocks[i]!.ulid);
          heads[i] = h instanceof Promise ? await h : h;
        }
      }
    } catch (err) {
      await writer.abort();
      throw err;
    }
    const res = await writer.finish();
    let bytesRead = 0;
    for (const b of blocks) bytesRead += await inputBytes(b);
    const bytesWritten = res ? (await blockFiles(res.dir)).reduce((a, f) => a + f.size, 0) : 0;
    return {
      ulid: res?.meta.ulid,
      dir: res?.dir,
      meta: res?.meta,
      durationMs: performance.now() - started,
      inputBlocks: blocks.length,
      inputSamples: metas.reduce((a, m) => a + m.stats.numSamples, 0),
      outputSamples: res?.meta.stats.numSamples ?? 0,
      series,
      chunks,
      bytesRead,
      bytesWritten,
      ...merger.stats,
    };
  } finally {
    await closeBlocks(blocks);
  }
}

/** Opens the inputs (in parallel); a block that cannot be opened is named in a CompactionInputError. */
async function openInputs(dirs: readonly string[]): Promise<BlockReader[]> {
  const opened = await Promise.allSettled(dirs.map((d) => BlockReader.open(d)));
  const out: BlockReader[] = [];
  let failed: unknown;
  for (let i = 0; i < opened.length; i++) {
    const r = opened[i]!;
    if (r.status === 'fulfilled') out.push(r.value);
    else failed ??= CompactionInputError.wrap(r.reason, basename(dirs[i]!), undefined);
  }
  if (failed !== undefined) {
    await closeBlocks(out);
    throw failed;
  }
  return out;
}

function outputCheck(mode: VerifyMode | false): BlockWriterOptions['beforeRename'] {
  if (mode === false) return undefined;
  if (mode !== 'light' && mode !== 'full') {
    throw new StrataError(
      'ERR_INVALID_ARGUMENT',
      `verify must be 'light', 'full' or false, not ${String(mode)}`,
    );
  }
  return async (tmpDir, meta, written) => {
    await readBackBlock(tmpDir, meta, written);
    if (mode === 'full') await verifyOutput(tmpDir);
  };
}

async function verifyOutput(tmpDir: string): Promise<void> {
  const v = await verifyBlock(tmpDir);
  if (!v.ok) {
    const first = v.problems.find((p) => p.severity === 'error');
    throw new StrataError(
      'ERR_TSDB_CORRUPT',
      `compaction output failed verification: ${first?.message ?? 'unknown problem'}`,
    );
  }
}
