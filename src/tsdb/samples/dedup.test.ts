import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SampleBuf } from './sample-buf.js';
import { mergeExact, mergePenalty, mergePenaltyPair } from './dedup.js';

function buf(samples: [number, number][]): SampleBuf {
  const b = new SampleBuf(1);
  for (const [t, v] of samples) b.push(t, 0, v);
  return b;
}
function rows(b: SampleBuf): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < b.len; i++) out.push([b.ts[i]!, b.lo[i]!]);
  return out;
}

describe('mergeExact', () => {
  it('one sample per timestamp, later input wins ties', () => {
    const out = new SampleBuf();
    mergeExact(
      [
        buf([
          [1, 10],
          [2, 20],
          [4, 40],
        ]),
        buf([
          [2, 99],
          [3, 30],
        ]),
      ],
      out,
    );
    expect(rows(out)).toEqual([
      [1, 10],
      [2, 99],
      [3, 30],
      [4, 40],
    ]);
  });

  it('equals a brute-force union with last-wins', () => {
    fc.assert(
      fc.property(fc.array(fc.uniqueArray(fc.nat(200)), { maxLength: 5 }), (lists) => {
        const streams = lists.map((ts, i) =>
          buf([...ts].sort((a, b) => a - b).map((t) => [t, i * 1000 + t])),
        );
        const want = new Map<number, number>();
        lists.forEach((ts, i) => ts.forEach((t) => want.set(t, i * 1000 + t)));
        const out = new SampleBuf();
        mergeExact(streams, out);
        expect(rows(out)).toEqual([...want.entries()].sort((a, b) => a[0] - b[0]));
      }),
    );
  });
});

describe('mergePenalty', () => {
  const scrape = (
    start: number,
    end: number,
    step: number,
    v: number,
    gap?: [number, number],
  ): [number, number][] => {
    const out: [number, number][] = [];
    for (let t = start; t < end; t += step) if (!gap || t < gap[0] || t >= gap[1]) out.push([t, v]);
    return out;
  };

  it('stays on one replica, fills a gap from the other, never interleaves', () => {
    const a = buf(scrape(0, 600_000, 15_000, 1, [120_000, 400_000]));
    const b = buf(scrape(3_000, 600_000, 15_000, 2));
    const out = new SampleBuf();
    mergePenaltyPair(a, b, out);
    const r = rows(out);
    // Strictly increasing, with no two samples closer than half a scrape interval (no interleaving).
    for (let i = 1; i < r.length; i++) expect(r[i]![0] - r[i - 1]![0]).toBeGreaterThanOrEqual(7_500);
    // The gap in A is covered by B.
    expect(r.some(([t, v]) => v === 2 && t > 120_000 && t < 400_000)).toBe(true);
    // Switches replicas at most twice (into the gap and back out or staying on B).
    let switches = 0;
    for (let i = 1; i < r.length; i++) if (r[i]![1] !== r[i - 1]![1]) switches++;
    expect(switches).toBeLessThanOrEqual(2);
  });

  it('one replica alone passes through', () => {
    const out = new SampleBuf();
    mergePenalty([buf(scrape(0, 100_000, 10_000, 5))], out);
    expect(out.len).toBe(10);
  });
});
