/**
 * Native histogram chunk codec throughput, in `npm run bench` (bench/tsdb.ts) beside the XOR
 * figures: latency-style series (schema 3, ~20–40 positive buckets moving every scrape, layout
 * growth and counter resets now and then; a tenth gauges), 240 samples each, cut at 120 samples
 * like compaction. Decode = iterate every sample of every chunk (at() touched, nothing copied);
 * encode = the series encoder with Prometheus' appender rules (recodes included).
 * Standalone: node dist/bench/histogram-codec.js [series]
 */
import { genSeries, toFloatHistograms, toHistograms } from '../src/tsdb/synth/histograms.js';
import {
  FloatHistogramChunkIterator,
  HistogramChunkIterator,
  encodeFloatHistogramChunks,
  encodeHistogramChunks,
} from '../src/tsdb/chunkenc/histogram.js';
import type { FloatHistogram, Histogram } from '../src/tsdb/histogram/types.js';

export interface HistogramCodecFigures {
  samples: number;
  chunks: number;
  bytesPerSample: number;
  buckets: number;
  intDecode: number;
  intEncode: number;
  floatDecode: number;
  floatEncode: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timed(warmup: number, runs: number, body: () => void): number {
  const times: number[] = [];
  for (let r = 0; r < warmup + runs; r++) {
    const t0 = performance.now();
    body();
    if (r >= warmup) times.push(Math.max(0.001, performance.now() - t0));
  }
  return median(times);
}

/** Samples/s of histogram decode and encode, both encodings. */
export function benchHistogramCodecs(series = 1000, perSeries = 240, runs = 9): HistogramCodecFigures {
  const ints: { ts: number[]; hs: Histogram[] }[] = [];
  const floats: { ts: number[]; hs: FloatHistogram[] }[] = [];
  let buckets = 0;
  for (let s = 0; s < series; s++) {
    const gauge = s % 10 === 9;
    const g = genSeries(s + 1, {
      samples: perSeries,
      gauge,
      grow: 0.01,
      resets: 0.002,
      negative: s % 20 === 0,
      t0: 1_700_000_000_000,
    });
    // Realistic latency layouts: fix the schema at 3 and widen to ~20–40 buckets.
    g.schemas.fill(3);
    for (const m of g.pos) {
      const keys = [...m.keys()];
      const top = Math.max(...keys);
      for (let k = 1; k <= 20 + (s % 20) - keys.length; k++) m.set(top + k, (m.get(top) ?? 0) + k);
    }
    const hs = toHistograms(g, gauge);
    for (const h of hs) buckets += h.positiveBuckets.length + h.negativeBuckets.length;
    ints.push({ ts: g.ts, hs });
    floats.push({ ts: g.ts, hs: toFloatHistograms(g, gauge) });
  }
  const samples = series * perSeries;
  const intChunks = ints.flatMap((x) => encodeHistogramChunks(x.ts, x.hs).map((c) => c.data));
  const floatChunks = floats.flatMap((x) => encodeFloatHistogramChunks(x.ts, x.hs).map((c) => c.data));
  const bytes = intChunks.reduce((a, c) => a + c.length, 0);

  const it = new HistogramChunkIterator();
  const fit = new FloatHistogramChunkIterator();
  let seen = 0;
  const intDec = timed(3, runs, () => {
    seen = 0;
    for (const c of intChunks) {
      it.reset(c);
      while (it.next()) seen += it.at().positiveBuckets.length > 0 ? 1 : 1;
    }
  });
  if (seen !== samples) throw new Error(`decoded ${seen} of ${samples} histogram samples`);
  const floatDec = timed(3, runs, () => {
    seen = 0;
    for (const c of floatChunks) {
      fit.reset(c);
      while (fit.next()) seen += fit.at().positiveBuckets.length > 0 ? 1 : 1;
    }
  });
  if (seen !== samples) throw new Error(`decoded ${seen} of ${samples} float histogram samples`);
  const intEnc = timed(2, Math.max(3, runs >> 1), () => {
    for (const x of ints) encodeHistogramChunks(x.ts, x.hs);
  });
  const floatEnc = timed(2, Math.max(3, runs >> 1), () => {
    for (const x of floats) encodeFloatHistogramChunks(x.ts, x.hs);
  });
  const rate = (ms: number): number => samples / (ms / 1000);
  return {
    samples,
    chunks: intChunks.length,
    bytesPerSample: bytes / samples,
    buckets: buckets / samples,
    intDecode: rate(intDec),
    intEncode: rate(intEnc),
    floatDecode: rate(floatDec),
    floatEncode: rate(floatEnc),
  };
}

if (process.argv[1]?.endsWith('histogram-codec.js')) {
  const f = benchHistogramCodecs(Number(process.argv[2] ?? 1000));
  const k = (n: number): string => `${(n / 1e3).toFixed(0)}k samples/s`;
  console.log(
    `${f.samples} samples, ${f.chunks} chunks, ${f.buckets.toFixed(1)} buckets/sample, ${f.bytesPerSample.toFixed(1)} B/sample`,
  );
  console.log(`histogram decode ${k(f.intDecode)}, encode ${k(f.intEncode)}`);
  console.log(`float histogram decode ${k(f.floatDecode)}, encode ${k(f.floatEncode)}`);
}
