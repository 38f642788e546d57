/**
 * Deterministic native histogram series for `strata tsdb synth --histograms` (the generator only;
 * the CLI wiring is elsewhere). Like synth/series.ts, every sample is a pure function of (seed,
 * series, scrape index), so any window can be generated on its own and runs agree.
 * - latency: counter histograms, schema 3, ~20 buckets around 30–300 ms plus a zero bucket; the
 *   layout grows by a bucket every `growEvery` scrapes (the open chunk gets recoded) and the
 *   counters reset every `resetEvery` scrapes (new chunk, counter-reset header).
 * - gauge: gauge histograms whose layout moves every 40 scrapes (buckets appear and vanish).
 */
import { hash3 } from './series.js';
import { HINT_GAUGE, HINT_UNKNOWN, newHistogram, type Histogram } from '../histogram/types.js';

export type HistogramKind = 'latency' | 'gauge';

export interface HistogramSeriesSpec {
  readonly seed: number;
  readonly index: number;
  readonly kind: HistogramKind;
  /** Scrape offset within the interval, ms. */
  readonly offset: number;
  /** Scrapes between counter resets (latency). */
  readonly resetEvery: number;
  /** Scrapes between layout growth steps (latency). */
  readonly growEvery: number;
  /** Observations per scrape (latency). */
  readonly rate: number;
}

const SCHEMA = 3;
const BASE_LO = -40;
const BASE_BUCKETS = 18;
const MAX_GROW = 8;

/** Series `index` of the set: every fifth a gauge, the rest latency histograms. */
export function histogramSpec(seed: number, index: number, intervalMs = 15_000): HistogramSeriesSpec {
  const h = hash3(seed, index, 0x4157);
  return {
    seed,
    index,
    kind: index % 5 === 4 ? 'gauge' : 'latency',
    offset: h % intervalMs,
    resetEvery: 300 + (hash3(seed, index, 1) % 900),
    growEvery: 20 + (hash3(seed, index, 2) % 60),
    rate: 1 + (hash3(seed, index, 3) % 200),
  };
}

/** Layout of one sample: `n` adjacent buckets from index `lo`. */
function dense(h: Histogram, lo: number, counts: readonly number[]): void {
  h.positiveSpans = counts.length > 0 ? [{ offset: lo, length: counts.length }] : [];
  const d = new Float64Array(counts.length);
  let prev = 0;
  let total = 0;
  for (let k = 0; k < counts.length; k++) {
    d[k] = counts[k]! - prev;
    prev = counts[k]!;
    total += prev;
  }
  h.positiveBuckets = d;
  h.count = total + h.zeroCount;
}

/** The sample at scrape `i` (i >= 0) of the series. */
export function histogramAt(spec: HistogramSeriesSpec, i: number): Histogram {
  const h = newHistogram();
  h.schema = SCHEMA;
  h.zeroThreshold = 2 ** -128;
  if (spec.kind === 'gauge') {
    h.counterResetHint = HINT_GAUGE;
    const w = Math.floor(i / 40);
    const lo = BASE_LO + 10 + (hash3(spec.seed, spec.index, w) % 6);
    const n = 6 + (hash3(spec.seed, spec.index, w + 7919) % 8);
    const counts: number[] = [];
    for (let k = 0; k < n; k++) counts.push(hash3(spec.seed ^ k, spec.index, i) % 50);
    h.zeroCount = hash3(spec.seed, spec.index ^ 0x55, i) % 5;
    dense(h, lo, counts);
    h.sum = counts.reduce((a, c, k) => a + c * 2 ** ((lo + k) / 2 ** SCHEMA), 0);
    return h;
  }
  h.counterResetHint = HINT_UNKNOWN;
  const since = (i % spec.resetEvery) + 1;
  const grow = Math.min(MAX_GROW, Math.floor((i % spec.resetEvery) / spec.growEvery));
  const n = BASE_BUCKETS + grow;
  const mid = BASE_BUCKETS / 2;
  const counts: number[] = [];
  let sum = 0;
  for (let k = 0; k < n; k++) {
    // A bell around the middle bucket; later (slower) buckets get a thin tail.
    const w = Math.exp(-(((k - mid) / 4) ** 2)) + 0.002 * (k >= BASE_BUCKETS ? 1 : 0);
    const c = Math.floor(since * spec.rate * w * 0.2);
    counts.push(c);
    sum += c * 2 ** ((BASE_LO + k) / 2 ** SCHEMA);
  }
  h.zeroCount = Math.floor(since * 0.1);
  dense(h, BASE_LO, counts);
  h.sum = sum;
  return h;
}

/** Samples of one series with timestamps in [startMs, endMs) on the scrape grid. */
export function synthHistogramSamples(
  spec: HistogramSeriesSpec,
  startMs: number,
  endMs: number,
  intervalMs = 15_000,
): { ts: number[]; hs: Histogram[] } {
  const ts: number[] = [];
  const hs: Histogram[] = [];
  let i = Math.max(0, Math.ceil((startMs - spec.offset) / intervalMs));
  for (let t = i * intervalMs + spec.offset; t < endMs; t += intervalMs, i++) {
    ts.push(t);
    hs.push(histogramAt(spec, i));
  }
  return { ts, hs };
}
