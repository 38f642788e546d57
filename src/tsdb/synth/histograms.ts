/**
 * Random histogram series for property tests, the fuzzer and the benchmark (deterministic per
 * seed): counter histograms with growing counts, occasional new buckets, counter resets and
 * schema changes; gauge histograms with moving layouts; special sums.
 */
import {
  HINT_GAUGE,
  HINT_UNKNOWN,
  newFloatHistogram,
  newHistogram,
  type FloatHistogram,
  type Histogram,
  type Span,
} from '../histogram/types.js';
import { seededRandom } from '../ulid.js';

/** Spans for a set of bucket indexes (sorted, distinct), with optional zero-offset splits. */
export function spansFor(idx: readonly number[], split = false): Span[] {
  const out: Span[] = [];
  let last = 0;
  for (let i = 0; i < idx.length; i++) {
    const b = idx[i]!;
    if (out.length > 0 && b === last + 1 && !(split && i % 3 === 0)) out[out.length - 1]!.length++;
    else out.push({ offset: out.length === 0 ? b : b - last - 1, length: 1 });
    last = b;
  }
  return out;
}

export interface GenOptions {
  samples: number;
  gauge?: boolean;
  /** Probability per sample of a counter reset / a new bucket / a schema change. */
  resets?: number;
  grow?: number;
  schemaChange?: number;
  negative?: boolean;
  /** Use odd sums (NaN, ±Inf) now and then. */
  specialSums?: boolean;
  /** Scrape interval (ms) and jitter. */
  step?: number;
  t0?: number;
}

/** Absolute bucket counts per sample: the generator's output before it becomes histograms. */
export interface Series {
  ts: number[];
  /** Absolute counts per bucket index, per sample. */
  pos: Map<number, number>[];
  neg: Map<number, number>[];
  zero: number[];
  sums: number[];
  schemas: number[];
  zts: number[];
}

/** Absolute-count samples; turn them into integer or float histograms with the helpers below. */
export function genSeries(seed: number, o: GenOptions): Series {
  const r = seededRandom(seed);
  const s: Series = { ts: [], pos: [], neg: [], zero: [], sums: [], schemas: [], zts: [] };
  const zts = [0, 2 ** -128, 0.001, 2 ** 10, 2 ** -243];
  let schema = Math.floor(r() * 13) - 4;
  let zt = zts[Math.floor(r() * zts.length)]!;
  let pos = new Map<number, number>();
  let neg = new Map<number, number>();
  const center = Math.floor(r() * 40) - 20;
  for (let k = 0; k < 3 + Math.floor(r() * 8); k++) pos.set(center + k + (r() < 0.2 ? 2 : 0), 0);
  if (o.negative) for (let k = 0; k < 1 + Math.floor(r() * 4); k++) neg.set(center - k * 2, 0);
  let zero = 0;
  let sum = 0;
  let t = o.t0 ?? 1_700_000_000_000 + Math.floor(r() * 1e6);
  const step = o.step ?? 15_000;
  for (let i = 0; i < o.samples; i++) {
    t += step + (r() < 0.2 ? Math.floor(r() * 20) - 10 : 0);
    if (i > 0 && r() < (o.schemaChange ?? 0)) {
      schema = Math.max(-4, Math.min(8, schema + (r() < 0.5 ? -1 : 1)));
      zt = zts[Math.floor(r() * zts.length)]!;
    }
    if (!o.gauge && i > 0 && r() < (o.resets ?? 0)) {
      for (const k of pos.keys()) pos.set(k, 0);
      for (const k of neg.keys()) neg.set(k, 0);
      zero = 0;
      sum = 0;
    }
    if (r() < (o.grow ?? 0)) {
      const keys = [...pos.keys()];
      pos.set(Math.max(...keys) + 1 + Math.floor(r() * 3), 0);
      if (r() < 0.3) pos.set(Math.min(...keys) - 1, 0);
    }
    if (o.gauge && r() < 0.2 && pos.size > 2) pos.delete([...pos.keys()][Math.floor(r() * pos.size)]!);
    const next = (m: Map<number, number>): Map<number, number> => {
      const out = new Map<number, number>();
      for (const [k, v] of m) {
        const inc = r() < 0.3 ? 0 : Math.floor(r() * (r() < 0.1 ? 5000 : 20));
        out.set(k, o.gauge ? Math.max(0, v + inc - Math.floor(r() * 15)) : v + inc);
      }
      return out;
    };
    pos = next(pos);
    neg = next(neg);
    zero = o.gauge ? Math.floor(r() * 10) : zero + Math.floor(r() * 3);
    sum += r() * 100 - (o.gauge ? 50 : 0);
    let sv = sum;
    if (o.specialSums && r() < 0.1) sv = [NaN, Infinity, -Infinity, -0][Math.floor(r() * 4)]!;
    s.ts.push(t);
    s.pos.push(new Map([...pos].sort((a, b) => a[0] - b[0])));
    s.neg.push(new Map([...neg].sort((a, b) => a[0] - b[0])));
    s.zero.push(zero);
    s.sums.push(sv);
    s.schemas.push(schema);
    s.zts.push(zt);
  }
  return s;
}

function total(m: Map<number, number>): number {
  let c = 0;
  for (const v of m.values()) c += v;
  return c;
}

/** `splitSpans`: write every other sample's layout in a different (equivalent) span form. */
export function toHistograms(s: Series, gauge = false, splitSpans = false): Histogram[] {
  return s.ts.map((_, i) => {
    const h = newHistogram();
    h.counterResetHint = gauge ? HINT_GAUGE : HINT_UNKNOWN;
    h.schema = s.schemas[i]!;
    h.zeroThreshold = s.zts[i]!;
    h.zeroCount = s.zero[i]!;
    h.count = total(s.pos[i]!) + total(s.neg[i]!) + s.zero[i]!;
    h.sum = s.sums[i]!;
    const enc = (m: Map<number, number>): [Span[], Float64Array] => {
      const keys = [...m.keys()];
      const d = new Float64Array(keys.length);
      let prev = 0;
      keys.forEach((k, j) => {
        d[j] = m.get(k)! - prev;
        prev = m.get(k)!;
      });
      return [spansFor(keys, splitSpans && i % 2 === 0), d];
    };
    [h.positiveSpans, h.positiveBuckets] = enc(s.pos[i]!);
    [h.negativeSpans, h.negativeBuckets] = enc(s.neg[i]!);
    return h;
  });
}

export function toFloatHistograms(s: Series, gauge = false): FloatHistogram[] {
  return s.ts.map((_, i) => {
    const h = newFloatHistogram();
    h.counterResetHint = gauge ? HINT_GAUGE : HINT_UNKNOWN;
    h.schema = s.schemas[i]!;
    h.zeroThreshold = s.zts[i]!;
    // Non-integer float counts, as rates or scaled histograms have.
    h.zeroCount = s.zero[i]! * 0.5;
    h.count = (total(s.pos[i]!) + total(s.neg[i]!)) * 0.5 + h.zeroCount;
    h.sum = s.sums[i]!;
    const keysP = [...s.pos[i]!.keys()];
    const keysN = [...s.neg[i]!.keys()];
    h.positiveSpans = spansFor(keysP);
    h.negativeSpans = spansFor(keysN);
    h.positiveBuckets = Float64Array.from(keysP, (k) => s.pos[i]!.get(k)! * 0.5);
    h.negativeBuckets = Float64Array.from(keysN, (k) => s.neg[i]!.get(k)! * 0.5);
    return h;
  });
}
