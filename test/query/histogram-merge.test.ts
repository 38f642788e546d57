/**
 * The querier's merge and dedup of series with native histogram chunks (Store API HISTOGRAM and
 * FLOAT_HISTOGRAM): identical replica chunks pass through, different ones are decoded, merged
 * per timestamp (chain: later answer wins; penalty: the same replica choice as for floats) and
 * re-encoded into chunks of the right type, also when a series mixes kinds over time.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeMixedSeries,
  mergeSeriesLists,
  WIRE_FLOAT_HISTOGRAM,
  WIRE_HISTOGRAM,
  WIRE_XOR,
  type QSeries,
  type WireChunk,
} from '../../src/query/merge.js';
import { encodeXorChunks, type EncodedChunk } from '../../src/tsdb/chunkenc/encode.js';
import {
  encodeFloatHistogramChunks,
  encodeHistogramChunks,
  SplitEvery,
} from '../../src/tsdb/chunkenc/histogram.js';
import { bitsToFloat, floatHi, floatLo } from '../../src/tsdb/chunkenc/float-bits.js';
import { sameHistogramValue } from '../../src/tsdb/histogram/equal.js';
import {
  HINT_GAUGE,
  type AnyHistogram,
  type FloatHistogram,
  type Histogram,
} from '../../src/tsdb/histogram/types.js';
import { labelsFromRecord } from '../../src/tsdb/labels.js';
import { KIND_FLOAT, MixedSamples } from '../../src/tsdb/samples/mixed.js';
import { SampleBuf } from '../../src/tsdb/samples/sample-buf.js';
import { genSeries, toFloatHistograms, toHistograms } from '../../src/tsdb/synth/histograms.js';

const STEP = 15_000;

function wire(chunks: readonly EncodedChunk[]): WireChunk[] {
  return chunks.map((c) => ({ minTime: c.mint, maxTime: c.maxt, type: c.encoding - 1, data: c.data }));
}

function floats(ts: readonly number[], vs: readonly number[], every = 120): WireChunk[] {
  const b = new SampleBuf();
  ts.forEach((t, i) => b.push(t, floatHi(vs[i]!), floatLo(vs[i]!)));
  return wire(encodeXorChunks(b, every));
}

function ints(ts: readonly number[], hs: readonly Histogram[], every = 120): WireChunk[] {
  return wire(encodeHistogramChunks(ts, hs, new SplitEvery(every)));
}

function floatHists(ts: readonly number[], hs: readonly FloatHistogram[], every = 120): WireChunk[] {
  return wire(encodeFloatHistogramChunks(ts, hs, new SplitEvery(every)));
}

type Point = { t: number; v: number } | { t: number; h: AnyHistogram };

function decode(chunks: readonly WireChunk[]): Point[] {
  const s = new MixedSamples();
  const out = new SampleBuf();
  decodeMixedSeries(chunks, s, out, 'test');
  const pts: Point[] = [];
  for (let i = 0; i < out.len; i++) {
    const j = out.lo[i]!;
    if (out.hi[i] === KIND_FLOAT) pts.push({ t: out.ts[i]!, v: bitsToFloat(s.vals.hi[j]!, s.vals.lo[j]!) });
    else pts.push({ t: out.ts[i]!, h: s.hists[j]! });
  }
  return pts;
}

/** Points equal as values (histograms by buckets and counts, hints aside). */
function expectSame(got: readonly Point[], want: readonly Point[]): void {
  expect(got.map((p) => p.t)).toEqual(want.map((p) => p.t));
  got.forEach((g, i) => {
    const w = want[i]!;
    if ('v' in w) expect('v' in g && g.v).toBe(w.v);
    else expect('h' in g && g.h.kind === w.h.kind && sameHistogramValue(g.h, w.h), `sample ${i}`).toBe(true);
  });
}

function series(labels: Record<string, string>, chunks: WireChunk[]): QSeries {
  return { labels: labelsFromRecord(labels), chunks };
}

const n = 300;
const t0 = 1_700_000_000_000;
const gen = genSeries(7, { samples: n, step: STEP, t0, grow: 0.03, resets: 0.01, negative: true });
const ts = gen.ts;
const hs = toHistograms(gen);
const fhs = toFloatHistograms(gen);

describe('querier merge of histogram series', () => {
  it('identical replica chunks pass through as received', () => {
    const chunks = ints(ts, hs);
    const out = mergeSeriesLists(
      [[series({ a: '1', replica: 'r1' }, chunks)], [series({ a: '1', replica: 'r2' }, chunks)]],
      { replicaLabels: ['replica'], func: 'penalty' },
    );
    expect(out).toHaveLength(1);
    expect(out[0]!.chunks).toEqual(chunks);
  });

  it('chain merge: one sample per timestamp, the later answer wins, re-encoded as HISTOGRAM chunks', () => {
    const other = toHistograms(genSeries(8, { samples: n, step: STEP, t0, grow: 0.02 }));
    const a = ints(ts.slice(0, 200), hs.slice(0, 200), 50);
    const b = ints(ts.slice(100), other.slice(100), 70);
    const out = mergeSeriesLists([[series({ a: '1' }, a)], [series({ a: '1' }, b)]], { func: 'chain' });
    expect(out).toHaveLength(1);
    const got = out[0]!.chunks;
    expect(got.length).toBeGreaterThan(1);
    expect(new Set(got.map((c) => c.type))).toEqual(new Set([WIRE_HISTOGRAM]));
    const want: Point[] = ts.map((t, i) => ({ t, h: i < 100 ? hs[i]! : other[i]! }));
    expectSame(decode(got), want);
  });

  it('penalty dedup of histogram replicas picks the samples it picks for floats', () => {
    // Replica r2 scrapes 2.5 s later; r1 has a 10-minute outage, r2 a 3-minute one later on.
    const gap1 = (i: number): boolean => i >= 80 && i < 120;
    const gap2 = (i: number): boolean => i >= 200 && i < 212;
    const idx1 = ts.map((_, i) => i).filter((i) => !gap1(i));
    const idx2 = ts.map((_, i) => i).filter((i) => !gap2(i));
    // The sum names replica and sample: the value a float series would carry.
    const mark = (r: number, i: number): number => r * 1e6 + i;
    // No counter resets: histogram chunks are then cut where float chunks are (every 60 / 45), so
    // both kinds see the same overlap clusters.
    const plain = toHistograms(genSeries(11, { samples: n, step: STEP, t0, grow: 0.03 }));
    const hist = (r: number, i: number): Histogram => ({ ...plain[i]!, sum: mark(r, i) });
    const t1 = idx1.map((i) => ts[i]!);
    const t2 = idx2.map((i) => ts[i]! + 2500);
    const opts = { replicaLabels: ['replica'], func: 'penalty' as const };
    const h = mergeSeriesLists(
      [
        [
          series(
            { a: '1', replica: 'r1' },
            ints(
              t1,
              idx1.map((i) => hist(1, i)),
              60,
            ),
          ),
        ],
        [
          series(
            { a: '1', replica: 'r2' },
            ints(
              t2,
              idx2.map((i) => hist(2, i)),
              45,
            ),
          ),
        ],
      ],
      opts,
    );
    const f = mergeSeriesLists(
      [
        [
          series(
            { a: '1', replica: 'r1' },
            floats(
              t1,
              idx1.map((i) => mark(1, i)),
              60,
            ),
          ),
        ],
        [
          series(
            { a: '1', replica: 'r2' },
            floats(
              t2,
              idx2.map((i) => mark(2, i)),
              45,
            ),
          ),
        ],
      ],
      opts,
    );
    const hp = decode(h[0]!.chunks).map((p) => [p.t, 'h' in p ? p.h.sum : NaN]);
    const fp = decode(f[0]!.chunks).map((p) => [p.t, 'v' in p ? p.v : NaN]);
    expect(hp).toEqual(fp);
    // Both replicas contributed, and never interleaved sample by sample.
    const from = new Set(hp.map(([, v]) => Math.floor(v! / 1e6)));
    expect(from).toEqual(new Set([1, 2]));
    expect(h[0]!.labels).toEqual(labelsFromRecord({ a: '1' }));
  });

  it('a series mixing floats, integer and float histograms over time keeps each run in its own chunks', () => {
    const cut = (i: number): number => (i < 100 ? 0 : i < 200 ? 1 : 2);
    const chunksOf = (from: number, to: number, every: number): WireChunk[] => {
      const out: WireChunk[] = [];
      for (let k = 0; k < 3; k++) {
        const idx = ts.map((_, i) => i).filter((i) => i >= from && i < to && cut(i) === k);
        if (idx.length === 0) continue;
        const tt = idx.map((i) => ts[i]!);
        if (k === 0)
          out.push(
            ...floats(
              tt,
              idx.map((i) => i * 0.5),
              every,
            ),
          );
        else if (k === 1)
          out.push(
            ...ints(
              tt,
              idx.map((i) => hs[i]!),
              every,
            ),
          );
        else
          out.push(
            ...floatHists(
              tt,
              idx.map((i) => fhs[i]!),
              every,
            ),
          );
      }
      return out;
    };
    const out = mergeSeriesLists(
      [[series({ a: '1' }, chunksOf(0, 250, 40))], [series({ a: '1' }, chunksOf(50, n, 70))]],
      { func: 'chain' },
    );
    const types = out[0]!.chunks.map((c) => c.type);
    expect(types[0]).toBe(WIRE_XOR);
    expect(types[types.length - 1]).toBe(WIRE_FLOAT_HISTOGRAM);
    expect(types.includes(WIRE_HISTOGRAM)).toBe(true);
    // Kinds never go back: one run each, in time order.
    expect([...types].sort((x, y) => x - y)).toEqual(types);
    const want: Point[] = ts.map((t, i) =>
      cut(i) === 0 ? { t, v: i * 0.5 } : cut(i) === 1 ? { t, h: hs[i]! } : { t, h: fhs[i]! },
    );
    expectSame(decode(out[0]!.chunks), want);
  });

  it('gauge histograms keep their gauge hint through a merge', () => {
    const g = toHistograms(genSeries(9, { samples: n, step: STEP, t0, gauge: true }), true);
    const out = mergeSeriesLists(
      [
        [series({ a: 'g' }, ints(ts.slice(0, 180), g.slice(0, 180), 50))],
        [series({ a: 'g' }, ints(ts.slice(150), g.slice(150), 60))],
      ],
      { func: 'chain' },
    );
    const pts = decode(out[0]!.chunks);
    expect(pts).toHaveLength(n);
    for (const p of pts) expect('h' in p && p.h.counterResetHint).toBe(HINT_GAUGE);
  });

  it('decodeMixedSeries merges overlapping chunks of one answer, later chunks winning ties', () => {
    const other = toHistograms(genSeries(10, { samples: n, step: STEP, t0 }));
    const chunks = [
      ...ints(ts.slice(0, 150), hs.slice(0, 150)),
      ...ints(ts.slice(100, 200), other.slice(100, 200)),
    ];
    const want: Point[] = ts.slice(0, 200).map((t, i) => ({ t, h: i < 100 ? hs[i]! : other[i]! }));
    expectSame(decode(chunks), want);
  });
});
