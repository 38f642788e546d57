/**
 * Property tests over random series (integer values, so sums are exact in float64):
 * - round trip: the chunks written decode (splitAggrChunk + XOR) to the aggregates computed;
 * - count/sum/min/max per window equal a direct computation over the raw samples, at 5m and
 *   after a second pass to 1h;
 * - the counter aggregate, read through CounterResets across chunks, equals the raw series'
 *   reset-corrected total at every point it emits, so increase() over any window-aligned range is
 *   the raw data's.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { EncodedChunk } from '../../../src/tsdb/chunkenc/encode.js';
import {
  AggrDownsampler,
  CounterResets,
  FloatSeries,
  RawDownsampler,
} from '../../../src/tsdb/downsample/index.js';
import { asInputs, counterSamples, readBack } from './harness.js';
import type { S } from './thanos-data.js';

const R5 = 300_000;
const R1 = 3_600_000;

interface Raw {
  ts: number[];
  vs: number[];
}

const rawArb = fc
  .record({
    start: fc.integer({ min: 0, max: 1_000_000_000 }),
    steps: fc.array(
      fc.record({
        gap: fc.integer({ min: 1, max: 200_000 }),
        inc: fc.integer({ min: 0, max: 1000 }),
        reset: fc.integer({ min: 0, max: 40 }),
        nan: fc.integer({ min: 0, max: 30 }),
      }),
      { minLength: 1, maxLength: 1500 },
    ),
    numChunks: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
  })
  .map(({ start, steps, numChunks }) => {
    const raw: Raw = { ts: [], vs: [] };
    let t = start;
    let v = 0;
    for (const s of steps) {
      t += s.gap;
      v = s.reset === 0 ? s.inc : v + s.inc;
      raw.ts.push(t);
      raw.vs.push(s.nan === 0 ? NaN : v);
    }
    return { raw, numChunks };
  });

function toSeries(raw: Raw): FloatSeries {
  const s = new FloatSeries(4);
  for (let i = 0; i < raw.ts.length; i++) s.push(raw.ts[i]!, raw.vs[i]!);
  return s;
}

/** Per window (keyed by window index) count, sum, min, max of the non-NaN samples. */
function direct(raw: Raw, r: number): Map<number, number[]> {
  const m = new Map<number, number[]>();
  for (let i = 0; i < raw.ts.length; i++) {
    const v = raw.vs[i]!;
    if (Number.isNaN(v)) continue;
    const k = Math.floor(raw.ts[i]! / r);
    const e = m.get(k) ?? [0, 0, Number.MAX_VALUE, -Number.MAX_VALUE];
    e[0]! += 1;
    e[1]! += v;
    e[2] = Math.min(e[2]!, v);
    e[3] = Math.max(e[3]!, v);
    m.set(k, e);
  }
  return m;
}

/** The same, from the output chunks (points of one window split over two chunks combined). */
function fromChunks(chunks: readonly EncodedChunk[], r: number): Map<number, number[]> {
  const m = new Map<number, number[]>();
  for (const c of chunks) {
    const a = readBack(c);
    const n = a.count!.length;
    expect(a.sum).toHaveLength(n);
    expect(c.numSamples).toBe(n);
    for (let i = 0; i < n; i++) {
      const t = a.count![i]![0];
      expect(a.sum![i]![0]).toBe(t);
      expect(a.min![i]![0]).toBe(t);
      expect(a.max![i]![0]).toBe(t);
      const k = Math.floor(t / r);
      const e = m.get(k) ?? [0, 0, Number.MAX_VALUE, -Number.MAX_VALUE];
      e[0]! += a.count![i]![1] as number;
      e[1]! += a.sum![i]![1] as number;
      e[2] = Math.min(e[2]!, a.min![i]![1] as number);
      e[3] = Math.max(e[3]!, a.max![i]![1] as number);
      m.set(k, e);
    }
    expect(c.mint).toBe(a.count![0]![0]);
    expect(c.maxt).toBe(a.count![n - 1]![0]);
  }
  return m;
}

/** Raw reset-corrected total at or before each timestamp (CounterResets over the raw series). */
function rawTotals(raw: Raw): S[] {
  const cr = new CounterResets();
  const out: S[] = [];
  for (let i = 0; i < raw.ts.length; i++) if (cr.push(raw.ts[i]!, raw.vs[i]!)) out.push([cr.t, cr.total]);
  return out;
}

function totalAt(totals: readonly S[], t: number): number {
  let lo = 0;
  let hi = totals.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (totals[mid]![0] <= t) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (best < 0) throw new Error(`no raw sample at or before ${t}`);
  return totals[best]![1] as number;
}

function checkCounter(raw: Raw, chunks: readonly EncodedChunk[]): void {
  const totals = rawTotals(raw);
  const cr = new CounterResets();
  const points: S[] = [];
  for (const [t, v] of counterSamples(chunks)) if (cr.push(t, v as number)) points.push([cr.t, cr.total]);
  for (const [t, total] of points) expect(total).toBe(totalAt(totals, t));
  // increase() between any two emitted points equals the raw increase.
  for (let i = 1; i < points.length; i++) {
    const [t0, a] = points[i - 1]!;
    const [t1, b] = points[i]!;
    expect((b as number) - (a as number)).toBe(totalAt(totals, t1) - totalAt(totals, t0));
  }
  // The last raw value survives.
  const lastRaw = raw.vs.filter((v) => !Number.isNaN(v)).at(-1);
  expect(cr.lastV).toBe(lastRaw);
}

describe('downsampling properties', () => {
  it('raw → 5m: round trip, per-window aggregates and counter totals', () => {
    fc.assert(
      fc.property(rawArb, ({ raw, numChunks }) => {
        const out: EncodedChunk[] = [];
        new RawDownsampler().downsample(toSeries(raw), R5, out, numChunks);
        const want = direct(raw, R5);
        if (want.size === 0) {
          expect(out).toEqual([]);
          return;
        }
        expect(fromChunks(out, R5)).toEqual(want);
        checkCounter(raw, out);
      }),
      { numRuns: 150 },
    );
  });

  it('raw → 5m → 1h: per-hour aggregates and counter totals', () => {
    fc.assert(
      fc.property(rawArb, ({ raw, numChunks }) => {
        const out5: EncodedChunk[] = [];
        new RawDownsampler().downsample(toSeries(raw), R5, out5, numChunks);
        if (out5.length === 0) return;
        const out1: EncodedChunk[] = [];
        new AggrDownsampler().downsample(asInputs(out5), R5, R1, out1);
        expect(fromChunks(out1, R1)).toEqual(direct(raw, R1));
        checkCounter(raw, out1);
      }),
      { numRuns: 100 },
    );
  });
});
