/**
 * downsampleBlock on a block of native histogram series next to float ones: a counter histogram
 * series (integer chunks, resets, schema changes), a gauge one (float histogram chunks), a float
 * series and a series whose chunks alternate float → histogram → float (cut there, as Thanos'
 * cutNewChunk does). Raw → 5m → 1h: both outputs pass verifyBlock; aggregated chunks of histogram
 * series hold count (XOR) and float-histogram sum and counter, no min/max; float series keep all
 * five XOR aggregates; counts add up to the raw sample counts at both resolutions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { BlockReader } from '../../../src/tsdb/block/reader.js';
import { BlockWriter } from '../../../src/tsdb/block/writer.js';
import { encodeXorChunks, type EncodedChunk } from '../../../src/tsdb/chunkenc/encode.js';
import { ENC_FLOAT_HISTOGRAM, ENC_XOR } from '../../../src/tsdb/chunkenc/encoding.js';
import { bitsToFloat } from '../../../src/tsdb/chunkenc/float-bits.js';
import {
  SplitEvery,
  encodeFloatHistogramChunks,
  encodeHistogramChunks,
} from '../../../src/tsdb/chunkenc/histogram.js';
import {
  AGGR_COUNT,
  AGGR_COUNTER,
  AGGR_MAX,
  AGGR_SUM,
  AggrParts,
  RES_1H,
  RES_5M,
  decodeAggrHistograms,
  decodeAggrInto,
  downsampleBlock,
  splitAggrChunk,
} from '../../../src/tsdb/downsample/index.js';
import { formatLabels, labelsFromRecord } from '../../../src/tsdb/labels.js';
import { SampleBuf } from '../../../src/tsdb/samples/sample-buf.js';
import { genSeries, toFloatHistograms, toHistograms } from '../../../src/tsdb/synth/histograms.js';
import { verifyBlock } from '../../../src/tsdb/verify/verify.js';
import { strataDump, tempDir } from '../helpers.js';

const T0 = Date.UTC(2026, 0, 1);
const STEP = 15_000;
const SPAN = 12 * 3_600_000;
const N = SPAN / STEP - 1;

function floats(from: number, to: number): EncodedChunk[] {
  const b = new SampleBuf(to - from);
  for (let i = from; i < to; i++) {
    const f = new Float64Array([i * 1.5]);
    const u = new Uint32Array(f.buffer);
    b.push(T0 + i * STEP, u[1]!, u[0]!);
  }
  return encodeXorChunks(b, 120);
}

/** Raw sample count per series, by label text. */
const rawCounts = new Map<string, number>();
let gaugeTs: number[] = [];

async function makeBlock(dir: string): Promise<string> {
  const w = await BlockWriter.create(dir, {
    symbols: ['__name__', 'h_counter', 'h_gauge', 'f_plain', 'mixed'],
    minTime: T0,
    maxTime: T0 + SPAN,
  });
  const add = async (name: string, chunks: EncodedChunk[]): Promise<void> => {
    const labels = labelsFromRecord({ __name__: name });
    rawCounts.set(
      formatLabels(labels),
      chunks.reduce((a, c) => a + c.numSamples, 0),
    );
    await w.addSeries(labels, chunks);
  };
  await add('f_plain', floats(0, N));
  // Series in label order.
  const c = genSeries(32, {
    samples: N,
    step: STEP,
    t0: T0,
    resets: 0.002,
    grow: 0.02,
    schemaChange: 0.002,
    negative: true,
  });
  await add('h_counter', encodeHistogramChunks(c.ts, toHistograms(c), new SplitEvery(120)));
  const g = genSeries(31, { samples: N, step: STEP, t0: T0, gauge: true, negative: true });
  gaugeTs = g.ts;
  await add('h_gauge', encodeFloatHistogramChunks(g.ts, toFloatHistograms(g, true), new SplitEvery(120)));
  // Float for 3h, histograms for 3h, floats again.
  const third = (3 * 3_600_000) / STEP;
  const m = genSeries(33, { samples: N, step: STEP, t0: T0, grow: 0.02 });
  const mh = toHistograms(m);
  const lo = third;
  const hi = 2 * third;
  await add('mixed', [
    ...floats(0, lo),
    ...encodeHistogramChunks(m.ts.slice(lo, hi), mh.slice(lo, hi), new SplitEvery(120)),
    ...floats(hi, N),
  ]);
  return (await w.finish())!.dir;
}

interface Kinds {
  /** 'f' or 'h' per chunk. */
  kinds: string[];
  windows: number;
  counts: number;
}

async function readAggr(dir: string): Promise<Map<string, Kinds>> {
  const b = await BlockReader.open(dir);
  const out = new Map<string, Kinds>();
  const parts = new AggrParts();
  const buf = new SampleBuf();
  try {
    for await (const s of b.index.seriesIterator()) {
      const k: Kinds = { kinds: [], windows: 0, counts: 0 };
      for (const m of s.chunks) {
        const c = await b.chunks.read(m.ref);
        splitAggrChunk(c.data, parts, dir, c.dataOffset);
        expect(decodeAggrInto(c.data, parts, AGGR_COUNT, buf, dir, c.dataOffset)).toBe(true);
        k.windows += buf.len;
        for (let i = 0; i < buf.len; i++) k.counts += bitsToFloat(buf.hi[i]!, buf.lo[i]!);
        expect(buf.ts[0]).toBe(m.mint);
        expect(buf.ts[buf.len - 1]).toBe(m.maxt);
        if (parts.enc[AGGR_COUNTER] === ENC_FLOAT_HISTOGRAM) {
          k.kinds.push('h');
          expect(parts.enc[AGGR_SUM]).toBe(ENC_FLOAT_HISTOGRAM);
          expect(parts.has(AGGR_MAX)).toBe(false);
          const sum = decodeAggrHistograms(c.data, parts, AGGR_SUM, dir, c.dataOffset)!;
          const ctr = decodeAggrHistograms(c.data, parts, AGGR_COUNTER, dir, c.dataOffset)!;
          expect(sum.hs.length).toBe(buf.len);
          expect(ctr.hs.length).toBe(buf.len);
        } else {
          k.kinds.push('f');
          expect(parts.enc[AGGR_MAX]).toBe(ENC_XOR);
        }
      }
      out.set(formatLabels(s.labels), k);
    }
  } finally {
    await b.close();
  }
  return out;
}

const collapse = (k: string[]): string => k.join('').replace(/(.)\1+/g, '$1');

describe('downsampleBlock with native histogram series', () => {
  let dir: string;
  let raw: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('hist-ds-'));
    raw = await makeBlock(join(dir, 'raw'));
  });
  afterAll(async () => cleanup());

  it('raw → 5m → 1h keeps count, sum and counter of histogram series and cuts mixed series', async () => {
    const r5 = await downsampleBlock(raw, join(dir, '5m'), { resolution: RES_5M });
    expect(r5.outputSeries).toBe(4);
    expect((await verifyBlock(r5.dir!)).problems.filter((p) => p.severity === 'error')).toEqual([]);
    const a5 = await readAggr(r5.dir!);
    for (const [name, want] of rawCounts) expect(a5.get(name)!.counts, name).toBe(want);
    expect(collapse(a5.get('{__name__="h_counter"}')!.kinds)).toBe('h');
    expect(collapse(a5.get('{__name__="h_gauge"}')!.kinds)).toBe('h');
    expect(collapse(a5.get('{__name__="f_plain"}')!.kinds)).toBe('f');
    expect(collapse(a5.get('{__name__="mixed"}')!.kinds)).toBe('fhf');
    // 12h at 5m: one window per 5m per series.
    expect(a5.get('{__name__="h_counter"}')!.windows).toBe(SPAN / RES_5M);

    // Dump: count as a float, sum and counter in the raw dump's histogram text form.
    const lines = await strataDump(r5.dir!, { match: '{__name__="h_gauge"}' });
    const W = SPAN / RES_5M;
    const first = T0 + RES_5M - 1;
    expect(lines.filter((l) => l.includes(' count ')).length).toBe(W);
    const inFirst = gaugeTs.filter((t) => t <= first).length;
    expect(inFirst).toBeGreaterThan(10);
    expect(lines[0]).toBe(`{__name__="h_gauge"} count ${inFirst} ${first}`);
    const sums = lines.filter((l) => l.includes(' sum '));
    const ctrs = lines.filter((l) => l.includes(' counter '));
    expect(sums.length).toBe(W);
    expect(ctrs.length).toBe(W);
    expect(sums[0]).toMatch(
      new RegExp(`^\\{__name__="h_gauge"\\} sum \\{count:[^,]+, sum:[^,]+, .*\\} ${first}$`),
    );
    expect(lines.some((l) => / (min|max) /.test(l))).toBe(false);
    const onlySum = await strataDump(r5.dir!, { match: '{__name__="h_counter"}', aggregate: 'sum' });
    expect(onlySum.length).toBe(W);
    expect(onlySum[0]).toMatch(/^\{__name__="h_counter"\} \{count:/);

    const r1 = await downsampleBlock(r5.dir!, join(dir, '1h'), { resolution: RES_1H });
    expect(r1.inputSamples).toBe(r5.outputSamples);
    expect((await verifyBlock(r1.dir!)).problems.filter((p) => p.severity === 'error')).toEqual([]);
    const a1 = await readAggr(r1.dir!);
    for (const [name, want] of rawCounts) expect(a1.get(name)!.counts, name).toBe(want);
    expect(collapse(a1.get('{__name__="mixed"}')!.kinds)).toBe('fhf');
    expect(a1.get('{__name__="h_gauge"}')!.windows).toBe(SPAN / RES_1H);
  });
});
