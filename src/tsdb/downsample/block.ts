/**
 * Downsamples one local block into a new local block, streaming: series are read one at a time
 * through the block's index cursor and chunk reader, and written through BlockWriter as they are
 * done, so memory holds one series' samples and output chunks, never the block.
 *
 * Like Thanos' downsample.Downsample: the output keeps the input's time range, compaction level,
 * sources and parents and external labels; it gets a new ULID, `thanos.downsample.resolution` set
 * and source `compactor`; stats count series, chunks and samples (= windows, the count
 * aggregate's samples). Raw blocks take the raw path (raw.ts); downsampled blocks the aggregate
 * path (aggr.ts), a stray non-empty XOR chunk in them first being turned into 5m aggregates and an
 * empty one skipped, as Thanos does. Tombstones are not applied (Thanos neither uploads nor reads
 * them here).
 *
 * Native histogram chunks (encodings 2 and 3) become count/sum/counter aggregates (hist-raw.ts,
 * hist-aggr.ts). A series switching between float and histogram chunks is cut where it switches
 * (Thanos' cutNewChunk): each run is downsampled on its own, and in a downsampled block runs of
 * float and of histogram aggregated chunks are downsampled separately.
 */
import { LeanBlock } from '../block/reader.js';
import { BlockWriter } from '../block/writer.js';
import type { SegmentReader, StoredChunkView } from '../chunks/reader.js';
import type { ChunkMeta } from '../index/format.js';
import type { EncodedChunk } from '../chunkenc/encode.js';
import {
  ENC_FLOAT_HISTOGRAM,
  ENC_HISTOGRAM,
  ENC_THANOS_AGGR,
  ENC_XOR,
  encodingName,
} from '../chunkenc/encoding.js';
import { decodeXorInto, xorNumSamples } from '../chunkenc/xor-decode.js';
import type { BlockMeta } from '../meta.js';
import { formatLabels } from '../labels.js';
import type { UlidSource } from '../ulid.js';
import { SampleBuf } from '../samples/sample-buf.js';
import { FormatError, InvalidArgumentError, StrataError, errorCode } from '../../util/errors.js';
import { AggrDownsampler, type AggrInput } from './aggr.js';
import { DownsampleInputError } from './errors.js';
import { blockResolution } from '../group-key.js';
import { readBackBlock } from '../verify/light.js';
import { FloatSeries } from './float-series.js';
import { RawDownsampler } from './raw.js';
import { HistSeries } from './hist-aggregator.js';
import { HistRawDownsampler } from './hist-raw.js';
import { AggrParts, isHistogramAggr, splitAggrChunk } from './aggr-chunk.js';

/** Thanos' resolutions (ms). */
export const RES_RAW = 0;
export const RES_5M = 300_000;
export const RES_1H = 3_600_000;
/** Thanos downsamples a raw block to 5m once it spans at least 40h, a 5m block to 1h at 10d. */
export const DOWNSAMPLE_RANGE_5M_MS = 40 * 3_600_000;
export const DOWNSAMPLE_RANGE_1H_MS = 10 * 24 * 3_600_000;

export interface DownsampleOptions {
  /** Target resolution in ms (RES_5M or RES_1H); must be coarser than the input's. */
  resolution: number;
  ulid?: string;
  ulids?: UlidSource;
}

export interface DownsampleResult {
  /** The new block (undefined when the input held no float sample to aggregate). */
  ulid: string | undefined;
  dir: string | undefined;
  meta: BlockMeta | undefined;
  inputSeries: number;
  inputChunks: number;
  /** Raw input samples decoded (raw path) or input windows (aggregate path). */
  inputSamples: number;
  outputSeries: number;
  outputChunks: number;
  /** Windows written (the count aggregate's samples). */
  outputSamples: number;
  durationMs: number;
}

/** Downsamples block `blockDir` to `opts.resolution` into a new block under `outDir`. */
export async function downsampleBlock(
  blockDir: string,
  outDir: string,
  opts: DownsampleOptions,
): Promise<DownsampleResult> {
  const started = performance.now();
  const block = await LeanBlock.open(blockDir);
  try {
    const inRes = blockResolution(block.meta);
    if (opts.resolution !== RES_5M && opts.resolution !== RES_1H) {
      throw new InvalidArgumentError(
        `downsample resolution must be ${RES_5M} or ${RES_1H} ms, not ${opts.resolution}`,
      );
    }
    if (inRes >= opts.resolution) {
      throw new InvalidArgumentError(
        `block ${block.ulid} has resolution ${inRes} ms: target resolution ${opts.resolution} ms is not coarser`,
      );
    }
    const m = block.meta;
    const writer = await BlockWriter.create(outDir, {
      // Same symbols and the same series order: the output index derives from the input's.
      derivedFrom: block.index,
      ...(opts.ulid !== undefined ? { ulid: opts.ulid } : {}),
      ...(opts.ulids !== undefined ? { ulids: opts.ulids } : {}),
      minTime: m.minTime,
      maxTime: m.maxTime,
      compaction: {
        level: m.compaction.level,
        sources: m.compaction.sources,
        ...(m.compaction.parents ? { parents: m.compaction.parents } : {}),
        ...(m.compaction.hints ? { hints: m.compaction.hints } : {}),
      },
      thanos: {
        labels: m.thanos?.labels ?? {},
        downsample: { resolution: opts.resolution },
        source: 'compactor',
      },
      // The light read-back check compaction runs on its output, before the rename.
      beforeRename: readBackBlock,
    });
    const res: DownsampleResult = {
      ulid: undefined,
      dir: undefined,
      meta: undefined,
      inputSeries: 0,
      inputChunks: 0,
      inputSamples: 0,
      outputSeries: 0,
      outputChunks: 0,
      outputSamples: 0,
      durationMs: 0,
    };
    try {
      await walkSeries(block, inRes, opts.resolution, writer, res);
      const done = await writer.finish();
      if (done) {
        res.ulid = done.meta.ulid;
        res.dir = done.dir;
        res.meta = done.meta;
      }
    } catch (err) {
      await writer.abort();
      throw err;
    }
    res.durationMs = performance.now() - started;
    return res;
  } finally {
    await block.close();
  }
}

/** Per-run state reused across series. */
class Work {
  readonly raw = new RawDownsampler();
  readonly histRaw = new HistRawDownsampler();
  readonly hist = new HistSeries();
  readonly parts = new AggrParts();
  readonly aggr = new AggrDownsampler();
  readonly series = new FloatSeries(4096);
  readonly stray = new FloatSeries(256);
  readonly scratch = new SampleBuf(256);
  readonly out: EncodedChunk[] = [];
  readonly converted: EncodedChunk[] = [];
  readonly inputs: AggrInput[] = [];
}

async function walkSeries(
  block: LeanBlock,
  inRes: number,
  outRes: number,
  writer: BlockWriter,
  res: DownsampleResult,
): Promise<void> {
  const w = new Work();
  const cursor = block.index.seriesCursor();
  for (;;) {
    while (cursor.next()) {
      const s = cursor.series;
      res.inputSeries++;
      w.out.length = 0;
      try {
        checkChunkOrder(s.chunks);
        if (inRes === 0) await rawSeries(block.chunks, s.chunks, outRes, w, res);
        else await aggrSeries(block.chunks, s.chunks, inRes, outRes, w, res);
      } catch (err) {
        throw await wrap(err, block, s.labelRefs, s.numLabels);
      }
      if (w.out.length === 0) continue;
      await writer.addDerivedSeries(s.id, s.labelRefs, s.numLabels, w.out);
      res.outputSeries++;
      res.outputChunks += w.out.length;
      for (const c of w.out) res.outputSamples += c.numSamples;
    }
    if (!(await cursor.load())) break;
  }
}

async function wrap(err: unknown, block: LeanBlock, refs: Uint32Array, numLabels: number): Promise<unknown> {
  const code = errorCode(err);
  if (
    err instanceof StrataError &&
    code !== undefined &&
    (code.startsWith('ERR_TSDB_') || code === 'ERR_DOWNSAMPLE_UNSUPPORTED')
  ) {
    const labels = await block.index.resolveLabels(refs, numLabels).catch(() => undefined);
    const series = labels === undefined ? '<labels unreadable>' : formatLabels(labels);
    return DownsampleInputError.wrap(err, block.ulid, series);
  }
  return err;
}

function checkChunkOrder(chunks: readonly ChunkMeta[]): void {
  for (let i = 1; i < chunks.length; i++) {
    const p = chunks[i - 1]!;
    const c = chunks[i]!;
    if (p.maxt >= c.mint) {
      throw new StrataError(
        'ERR_TSDB_OVERLAP',
        `chunk ${i} [${c.mint}, ${c.maxt}] overlaps or precedes chunk ${i - 1} [${p.mint}, ${p.maxt}]: chunks must be ordered by time and must not overlap`,
      );
    }
  }
}

function refuse(c: StoredChunkView, file: string, what: string): never {
  throw new FormatError(
    'ERR_TSDB_UNKNOWN_ENCODING',
    file,
    c.dataOffset - 1,
    `chunk encoding ${encodingName(c.encoding)} cannot be downsampled in ${what}`,
  );
}

function isHist(enc: number): boolean {
  return enc === ENC_HISTOGRAM || enc === ENC_FLOAT_HISTOGRAM;
}

function decodeXor(c: StoredChunkView, file: string, out: SampleBuf): void {
  // `data` is a getter that makes a view: once per chunk.
  const data = c.data;
  const n = xorNumSamples(data, file, c.dataOffset);
  out.reset();
  out.ensure(n);
  out.len = decodeXorInto(data, out.ts, out.hi, out.lo, file, c.dataOffset);
}

async function rawSeries(
  chunks: SegmentReader,
  metas: readonly ChunkMeta[],
  outRes: number,
  w: Work,
  res: DownsampleResult,
): Promise<void> {
  const s = w.series;
  const h = w.hist;
  s.reset();
  h.reset();
  let histRun = false;
  for (const m of metas) {
    // Most chunks are in the reader's buffer already: no promise for those.
    const c: StoredChunkView = chunks.tryReadRaw(m.ref) ?? (await chunks.readRaw(m.ref));
    const file = chunks.fileFor(m.ref);
    const hist = isHist(c.encoding);
    if (!hist && c.encoding !== ENC_XOR) refuse(c, file, 'a raw block');
    res.inputChunks++;
    // Thanos' cutNewChunk: the run so far is downsampled on its own when the kind changes.
    if (hist !== histRun) {
      flushRaw(w, outRes);
      histRun = hist;
    }
    if (hist) {
      res.inputSamples += h.appendChunk(c.encoding, c.data, file, c.dataOffset);
      continue;
    }
    decodeXor(c, file, w.scratch);
    res.inputSamples += w.scratch.len;
    s.appendExpanded(w.scratch);
  }
  flushRaw(w, outRes);
}

function flushRaw(w: Work, outRes: number): void {
  if (w.series.len > 0) w.raw.downsample(w.series, outRes, w.out);
  if (w.hist.len > 0) w.histRaw.downsample(w.hist, outRes, w.out);
  w.series.reset();
  w.hist.reset();
}

async function aggrSeries(
  chunks: SegmentReader,
  metas: readonly ChunkMeta[],
  inRes: number,
  outRes: number,
  w: Work,
  res: DownsampleResult,
): Promise<void> {
  const inputs = w.inputs;
  inputs.length = 0;
  let histRun = false;
  const flush = (): void => {
    if (inputs.length === 0) return;
    w.aggr.downsample(inputs, inRes, outRes, w.out);
    res.inputSamples += w.aggr.inputWindows;
    inputs.length = 0;
  };
  const push = (a: AggrInput): void => {
    splitAggrChunk(a.data, w.parts, a.file, a.dataOffset);
    const hist = isHistogramAggr(w.parts);
    if (hist !== histRun) {
      flush();
      histRun = hist;
    }
    inputs.push(a);
  };
  for (const m of metas) {
    const c: StoredChunkView = chunks.tryReadRaw(m.ref) ?? (await chunks.readRaw(m.ref));
    const file = chunks.fileFor(m.ref);
    res.inputChunks++;
    if (c.encoding === ENC_THANOS_AGGR) {
      // The reader's view is valid until the next read: keep a copy for the batch.
      push({ data: c.data.slice(), mint: m.mint, maxt: m.maxt, file, dataOffset: c.dataOffset });
      continue;
    }
    const hist = isHist(c.encoding);
    if (!hist && c.encoding !== ENC_XOR) refuse(c, file, 'a downsampled block');
    // Thanos: an empty raw chunk in a downsampled block is skipped, a non-empty one becomes 5m
    // aggregates first.
    w.converted.length = 0;
    if (hist) {
      w.hist.reset();
      w.hist.appendChunk(c.encoding, c.data, file, c.dataOffset);
      if (w.hist.len === 0) continue;
      w.histRaw.downsample(w.hist, RES_5M, w.converted);
    } else {
      decodeXor(c, file, w.scratch);
      if (w.scratch.len === 0) continue;
      w.stray.reset();
      w.stray.appendExpanded(w.scratch);
      w.raw.downsample(w.stray, RES_5M, w.converted);
    }
    for (const a of w.converted) {
      push({
        data: a.data,
        mint: a.mint,
        maxt: a.maxt,
        file: `${file} (raw chunk as 5m aggregates)`,
        dataOffset: 0,
      });
    }
  }
  flush();
}
