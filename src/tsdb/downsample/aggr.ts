/**
 * Aggregated → coarser aggregated downsampling of one float series (5m → 1h), as Thanos'
 * downsampleAggr does it: the series' aggregated chunks are grouped into about
 * (expected windows / 140) batches along chunk boundaries (so each chunk's first and last raw
 * counter values survive), and per batch:
 *
 * - count: the per-window sum of the counts; sum: the sum of sums; min of mins; max of maxes
 *   (each aggregate's samples of the batch's chunks concatenated, stale markers and samples going
 *   back in time within a chunk dropped, then cut into windows like raw data);
 * - counter: the batch's counter sub-chunks run through CounterResets into one running total,
 *   which is cut into windows; the first point is the first total, the last repeats the last
 *   window's timestamp with the last raw value.
 *
 * An aggregate absent from every chunk of a batch stays absent.
 */
import { ENC_THANOS_AGGR } from '../chunkenc/encoding.js';
import type { EncodedChunk } from '../chunkenc/encode.js';
import { XorAppender } from '../chunkenc/xor-encode.js';
import { SampleBuf } from '../samples/sample-buf.js';
import { FormatError } from '../../util/errors.js';
import {
  AGGR_COUNT,
  AGGR_COUNTER,
  AGGR_SUM,
  AggrParts,
  aggrNumSamples,
  decodeAggrInto,
  encodeAggrChunk,
  isHistogramAggr,
  splitAggrChunk,
  type AggrType,
} from './aggr-chunk.js';
import { HistAggrBatcher } from './hist-aggr.js';
import { HIST_AGGR_ENCODINGS } from './hist-raw.js';
import { CounterResets } from './counter.js';
import { FloatSeries } from './float-series.js';
import { targetChunkCount } from './raw.js';

/** One aggregated input chunk: its data (kept by the caller) and index time range. */
export interface AggrInput {
  data: Uint8Array;
  mint: number;
  maxt: number;
  /** For errors: the segment file and the file offset of data[0]. */
  file: string;
  dataOffset: number;
}

/** What a window reports for each aggregate: count and sum add up, min, max, counter. */
const FN_SUM = 0;
const FN_MIN = 1;
const FN_MAX = 2;
const FN_COUNTER = 3;
const FN_OF: readonly number[] = [FN_SUM, FN_SUM, FN_MIN, FN_MAX, FN_COUNTER];

/**
 * Cuts (ts, vs) into windows of size r (capped at the last timestamp) and appends one point per
 * window to `app` (Thanos' downsampleBatch with a fresh float aggregator). Returns the last
 * window's end; updates range[0..1] (mint, maxt) with the window ends.
 */
export function appendWindows(
  ts: Float64Array,
  vs: Float64Array,
  n: number,
  r: number,
  fn: number,
  app: XorAppender,
  range: Float64Array,
): number {
  const lastT = ts[n - 1]!;
  let nextT = -1;
  let sum = 0;
  let min = Number.MAX_VALUE;
  let max = -Number.MAX_VALUE;
  let counter = 0;
  let lastV = 0;
  let total = 0;
  const emit = (): void => {
    app.append(nextT, fn === FN_SUM ? sum : fn === FN_MIN ? min : fn === FN_MAX ? max : counter);
    if (nextT < range[0]!) range[0] = nextT;
    if (nextT > range[1]!) range[1] = nextT;
  };
  for (let i = 0; i < n; i++) {
    const t = ts[i]!;
    const v = vs[i]!;
    if (t > nextT) {
      if (nextT !== -1) emit();
      sum = 0;
      min = Number.MAX_VALUE;
      max = -Number.MAX_VALUE;
      nextT = t - (t % r) + r - 1;
      if (nextT > lastT) nextT = lastT;
    }
    if (total > 0) counter += v < lastV ? v : v - lastV;
    else counter = v;
    lastV = v;
    sum += v;
    total++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (total > 0) emit();
  return nextT;
}

/** Downsamples aggregated float series; reuse one instance across series. */
export class AggrDownsampler {
  private readonly apps: XorAppender[] = [0, 1, 2, 3, 4].map(() => new XorAppender());
  private readonly parts: AggrParts[] = [];
  private readonly scratch = new SampleBuf(256);
  private readonly buf = new FloatSeries(1024);
  private readonly counter = new CounterResets();
  private readonly range = new Float64Array(2);
  private readonly hist = new HistAggrBatcher();
  /** Input windows (count sub-chunk samples) of the last downsample() call. */
  inputWindows = 0;

  /**
   * Appends the chunks of series `chunks` (aggregated at `inRes`, in time order) downsampled to
   * `outRes` to `out`. Returns the number of windows written (the count sub-chunks' samples).
   * `numChunks` overrides the target chunk count (tests, like Thanos' downsampleAggrLoop).
   * The chunks are all of float series or all of a histogram series (the caller cuts the series'
   * chunks where the kind changes, as Thanos does).
   */
  downsample(
    chunks: readonly AggrInput[],
    inRes: number,
    outRes: number,
    out: EncodedChunk[],
    numChunks?: number,
  ): number {
    this.inputWindows = 0;
    if (chunks.length === 0) return 0;
    while (this.parts.length < chunks.length) this.parts.push(new AggrParts());
    let numSamples = 0;
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i]!;
      splitAggrChunk(c.data, this.parts[i]!, c.file, c.dataOffset);
      numSamples += aggrNumSamples(c.data, this.parts[i]!, AGGR_COUNT, c.file, c.dataOffset);
    }
    this.inputWindows = numSamples;
    const mint = chunks[0]!.mint;
    const maxt = chunks[chunks.length - 1]!.maxt;
    numChunks ??= targetChunkCount(mint, maxt, inRes, outRes, numSamples);
    // Thanos divides without a floor of 1 (and then fails on an empty batch); one chunk per
    // batch at least is the only sensible reading.
    const batchSize = Math.max(1, Math.trunc(chunks.length / numChunks));
    let windows = 0;
    for (let from = 0; from < chunks.length; from += batchSize) {
      windows += this.batch(chunks, from, Math.min(chunks.length, from + batchSize), outRes, out);
    }
    return windows;
  }

  private batch(
    chunks: readonly AggrInput[],
    from: number,
    to: number,
    r: number,
    out: EncodedChunk[],
  ): number {
    const range = this.range;
    range[0] = Infinity;
    range[1] = -Infinity;
    const subs: (Uint8Array | undefined)[] = [undefined, undefined, undefined, undefined, undefined];
    let windows = 0;
    const buf = this.buf;
    const hist = isHistogramAggr(this.parts[from]!);
    for (let a = 0; a < AGGR_COUNTER; a++) {
      // A histogram series' count aggregate is a float one; sum and counter are histograms.
      if (hist && a !== AGGR_COUNT) continue;
      buf.reset();
      for (let i = from; i < to; i++) {
        const c = chunks[i]!;
        if (!decodeAggrInto(c.data, this.parts[i]!, a as AggrType, this.scratch, c.file, c.dataOffset))
          continue;
        buf.appendExpanded(this.scratch);
      }
      if (buf.len === 0) continue;
      const app = this.apps[a]!;
      app.reset();
      appendWindows(buf.ts, buf.vs, buf.len, r, FN_OF[a]!, app, range);
      if (a === AGGR_COUNT) windows = app.numSamples;
      subs[a] = app.bytes();
    }

    if (hist) {
      const h = this.hist.aggregate(chunks, this.parts, from, to, r, range);
      subs[AGGR_SUM] = h.sum;
      subs[AGGR_COUNTER] = h.counter;
      return this.emit(chunks, from, to, subs, windows, out, HIST_AGGR_ENCODINGS);
    }

    // Counter: resets applied across the batch's chunks, then windows over the running total.
    const cr = this.counter;
    cr.reset();
    buf.reset();
    let lastT = 0;
    for (let i = from; i < to; i++) {
      const c = chunks[i]!;
      if (!decodeAggrInto(c.data, this.parts[i]!, AGGR_COUNTER, this.scratch, c.file, c.dataOffset)) continue;
      const s = this.scratch;
      const sts = s.ts;
      for (let k = 0; k < s.len; k++) {
        if (!cr.push(sts[k]!, bitsValue(s, k))) continue;
        // Thanos expands the iterator dropping samples older than the last kept one (from 0).
        if (cr.t < lastT) continue;
        lastT = cr.t;
        buf.push(cr.t, cr.total);
      }
    }
    if (buf.len > 0) {
      const app = this.apps[AGGR_COUNTER]!;
      app.reset();
      app.append(buf.ts[0]!, buf.vs[0]!);
      const last = appendWindows(buf.ts, buf.vs, buf.len, r, FN_COUNTER, app, range);
      app.append(last, cr.lastV);
      subs[AGGR_COUNTER] = app.bytes();
    }
    return this.emit(chunks, from, to, subs, windows, out);
  }

  private emit(
    chunks: readonly AggrInput[],
    from: number,
    to: number,
    subs: (Uint8Array | undefined)[],
    windows: number,
    out: EncodedChunk[],
    encs?: readonly number[],
  ): number {
    const range = this.range;
    if (range[0] === Infinity) {
      const c = chunks[from]!;
      throw new FormatError(
        'ERR_TSDB_CORRUPT',
        c.file,
        c.dataOffset,
        `aggregated chunks [${c.mint}, ${chunks[to - 1]!.maxt}] hold no aggregate samples`,
      );
    }
    out.push({
      mint: range[0]!,
      maxt: range[1]!,
      encoding: ENC_THANOS_AGGR,
      data: encodeAggrChunk(subs, encs),
      numSamples: windows,
    });
    return windows;
  }
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const HI = new Uint32Array(new Float64Array([1]).buffer)[1] === 0x3ff00000 ? 1 : 0;

function bitsValue(s: SampleBuf, k: number): number {
  u32[HI] = s.hi[k]!;
  u32[1 - HI] = s.lo[k]!;
  return f64[0]!;
}
