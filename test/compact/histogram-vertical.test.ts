/**
 * Vertical compaction of native histogram series (integer, float, gauge, and series mixing float
 * and histogram chunks), with exact and penalty dedup and tombstones. Inputs are written with
 * Strata's appenders from the synth generator; the expected output is computed here by timestamp
 * (exact: later input wins ties; penalty: the replica switch of Thanos' dedup) and compared with
 * the decoded output by value; every output passes verifyBlock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockReader } from '../../src/tsdb/block/reader.js';
import { BlockWriter } from '../../src/tsdb/block/writer.js';
import { decodeChunkInto } from '../../src/tsdb/chunkenc/chunk.js';
import { encodeXorChunks, type EncodedChunk } from '../../src/tsdb/chunkenc/encode.js';
import { ENC_FLOAT_HISTOGRAM, ENC_HISTOGRAM, ENC_XOR } from '../../src/tsdb/chunkenc/encoding.js';
import { floatHi, floatLo } from '../../src/tsdb/chunkenc/float-bits.js';
import {
  decodeFloatHistogramChunk,
  decodeHistogramChunk,
  encodeFloatHistogramChunks,
  encodeHistogramChunks,
  HEADER_COUNTER_RESET,
  HEADER_GAUGE,
  HEADER_MASK,
  HEADER_UNKNOWN,
} from '../../src/tsdb/chunkenc/histogram.js';
import { compactBlocks } from '../../src/tsdb/compact/compact.js';
import {
  HINT_COUNTER_RESET,
  newHistogram,
  toFloatHistogram,
  type AnyHistogram,
  type Histogram,
} from '../../src/tsdb/histogram/types.js';
import { formatLabels, labelsFromRecord } from '../../src/tsdb/labels.js';
import { SampleBuf } from '../../src/tsdb/samples/sample-buf.js';
import { histogramSpec, synthHistogramSamples } from '../../src/tsdb/synth/native-histograms.js';
import { writeTombstones } from '../../src/tsdb/tombstones/tombstones.js';
import { verifyBlock } from '../../src/tsdb/verify/verify.js';
import { tempRoot, TWO_HOURS, W0, type TempRoot } from './helpers.js';

const MIN = 60_000;
const STEP = 15_000;

/** One sample as compared: a float's value or a histogram's canonical string. */
interface Val {
  t: number;
  v: string;
}
type Series = { labels: Record<string, string>; chunks: EncodedChunk[] };

/** Histogram value independent of layout: absolute non-empty buckets by index. */
function canon(h: AnyHistogram): string {
  const buckets = (spans: AnyHistogram['positiveSpans'], b: Float64Array): string[] => {
    const out: string[] = [];
    let idx = 0;
    let k = 0;
    let abs = 0;
    spans.forEach((s) => {
      idx += s.offset;
      for (let j = 0; j < s.length; j++, k++, idx++) {
        abs = h.kind === 'histogram' ? abs + b[k]! : b[k]!;
        if (abs !== 0) out.push(`${idx}:${abs}`);
      }
    });
    return out;
  };
  return JSON.stringify([
    h.kind,
    h.schema,
    h.zeroThreshold,
    h.zeroCount,
    h.count,
    h.sum,
    buckets(h.positiveSpans, h.positiveBuckets),
    buckets(h.negativeSpans, h.negativeBuckets),
  ]);
}

function intSamples(
  seed: number,
  index: number,
  from: number,
  to: number,
): { ts: number[]; hs: Histogram[] } {
  return synthHistogramSamples(histogramSpec(seed, index), from, to);
}

function vals(ts: readonly number[], hs: readonly AnyHistogram[]): Val[] {
  return ts.map((t, i) => ({ t, v: canon(hs[i]!) }));
}

function floatChunks(
  ts: readonly number[],
  v: (t: number) => number,
): { chunks: EncodedChunk[]; vals: Val[] } {
  const b = new SampleBuf();
  for (const t of ts) b.push(t, floatHi(v(t)), floatLo(v(t)));
  return { chunks: encodeXorChunks(b, 120), vals: ts.map((t) => ({ t, v: String(v(t)) })) };
}

/** Float samples at `ts` (value: the time in seconds). */
function bufOf(ts: readonly number[]): SampleBuf {
  const b = new SampleBuf();
  for (const t of ts) b.push(t, floatHi(t / 1000), floatLo(t / 1000));
  return b;
}

/** Exact merge: one value per timestamp, later inputs win. */
function mergeExactVals(...inputs: Val[][]): Val[] {
  const m = new Map<number, string>();
  for (const xs of inputs) for (const x of xs) m.set(x.t, x.v);
  return [...m].sort((a, b) => a[0] - b[0]).map(([t, v]) => ({ t, v }));
}

async function writeBlock(
  parent: string,
  series: Series[],
  thanos: Record<string, string> = {},
): Promise<string> {
  const syms = series.flatMap((s) => Object.entries(s.labels).flat());
  const w = await BlockWriter.create(parent, {
    symbols: syms,
    thanos: { labels: thanos, downsample: { resolution: 0 }, source: 'compactor' },
  });
  const sorted = series
    .map((s) => ({ l: labelsFromRecord(s.labels), c: s.chunks }))
    .sort((a, b) => (formatLabels(a.l) < formatLabels(b.l) ? -1 : 1));
  for (const s of sorted) await w.addSeries(s.l, s.c);
  const r = await w.finish();
  return r!.dir;
}

interface OutChunk {
  encoding: number;
  header: number;
  vals: Val[];
}

/** Every series of a block: its chunks decoded. */
async function readOut(dir: string): Promise<Map<string, OutChunk[]>> {
  const b = await BlockReader.open(dir);
  const out = new Map<string, OutChunk[]>();
  try {
    const metas: { labels: string; refs: number[] }[] = [];
    const c = b.index.seriesCursor();
    for (;;) {
      while (c.next())
        metas.push({ labels: formatLabels(c.series.labels), refs: c.series.chunks.map((m) => m.ref) });
      if (!(await c.load())) break;
    }
    for (const s of metas) {
      const list: OutChunk[] = [];
      for (const ref of s.refs) {
        const ch = await b.chunks.read(ref);
        const data = ch.data.slice();
        if (ch.encoding === ENC_XOR) {
          const buf = new SampleBuf();
          decodeChunkInto({ encoding: ENC_XOR, data, dataOffset: 0 }, buf, 'out');
          const vs: Val[] = [];
          const dv = new DataView(new ArrayBuffer(8));
          for (let i = 0; i < buf.len; i++) {
            dv.setUint32(0, buf.hi[i]!);
            dv.setUint32(4, buf.lo[i]!);
            vs.push({ t: buf.ts[i]!, v: String(dv.getFloat64(0)) });
          }
          list.push({ encoding: ENC_XOR, header: 0, vals: vs });
        } else {
          const d =
            ch.encoding === ENC_HISTOGRAM ? decodeHistogramChunk(data) : decodeFloatHistogramChunk(data);
          list.push({ encoding: ch.encoding, header: d.header, vals: vals([...d.ts], d.hs) });
        }
      }
      out.set(s.labels, list);
    }
  } finally {
    await b.close();
  }
  return out;
}

const all = (cs: readonly OutChunk[]): Val[] => cs.flatMap((c) => c.vals);

let root: TempRoot;

beforeAll(async () => {
  root = await tempRoot('strata-compact-hist-');
});

afterAll(async () => {
  await root.cleanup();
});

describe('vertical compaction of histogram series', () => {
  const W = W0;
  // Input 1: [0, 90 min), input 2: [60 min, 2 h) from another seed (other values, other grid
  // offset: samples of both inputs interleave in the overlap).
  const a1 = intSamples(1, 0, W, W + 90 * MIN);
  const a2 = intSamples(2, 0, W + 60 * MIN, W + TWO_HOURS);
  const g1 = intSamples(1, 4, W, W + 90 * MIN);
  const g2 = intSamples(2, 4, W + 60 * MIN, W + TWO_HOURS);
  const gf1 = g1.hs.map(toFloatHistogram);
  const gf2 = g2.hs.map(toFloatHistogram);
  const mixTs1 = Array.from({ length: (70 * MIN) / STEP }, (_, i) => W + i * STEP);
  const mix1 = floatChunks(mixTs1, (t) => (t - W) / 1000);
  const m2 = intSamples(3, 1, W + 60 * MIN, W + TWO_HOURS);

  it('exact: one sample per timestamp, the later block wins; kinds cut chunks; verify passes', async () => {
    const b1 = await writeBlock(root.fresh('in'), [
      { labels: { __name__: 'lat' }, chunks: encodeHistogramChunks(a1.ts, a1.hs) },
      { labels: { __name__: 'gauge' }, chunks: encodeFloatHistogramChunks(g1.ts, gf1) },
      { labels: { __name__: 'mixed' }, chunks: mix1.chunks },
    ]);
    const b2 = await writeBlock(root.fresh('in'), [
      { labels: { __name__: 'lat' }, chunks: encodeHistogramChunks(a2.ts, a2.hs) },
      { labels: { __name__: 'gauge' }, chunks: encodeFloatHistogramChunks(g2.ts, gf2) },
      { labels: { __name__: 'mixed' }, chunks: encodeHistogramChunks(m2.ts, m2.hs) },
    ]);
    const res = await compactBlocks([b1, b2], root.fresh('out'));
    expect(res.reencodedChunks).toBeGreaterThan(0);
    expect((await verifyBlock(res.dir!)).ok).toBe(true);
    const out = await readOut(res.dir!);

    const lat = out.get('{__name__="lat"}')!;
    expect(all(lat)).toEqual(mergeExactVals(vals(a1.ts, a1.hs), vals(a2.ts, a2.hs)));
    expect(lat.every((c) => c.encoding === ENC_HISTOGRAM && c.vals.length <= 120)).toBe(true);
    // A counter reset inside the merged stream starts a chunk whose header says so, unless the
    // chunk before was cut at 120 samples (Prometheus' encoder then leaves the header unknown).
    const merged = all(lat);
    const countOf = (v: Val): number => JSON.parse(v.v)[4] as number;
    let at = 0;
    let resets = 0;
    lat.forEach((c, i) => {
      if (at > 0 && countOf(c.vals[0]!) < countOf(merged[at - 1]!) && lat[i - 1]!.vals.length < 120) {
        expect(c.header & HEADER_MASK).toBe(HEADER_COUNTER_RESET);
        resets++;
      }
      at += c.vals.length;
    });
    expect(resets).toBeGreaterThan(0);

    const gauge = out.get('{__name__="gauge"}')!;
    expect(all(gauge)).toEqual(mergeExactVals(vals(g1.ts, gf1), vals(g2.ts, gf2)));
    expect(
      gauge.every((c) => c.encoding === ENC_FLOAT_HISTOGRAM && (c.header & HEADER_MASK) === HEADER_GAUGE),
    ).toBe(true);

    // Floats until the histograms start (ties at 60..70 min: the later block's histograms win).
    const mixed = out.get('{__name__="mixed"}')!;
    const wantMixed = mergeExactVals(mix1.vals, vals(m2.ts, m2.hs));
    expect(all(mixed)).toEqual(wantMixed);
    // The grids differ, so kinds alternate in the overlap: one chunk run per run of one kind.
    const runs = (xs: readonly boolean[]): number => xs.filter((x, i) => i === 0 || x !== xs[i - 1]).length;
    const kindRuns = runs(wantMixed.map((x) => x.v.startsWith('[')));
    expect(kindRuns).toBeGreaterThan(2);
    expect(runs(mixed.map((c) => c.encoding === ENC_HISTOGRAM))).toBe(kindRuns);
    expect(mixed[0]!.encoding).toBe(ENC_XOR);
    expect(mixed.at(-1)!.encoding).toBe(ENC_HISTOGRAM);
  });

  it('exact: two copies of the same histogram block give that block back (by value)', async () => {
    const series = (): Series[] => [
      { labels: { __name__: 'lat' }, chunks: encodeHistogramChunks(a1.ts, a1.hs) },
    ];
    const b1 = await writeBlock(root.fresh('in'), series());
    const b2 = await writeBlock(root.fresh('in'), series());
    const res = await compactBlocks([b1, b2], root.fresh('out'));
    expect((await verifyBlock(res.dir!)).ok).toBe(true);
    expect(all((await readOut(res.dir!)).get('{__name__="lat"}')!)).toEqual(vals(a1.ts, a1.hs));
  });

  it('penalty: stays on one replica and switches only across a gap', async () => {
    const spec = histogramSpec(5, 0);
    const r1 = synthHistogramSamples(spec, W, W + TWO_HOURS);
    // Replica 2 scrapes the same counter 3 s later (within the initial 5 s penalty).
    const r2 = { ts: r1.ts.map((t) => t + 3000), hs: r1.hs };
    const keep1 = r1.ts.map((t) => t < W + 60 * MIN || t >= W + 90 * MIN);
    const r1ts = r1.ts.filter((_, i) => keep1[i]);
    const r1hs = r1.hs.filter((_, i) => keep1[i]);
    const b1 = await writeBlock(
      root.fresh('in'),
      [{ labels: { __name__: 'lat' }, chunks: encodeHistogramChunks(r1ts, r1hs) }],
      { replica: 'r1' },
    );
    const b2 = await writeBlock(
      root.fresh('in'),
      [{ labels: { __name__: 'lat' }, chunks: encodeHistogramChunks(r2.ts, r2.hs) }],
      { replica: 'r2' },
    );
    const res = await compactBlocks([b1, b2], root.fresh('out'), {
      dedup: 'penalty',
      replicaLabels: ['replica'],
    });
    expect((await verifyBlock(res.dir!)).ok).toBe(true);
    const got = all((await readOut(res.dir!)).get('{__name__="lat"}')!);
    // The same replicas as float series (same timestamps, same chunk ranges) through the float
    // path: the histogram output must pick exactly the same timestamps, each from its replica.
    const f1 = encodeXorChunks(bufOf(r1ts), 120);
    const f2 = encodeXorChunks(bufOf(r2.ts), 120);
    const h1 = encodeHistogramChunks(r1ts, r1hs);
    const h2 = encodeHistogramChunks(r2.ts, r2.hs);
    expect(f1.map((c) => [c.mint, c.maxt])).toEqual(h1.map((c) => [c.mint, c.maxt]));
    expect(f2.map((c) => [c.mint, c.maxt])).toEqual(h2.map((c) => [c.mint, c.maxt]));
    const fb1 = await writeBlock(root.fresh('in'), [{ labels: { __name__: 'lat' }, chunks: f1 }], {
      replica: 'r1',
    });
    const fb2 = await writeBlock(root.fresh('in'), [{ labels: { __name__: 'lat' }, chunks: f2 }], {
      replica: 'r2',
    });
    const fres = await compactBlocks([fb1, fb2], root.fresh('out'), {
      dedup: 'penalty',
      replicaLabels: ['replica'],
    });
    const fts = all((await readOut(fres.dir!)).get('{__name__="lat"}')!).map((x) => x.t);
    const byT = new Map([...vals(r1ts, r1hs), ...vals(r2.ts, r2.hs)].map((x) => [x.t, x.v]));
    // Both replicas contribute (r2 fills r1's gap).
    const r1set = new Set(r1ts);
    expect(fts.some((t) => r1set.has(t)) && fts.some((t) => !r1set.has(t))).toBe(true);
    expect(got).toEqual(fts.map((t) => ({ t, v: byT.get(t)! })));
  });

  it('tombstones: deleted histogram samples are gone, the rest kept', async () => {
    const dir = await writeBlock(root.fresh('in'), [
      { labels: { __name__: 'lat' }, chunks: encodeHistogramChunks(a1.ts, a1.hs) },
      {
        labels: { __name__: 'mixed' },
        chunks: [
          ...mix1.chunks,
          ...encodeHistogramChunks(
            m2.ts.filter((t) => t >= W + 70 * MIN),
            m2.hs.filter((_, i) => m2.ts[i]! >= W + 70 * MIN),
          ),
        ],
      },
    ]);
    const b = await BlockReader.open(dir);
    const ids: number[] = [];
    const c = b.index.seriesCursor();
    for (;;) {
      while (c.next()) ids.push(c.series.id);
      if (!(await c.load())) break;
    }
    await b.close();
    const del = { mint: W + 30 * MIN, maxt: W + 80 * MIN };
    await writeTombstones(dir, new Map(ids.map((id) => [id, [del]])));
    const res = await compactBlocks([dir], root.fresh('out'));
    expect((await verifyBlock(res.dir!)).ok).toBe(true);
    const out = await readOut(res.dir!);
    const keep = (x: Val): boolean => x.t < del.mint || x.t > del.maxt;
    expect(all(out.get('{__name__="lat"}')!)).toEqual(vals(a1.ts, a1.hs).filter(keep));
    const mixedWant = [...mix1.vals, ...vals(m2.ts, m2.hs).filter((x) => x.t >= W + 70 * MIN)].filter(keep);
    expect(all(out.get('{__name__="mixed"}')!)).toEqual(mixedWant);
  });

  it('counter-reset headers as Prometheus re-encodes: unknown across input chunks, reset where counts drop', async () => {
    const h = (count: number, hint: 0 | 1 = 0): Histogram => {
      const x = newHistogram();
      x.count = count;
      x.sum = count;
      x.positiveSpans = [{ offset: 0, length: 1 }];
      x.positiveBuckets = Float64Array.of(count);
      x.counterResetHint = hint;
      return x;
    };
    const t = (i: number): number => W + i * STEP;
    // Block 1: samples 0..9, its chunk marked as starting with a counter reset.
    const ts1 = Array.from({ length: 10 }, (_, i) => t(i));
    const hs1 = ts1.map((_, i) => h(10 + i, i === 0 ? HINT_COUNTER_RESET : 0));
    const c1 = encodeHistogramChunks(ts1, hs1);
    expect(c1[0]!.data[2]! & HEADER_MASK).toBe(HEADER_COUNTER_RESET);
    // Block 2: samples 5..14, the same up to 9, then the counter restarts.
    const ts2 = Array.from({ length: 10 }, (_, i) => t(i + 5));
    const hs2 = ts2.map((_, i) => (i < 5 ? h(15 + i) : h(i - 4)));
    const b1 = await writeBlock(root.fresh('in'), [{ labels: { __name__: 'c' }, chunks: c1 }]);
    const b2 = await writeBlock(root.fresh('in'), [
      { labels: { __name__: 'c' }, chunks: encodeHistogramChunks(ts2, hs2) },
    ]);
    const res = await compactBlocks([b1, b2], root.fresh('out'));
    expect((await verifyBlock(res.dir!)).ok).toBe(true);
    const out = (await readOut(res.dir!)).get('{__name__="c"}')!;
    // The merged stream's first sample follows no sample of its own chunk: its reset hint is
    // dropped (chainSampleIterator), so the first chunk's header is unknown; the drop at 10 cuts a
    // chunk marked as a counter reset.
    expect(out.map((c) => [c.vals.length, c.header & HEADER_MASK])).toEqual([
      [10, HEADER_UNKNOWN],
      [5, HEADER_COUNTER_RESET],
    ]);
    expect(all(out)).toEqual(mergeExactVals(vals(ts1, hs1), vals(ts2, hs2)));
  });
});
