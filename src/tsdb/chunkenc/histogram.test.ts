import { describe, expect, it } from 'vitest';
import { FormatError } from '../../util/errors.js';
import {
  HINT_COUNTER_RESET,
  HINT_GAUGE,
  HINT_NOT_COUNTER_RESET,
  HINT_UNKNOWN,
  STALE_NAN,
  isStaleNaN,
  newFloatHistogram,
  newHistogram,
  toFloatHistogram,
  type AnyHistogram,
  type FloatHistogram,
  type Histogram,
  type Span,
} from '../histogram/types.js';
import { genSeries, toFloatHistograms, toHistograms } from '../synth/histograms.js';
import { floatHi, lastLo } from './float-bits.js';
import { HistBitReader, HistBitWriter, putVarbitInt, putVarbitUint } from './hist-bits.js';
import { putZeroThreshold, readZeroThreshold } from './hist-meta.js';
import { bucketIndexes } from './hist-spans.js';
import {
  FloatHistogramAppender,
  FloatHistogramChunkIterator,
  HEADER_COUNTER_RESET,
  HEADER_GAUGE,
  HEADER_NOT_COUNTER_RESET,
  HEADER_UNKNOWN,
  HeadCutPolicy,
  HistogramAppender,
  HistogramChunkIterator,
  decodeFloatHistogramChunk,
  decodeHistogramChunk,
  encodeFloatHistogramChunks,
  encodeHistogramChunks,
} from './histogram.js';

/** bucket index → absolute count, zero counts dropped (recoding adds empty buckets). */
function absMap(spans: readonly Span[], buckets: Float64Array, deltas: boolean): Map<number, number> {
  const idx = bucketIndexes(spans);
  const m = new Map<number, number>();
  let c = 0;
  idx.forEach((k, i) => {
    c = deltas ? c + buckets[i]! : buckets[i]!;
    if (c !== 0) m.set(k, c);
  });
  return m;
}

function bitsOf(v: number): string {
  return `${floatHi(v).toString(16)}:${lastLo().toString(16)}`;
}

/** What a sample means, independent of how its layout is written. */
function meaning(h: AnyHistogram): unknown {
  const d = h.kind === 'histogram';
  if (isStaleNaN(h.sum)) return { stale: true };
  return {
    schema: h.schema,
    zt: h.zeroThreshold,
    count: h.count,
    zero: h.zeroCount,
    sum: bitsOf(h.sum),
    pos: [...absMap(h.positiveSpans, h.positiveBuckets, d)],
    neg: [...absMap(h.negativeSpans, h.negativeBuckets, d)],
  };
}

function hist(schema: number, spans: Span[], deltas: number[], count?: number, zeroCount = 0): Histogram {
  const h = newHistogram();
  h.schema = schema;
  h.positiveSpans = spans;
  h.positiveBuckets = Float64Array.from(deltas);
  let c = 0;
  let tot = 0;
  for (const d of deltas) tot += c += d;
  h.zeroCount = zeroCount;
  h.count = count ?? tot + zeroCount;
  h.sum = 18.4 * h.count;
  return h;
}

describe('varbit numbers', () => {
  it('round-trip the boundaries of every size class (upstream varbit_test values within ±(2^53−1))', () => {
    const ints = [
      -16777216,
      -16777215,
      -131072,
      -131071,
      -2048,
      -2047,
      -256,
      -255,
      -32,
      -31,
      -4,
      -3,
      -1,
      0,
      1,
      4,
      5,
      32,
      33,
      256,
      257,
      2048,
      2049,
      131072,
      131073,
      16777216,
      16777217,
      Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER,
    ];
    const uints = [
      0,
      1,
      7,
      8,
      63,
      64,
      511,
      512,
      4095,
      4096,
      262143,
      262144,
      33554431,
      33554432,
      Number.MAX_SAFE_INTEGER,
    ];
    const w = new HistBitWriter();
    w.reset(0);
    for (const v of ints) putVarbitInt(w, v);
    for (const v of uints) putVarbitUint(w, v);
    const r = new HistBitReader();
    r.reset(w.bytes(0, 0).slice(), 0, 'x', 0);
    // bytes() overwrote the first 3 bytes with header fields: re-encode with 3 pad bytes instead.
    const w2 = new HistBitWriter();
    w2.reset(3);
    for (const v of ints) putVarbitInt(w2, v);
    for (const v of uints) putVarbitUint(w2, v);
    r.reset(w2.bytes(0, 0).slice(), 3, 'x', 0);
    for (const v of ints) expect(r.varbitInt('i')).toBe(v);
    for (const v of uints) expect(r.varbitUint('u')).toBe(v);
  });

  it('lays bits out as Go: prefix then two’s complement payload', () => {
    const enc = (f: (w: HistBitWriter) => void): number[] => {
      const w = new HistBitWriter();
      w.reset(3);
      f(w);
      return [...w.bytes(0, 0).subarray(3)];
    };
    // 1 → '10' '001' ; -3 → '10' '101'
    expect(enc((w) => putVarbitInt(w, 1))).toEqual([0b1000_1000]);
    expect(enc((w) => putVarbitInt(w, -3))).toEqual([0b1010_1000]);
    // 5 → '110' '000101'
    expect(enc((w) => putVarbitInt(w, 5))).toEqual([0b1100_0010, 0b1000_0000]);
    // 56-bit class: '11111110' + 56 bits ends with a whole byte: Go leaves an empty byte after it.
    expect(enc((w) => putVarbitUint(w, 2 ** 40))).toEqual([0xfe, 0, 1, 0, 0, 0, 0, 0, 0]);
  });

  it('64-bit values outside ±(2^53−1) are a coded error, not a rounded number', () => {
    const w = new HistBitWriter();
    w.reset(3);
    w.write(0xff, 8);
    w.write64(0x80000000, 0, 64); // math.MinInt64
    const r = new HistBitReader();
    r.reset(w.bytes(0, 0).slice(), 3, 'seg/1', 100);
    expect(() => r.varbitInt('v')).toThrow(/outside ±\(2\^53−1\)/);
  });
});

describe('zero threshold', () => {
  const cases: [number, number[]][] = [
    [0, [0]],
    [2 ** -128, [116]], // Prometheus' default threshold: one byte, 116.
    [2 ** -243, [1]],
    [2 ** 10, [254]],
  ];
  it.each(cases)('%d is one byte', (v, bytes) => {
    const w = new HistBitWriter();
    w.reset(3);
    putZeroThreshold(w, v);
    // A whole-byte write on a boundary leaves Go's empty trailing byte.
    expect([...w.bytes(0, 0).subarray(3)]).toEqual([...bytes, 0]);
    const r = new HistBitReader();
    r.reset(w.bytes(0, 0).slice(), 3, 'x', 0);
    expect(readZeroThreshold(r)).toBe(v);
  });
  it.each([2 ** 11, 2 ** -244, 0.001, 3, -(2 ** -128), Infinity])('%d takes 255 + 8 bytes', (v) => {
    const w = new HistBitWriter();
    w.reset(3);
    putZeroThreshold(w, v);
    const b = w.bytes(0, 0).subarray(3);
    expect(b[0]).toBe(255);
    expect(b.length).toBe(10);
    const r = new HistBitReader();
    r.reset(w.bytes(0, 0).slice(), 3, 'x', 0);
    expect(readZeroThreshold(r)).toBe(v);
  });
});

describe('appender rules (Prometheus appendable / AppendHistogram)', () => {
  const s0: Span[] = [
    { offset: 0, length: 2 },
    { offset: 1, length: 2 },
  ];
  const base = (): Histogram => hist(1, s0, [6, -3, 0, -1], undefined, 5);

  it('same layout, counts up: appended to the same chunk', () => {
    const a = base();
    const b = hist(1, s0, [7, -2, 0, -1], undefined, 6);
    const chunks = encodeHistogramChunks([1000, 2000], [a, b]);
    expect(chunks.length).toBe(1);
    expect(chunks[0]!.numSamples).toBe(2);
  });

  it('new buckets: the chunk is recoded with empty buckets, one chunk', () => {
    const a = base();
    const b = hist(
      1,
      [
        { offset: -1, length: 3 },
        { offset: 1, length: 3 },
      ],
      [1, 6, -3, 0, -1, 2],
      undefined,
      6,
    );
    b.count = a.count + 10;
    const chunks = encodeHistogramChunks([1000, 2000], [a, b]);
    expect(chunks.length).toBe(1);
    const d = decodeHistogramChunk(chunks[0]!.data);
    expect(d.hs[0]!.positiveSpans).toEqual(b.positiveSpans);
    expect(meaning(d.hs[0]!)).toEqual(meaning(a));
    expect(meaning(d.hs[1]!)).toEqual(meaning(b));
  });

  it('a bucket gone or a count down: new chunk with the counter-reset header', () => {
    const a = base();
    const gone = hist(
      1,
      [
        { offset: 0, length: 2 },
        { offset: 1, length: 1 },
      ],
      [7, -2, 0],
      undefined,
      6,
    );
    const down = hist(1, s0, [5, -2, 0, -1], undefined, 6);
    const zdown = hist(1, s0, [6, -3, 0, -1], undefined, 1);
    for (const b of [gone, down, zdown]) {
      const chunks = encodeHistogramChunks([1000, 2000], [a, b]);
      expect(chunks.length).toBe(2);
      expect(chunks[1]!.data[2]).toBe(HEADER_COUNTER_RESET);
      expect(decodeHistogramChunk(chunks[1]!.data).hs[0]!.counterResetHint).toBe(HINT_COUNTER_RESET);
    }
  });

  it('schema or zero threshold change: new chunk, header unknown', () => {
    const a = base();
    const b = base();
    b.schema = 2;
    const c = base();
    c.zeroThreshold = 0.5;
    for (const x of [b, c]) {
      const chunks = encodeHistogramChunks([1000, 2000], [a, x]);
      expect(chunks.length).toBe(2);
      expect(chunks[1]!.data[2]).toBe(HEADER_UNKNOWN);
    }
  });

  it('explicit counter-reset hint: new chunk even when counts go up', () => {
    const b = hist(1, s0, [7, -2, 0, -1], undefined, 6);
    b.counterResetHint = HINT_COUNTER_RESET;
    const chunks = encodeHistogramChunks([1000, 2000], [base(), b]);
    expect(chunks.map((c) => c.data[2])).toEqual([HEADER_UNKNOWN, HEADER_COUNTER_RESET]);
  });

  it('gauge histograms: buckets may vanish and counts drop in one chunk (union layout)', () => {
    const a = base();
    a.counterResetHint = HINT_GAUGE;
    const b = hist(
      1,
      [
        { offset: 1, length: 1 },
        { offset: 2, length: 3 },
      ],
      [1, 2, -1, 4],
      undefined,
      1,
    );
    b.counterResetHint = HINT_GAUGE;
    const chunks = encodeHistogramChunks([1000, 2000], [a, b]);
    expect(chunks.length).toBe(1);
    expect(chunks[0]!.data[2]).toBe(HEADER_GAUGE);
    const d = decodeHistogramChunk(chunks[0]!.data);
    expect(d.hs.map((h) => h.counterResetHint)).toEqual([HINT_GAUGE, HINT_GAUGE]);
    expect(meaning(d.hs[0]!)).toEqual(meaning(a));
    expect(meaning(d.hs[1]!)).toEqual(meaning(b));
    // A counter sample after gauges starts a new chunk, and back.
    const c = base();
    expect(encodeHistogramChunks([1000, 2000, 3000], [a, c, b]).map((x) => x.data[2])).toEqual([
      HEADER_GAUGE,
      HEADER_UNKNOWN,
      HEADER_GAUGE,
    ]);
  });

  it('samples after the first read back as not-counter-reset', () => {
    const hs = toHistograms(genSeries(3, { samples: 5 }));
    const d = decodeHistogramChunk(encodeHistogramChunks([1, 2, 3, 4, 5], hs)[0]!.data);
    expect(d.hs.map((h) => h.counterResetHint)).toEqual([
      HINT_UNKNOWN,
      HINT_NOT_COUNTER_RESET,
      HINT_NOT_COUNTER_RESET,
      HINT_NOT_COUNTER_RESET,
      HINT_NOT_COUNTER_RESET,
    ]);
  });

  it('a stale sample keeps only its sum; only stale samples may follow it in the chunk', () => {
    const a = base();
    const st = newHistogram();
    st.sum = STALE_NAN;
    const b = base();
    const chunks = encodeHistogramChunks([1000, 2000, 3000, 4000], [a, st, st, b]);
    expect(chunks.length).toBe(2);
    const d = decodeHistogramChunk(chunks[0]!.data);
    expect(d.hs.length).toBe(3);
    expect(isStaleNaN(d.hs[1]!.sum) && isStaleNaN(d.hs[2]!.sum)).toBe(true);
    expect(d.hs[1]!.positiveBuckets.length).toBe(0);
  });

  it('compaction split every 120 samples; head policy cuts by size (1 KiB target, ≥ 10 samples)', () => {
    const hs = toHistograms(genSeries(5, { samples: 300 }));
    const ts = Array.from({ length: 300 }, (_, i) => 1_700_000_000_000 + i * 15_000);
    expect(encodeHistogramChunks(ts, hs).map((c) => c.numSamples)).toEqual([120, 120, 60]);
    const head = encodeHistogramChunks(ts, hs, new HeadCutPolicy());
    expect(head.length).toBeGreaterThan(3);
    for (const c of head.slice(0, -1)) {
      expect(c.numSamples).toBeGreaterThanOrEqual(10);
      expect(c.data.length).toBeLessThan(2048 + 400);
    }
    // The head consults the previous chunk: a cut without reset is flagged not-counter-reset.
    expect(head[1]!.data[2]).toBe(HEADER_NOT_COUNTER_RESET);
  });
});

function roundTrip<H extends AnyHistogram>(
  ts: number[],
  hs: H[],
  encode: (ts: number[], hs: H[]) => { data: Uint8Array; numSamples: number; mint: number; maxt: number }[],
  decode: (d: Uint8Array) => { ts: Float64Array; hs: AnyHistogram[]; header: number },
  reappend: () => {
    reset(h: number): void;
    appendRaw(t: number, h: AnyHistogram): void;
    bytes(): Uint8Array;
  },
): void {
  const chunks = encode(ts, hs);
  let k = 0;
  for (const c of chunks) {
    const d = decode(c.data);
    expect(d.hs.length).toBe(c.numSamples);
    expect(d.ts[0]).toBe(c.mint);
    expect(d.ts[d.ts.length - 1]).toBe(c.maxt);
    for (let i = 0; i < d.hs.length; i++, k++) {
      expect(d.ts[i]).toBe(ts[k]);
      expect(meaning(d.hs[i]!)).toEqual(meaning(hs[k]!));
    }
    // Re-appending the decoded samples reproduces the chunk byte for byte.
    const app = reappend();
    app.reset(d.header);
    for (let i = 0; i < d.hs.length; i++) app.appendRaw(d.ts[i]!, d.hs[i]!);
    expect(Buffer.from(app.bytes()).equals(Buffer.from(c.data))).toBe(true);
  }
  expect(k).toBe(hs.length);
}

describe('round trip (property: many random series)', () => {
  const variants = [
    { samples: 200, grow: 0.05, resets: 0.02 },
    { samples: 150, grow: 0.1, resets: 0.05, negative: true, specialSums: true },
    { samples: 100, schemaChange: 0.05, negative: true },
    { samples: 130, gauge: true, negative: true, grow: 0.1 },
    { samples: 1 },
    { samples: 2, negative: true },
  ];
  it('integer histograms', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const o = variants[seed % variants.length]!;
      const s = genSeries(seed, o);
      roundTrip(
        s.ts,
        toHistograms(s, o.gauge === true, seed % 2 === 0),
        (t, h) => encodeHistogramChunks(t, h),
        (d) => decodeHistogramChunk(d),
        () => new HistogramAppender() as unknown as ReturnType<Parameters<typeof roundTrip>[4]>,
      );
    }
  });
  it('float histograms', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const o = variants[seed % variants.length]!;
      const s = genSeries(seed, o);
      roundTrip(
        s.ts,
        toFloatHistograms(s, o.gauge === true),
        (t, h) => encodeFloatHistogramChunks(t, h),
        (d) => decodeFloatHistogramChunk(d),
        () => new FloatHistogramAppender() as unknown as ReturnType<Parameters<typeof roundTrip>[4]>,
      );
    }
  });
  it('min and max schema, empty histograms, ±Inf/NaN sums, all zero-threshold forms', () => {
    const hs: Histogram[] = [];
    const ts: number[] = [];
    const sums = [NaN, Infinity, -Infinity, 0, -0, 1e308];
    for (const schema of [-4, 8]) {
      for (const zt of [0, 2 ** -128, 0.001]) {
        for (const sum of sums) {
          const h = hist(schema, [], []);
          h.zeroThreshold = zt;
          h.sum = sum;
          h.counterResetHint = HINT_COUNTER_RESET; // one chunk each
          hs.push(h);
          ts.push(ts.length * 1000 - 5000);
        }
      }
    }
    roundTrip(
      ts,
      hs,
      (t, h) => encodeHistogramChunks(t, h),
      (d) => decodeHistogramChunk(d),
      () => new HistogramAppender() as unknown as ReturnType<Parameters<typeof roundTrip>[4]>,
    );
    const fhs: FloatHistogram[] = hs.map((h) => toFloatHistogram(h));
    roundTrip(
      ts,
      fhs,
      (t, h) => encodeFloatHistogramChunks(t, h),
      (d) => decodeFloatHistogramChunk(d),
      () => new FloatHistogramAppender() as unknown as ReturnType<Parameters<typeof roundTrip>[4]>,
    );
  });
});

describe('bad input: coded errors naming file and offset', () => {
  const good = (): Uint8Array => {
    const hs = toHistograms(genSeries(9, { samples: 20, negative: true }));
    return encodeHistogramChunks(
      hs.map((_, i) => i * 1000),
      hs,
    )[0]!.data.slice();
  };

  function errOf(f: () => void): FormatError {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(FormatError);
      return e as FormatError;
    }
    throw new Error('no error');
  }

  it('truncated chunk: ERR_TSDB_TRUNCATED after the good samples', () => {
    const d = good();
    const it = new HistogramChunkIterator();
    it.reset(d.subarray(0, d.length - 20), 'seg/000001', 5000);
    let n = 0;
    const e = errOf(() => {
      while (it.next()) n++;
    });
    expect(e.code).toBe('ERR_TSDB_TRUNCATED');
    expect(e.file).toBe('seg/000001');
    expect(e.offset).toBeGreaterThan(5000);
    expect(n).toBeGreaterThan(10);
    expect(it.next()).toBe(false);
    expect(errOf(() => decodeHistogramChunk(new Uint8Array(2), 'f', 7)).code).toBe('ERR_TSDB_TRUNCATED');
  });

  function layoutChunk(f: (w: HistBitWriter) => void): Uint8Array {
    const w = new HistBitWriter();
    w.reset(3);
    f(w);
    for (let i = 0; i < 40; i++) w.write(0, 8);
    return w.bytes(1, 0).slice();
  }

  it('schema out of range (and the 3.x custom-bucket schema -53): ERR_TSDB_CORRUPT', () => {
    for (const schema of [9, -5, -53]) {
      const d = layoutChunk((w) => {
        putZeroThreshold(w, 0);
        putVarbitInt(w, schema);
      });
      const e = errOf(() => decodeHistogramChunk(d, 'seg/2', 100));
      expect(e.code).toBe('ERR_TSDB_CORRUPT');
      expect(e.message).toMatch(/^seg\/2 at offset 104: histogram schema -?\d+ out of range -4\.\.8/);
      expect(errOf(() => decodeFloatHistogramChunk(d, 'seg/2', 100)).code).toBe('ERR_TSDB_CORRUPT');
    }
  });

  it('a span with an impossible length: ERR_TSDB_CORRUPT', () => {
    const d = layoutChunk((w) => {
      putZeroThreshold(w, 0);
      putVarbitInt(w, 3);
      putVarbitUint(w, 1);
      putVarbitUint(w, 1e9);
      putVarbitInt(w, 0);
    });
    const e = errOf(() => decodeHistogramChunk(d, 'seg/3', 0));
    expect(e.code).toBe('ERR_TSDB_CORRUPT');
    expect(e.message).toMatch(/positive spans describe 1000000000 buckets: impossible/);
  });

  it('a second span with a negative offset: ERR_TSDB_CORRUPT', () => {
    const d = layoutChunk((w) => {
      putZeroThreshold(w, 0);
      putVarbitInt(w, 3);
      putVarbitUint(w, 2);
      putVarbitUint(w, 1);
      putVarbitInt(w, 0);
      putVarbitUint(w, 1);
      putVarbitInt(w, -2);
    });
    expect(errOf(() => decodeFloatHistogramChunk(d)).message).toMatch(/span 1 has negative offset -2/);
  });

  it('float chunk decoder reads integer-chunk garbage without crashing', () => {
    const it = new FloatHistogramChunkIterator();
    it.reset(good());
    try {
      while (it.next()) it.at();
    } catch (e) {
      expect(e).toBeInstanceOf(FormatError);
    }
  });
});

describe('float histogram specifics', () => {
  it('buckets keep exact float bits (non-integer counts, NaN bucket)', () => {
    const h = newFloatHistogram();
    h.schema = 0;
    h.count = 3.3;
    h.sum = -1.25;
    h.positiveSpans = [{ offset: -2, length: 3 }];
    h.positiveBuckets = Float64Array.from([0.1, NaN, 2.9]);
    const h2 = { ...h, positiveBuckets: Float64Array.from([0.2, NaN, 3.9]), count: 4.4 };
    const c = encodeFloatHistogramChunks([10, 20], [h, h2]);
    const d = decodeFloatHistogramChunk(c[0]!.data);
    expect([...d.hs[1]!.positiveBuckets].map(bitsOf)).toEqual([0.2, NaN, 3.9].map(bitsOf));
    expect(d.hs[1]!.count).toBe(4.4);
  });
});
