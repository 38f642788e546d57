/**
 * Raw → aggregated downsampling of one float series, as Thanos' DownsampleRaw does it
 * (pkg/compact/downsample/downsample.go):
 *
 * - the series is cut into about (expected windows / 140) batches; a batch is extended to the end
 *   of the window its last sample falls in, so no window straddles two output chunks;
 * - NaN samples (any NaN; stale markers were dropped while expanding the chunks) are dropped from
 *   each batch; an all-NaN batch writes nothing;
 * - a sample at t belongs to the window ending at t − t mod r + r − 1, capped at the batch's last
 *   timestamp; per window: count, sum, min, max and the counter (running total from the batch's
 *   first sample, a decrease counted as a reset: the new value is added);
 * - the counter sub-chunk also keeps the batch's first raw sample (first point) and its last raw
 *   value (a last point repeating the last window's timestamp), so rate() across chunk edges sees
 *   resets between chunks (see counter.ts).
 *
 * The chunk's index range is [first window end, last window end]: the counter's first raw sample
 * sits before mint, as in Thanos. No allocation per sample: one loop over the columns, five
 * reused XOR appenders.
 */
import { ENC_THANOS_AGGR } from '../chunkenc/encoding.js';
import type { EncodedChunk } from '../chunkenc/encode.js';
import { XorAppender } from '../chunkenc/xor-encode.js';
import { floatHi, lastLo } from '../chunkenc/float-bits.js';
import { AGGR_COUNT, AGGR_COUNTER, AGGR_MAX, AGGR_MIN, AGGR_SUM, encodeAggrChunk } from './aggr-chunk.js';
import type { FloatSeries } from './float-series.js';

/** Thanos' output chunk target: fewer than 140 windows per chunk on average. */
export const MAX_WINDOWS_PER_CHUNK = 140;
/** The raw scrape interval Thanos assumes when sizing output chunks. */
export const ASSUMED_RAW_INTERVAL_MS = 60_000;

/** End (inclusive) of the window of size `r` that `t` falls into. */
export function windowEnd(t: number, r: number): number {
  return t - (t % r) + r - 1;
}

/**
 * Number of output chunks for `count` input samples at resolution `inRes` over [mint, maxt],
 * written at `outRes` (Thanos' targetChunkCount, Go integer and float arithmetic reproduced).
 */
export function targetChunkCount(
  mint: number,
  maxt: number,
  inRes: number,
  outRes: number,
  count: number,
): number {
  const maxSamples = Math.trunc((maxt - mint) / outRes);
  let fullness = count / ((maxt - mint) / inRes);
  if (fullness > 1) fullness = 1;
  const expSamples = Math.trunc(maxSamples * fullness) + 1;
  let x = 1;
  while (Math.trunc(expSamples / x) > MAX_WINDOWS_PER_CHUNK) x++;
  return x;
}

/**
 * Thanos' downsampleRawLoop batching, for float and histogram series alike: about `numChunks`
 * batches of the `n` samples at `ts`, each extended to the end of its last window; calls
 * `batch(from, to)` for each and returns the sum of what it returns (windows written).
 */
export function rawBatches(
  ts: ArrayLike<number>,
  n: number,
  r: number,
  numChunks: number | undefined,
  batch: (from: number, to: number) => number,
): number {
  if (n === 0) return 0;
  numChunks ??= targetChunkCount(ts[0]!, ts[n - 1]!, ASSUMED_RAW_INTERVAL_MS, r, n);
  const batchSize = Math.trunc(n / numChunks) + 1;
  let windows = 0;
  let from = 0;
  while (from < n) {
    let j = Math.min(from + batchSize, n);
    const curW = windowEnd(ts[j - 1]!, r);
    while (j < n && ts[j]! <= curW) j++;
    windows += batch(from, j);
    from = j;
  }
  return windows;
}

/** Downsamples raw float series to aggregated chunks; reuse one instance across series. */
export class RawDownsampler {
  private readonly apps: XorAppender[] = [0, 1, 2, 3, 4].map(() => new XorAppender());
  private readonly cols = new WindowColumns();

  /**
   * Appends the aggregated chunks of series `s` (expanded as FloatSeries.appendExpanded does) at
   * resolution `r` to `out`. Returns the number of windows written. `numChunks` overrides the
   * target chunk count (tests; Thanos' downsampleRawLoop takes it as a parameter).
   */
  downsample(s: FloatSeries, r: number, out: EncodedChunk[], numChunks?: number): number {
    return rawBatches(s.ts, s.len, r, numChunks, (from, to) => this.batch(s, from, to, r, out));
  }

  /**
   * One output chunk from samples [from, to), NaNs dropped; returns its window count. The
   * windows go into typed columns first and into the appenders in bulk: an append call per
   * window and aggregate would box its doubles (timestamps pass 2^31) on every call.
   */
  private batch(s: FloatSeries, from: number, to: number, r: number, out: EncodedChunk[]): number {
    const ts = s.ts;
    const vs = s.vs;
    let first = from;
    while (first < to && Number.isNaN(vs[first]!)) first++;
    if (first === to) return 0;
    let last = to - 1;
    while (Number.isNaN(vs[last]!)) last--;
    const lastT = ts[last]!;

    const c = this.cols;
    c.ensure(last - first + 3);
    const wt = c.t;
    const ctrT = c.ctrT;
    const [cntHi, sumHi, minHi, maxHi, ctrHi] = c.hi as [
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
    ];
    const [cntLo, sumLo, minLo, maxLo, ctrLo] = c.lo as [
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
    ];
    // The counter column starts with the first raw sample.
    ctrT[0] = ts[first]!;
    ctrHi[0] = floatHi(vs[first]!);
    ctrLo[0] = lastLo();

    let nextT = -1;
    let count = 0;
    let sum = 0;
    let min = Number.MAX_VALUE;
    let max = -Number.MAX_VALUE;
    let counter = 0;
    let lastV = 0;
    let total = 0;
    let w = 0;
    // i = last + 1 closes the last window.
    for (let i = first; i <= last + 1; i++) {
      const v = i <= last ? vs[i]! : 0;
      if (v !== v) continue;
      const t = i <= last ? ts[i]! : Infinity;
      if (t > nextT) {
        if (nextT !== -1) {
          wt[w] = nextT;
          ctrT[w + 1] = nextT;
          cntHi[w] = floatHi(count);
          cntLo[w] = lastLo();
          sumHi[w] = floatHi(sum);
          sumLo[w] = lastLo();
          minHi[w] = floatHi(min);
          minLo[w] = lastLo();
          maxHi[w] = floatHi(max);
          maxLo[w] = lastLo();
          ctrHi[w + 1] = floatHi(counter);
          ctrLo[w + 1] = lastLo();
          w++;
        }
        if (i > last) break;
        count = 0;
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
      count++;
      total++;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    // The last raw value, at the last window's timestamp.
    ctrT[w + 1] = nextT;
    ctrHi[w + 1] = floatHi(vs[last]!);
    ctrLo[w + 1] = lastLo();

    const apps = this.apps;
    for (const k of [AGGR_COUNT, AGGR_SUM, AGGR_MIN, AGGR_MAX]) {
      const a = apps[k]!;
      a.reset();
      a.appendRange(wt, c.hi[k]!, c.lo[k]!, 0, w);
    }
    const ctrA = apps[AGGR_COUNTER]!;
    ctrA.reset();
    ctrA.appendRange(ctrT, ctrHi, ctrLo, 0, w + 2);
    out.push({
      mint: wt[0]!,
      maxt: nextT,
      encoding: ENC_THANOS_AGGR,
      data: encodeAggrChunk([
        apps[AGGR_COUNT]!.bytes(),
        apps[AGGR_SUM]!.bytes(),
        apps[AGGR_MIN]!.bytes(),
        apps[AGGR_MAX]!.bytes(),
        ctrA.bytes(),
      ]),
      numSamples: w,
    });
    return w;
  }
}

/** Window timestamps and the five aggregates' float bits of one batch, reused across batches. */
class WindowColumns {
  t = new Float64Array(0);
  /** The counter's times: the first raw sample, the windows, the last raw value. */
  ctrT = new Float64Array(0);
  hi: Uint32Array[] = [];
  lo: Uint32Array[] = [];

  ensure(n: number): void {
    if (n <= this.t.length) return;
    const cap = Math.max(n, 2 * this.t.length, 256);
    this.t = new Float64Array(cap);
    this.ctrT = new Float64Array(cap);
    this.hi = [0, 1, 2, 3, 4].map(() => new Uint32Array(cap));
    this.lo = [0, 1, 2, 3, 4].map(() => new Uint32Array(cap));
  }
}
