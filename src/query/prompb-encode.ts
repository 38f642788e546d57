/**
 * prompb ReadResponse (SAMPLES) written straight from decoded samples: one exactly sized Buffer,
 * no message object per sample, no BigInt. Byte for byte what protobuf-es' toBinary writes for the
 * same message (fields in number order, proto3 zero values omitted, -0 kept as it is not +0).
 */
import type { Labels } from '../tsdb/labels.js';
import type { SampleBuf } from '../tsdb/samples/sample-buf.js';
import { StrataError } from '../util/errors.js';
import { putUvarint, uvarintSize } from '../util/varint.js';

/** One TimeSeries: its labels and samples [from, to) of the shared SampleBuf. */
export interface EncSeries {
  readonly labels: Labels;
  readonly from: number;
  readonly to: number;
  /** Encoded `histograms` entries (field 4, prompb-histogram.ts), written after the samples. */
  readonly histograms?: Uint8Array;
}

const TWO32 = 4294967296;

// Tags: field << 3 | wire type (0 varint, 1 fixed64, 2 length-delimited).
const TAG_1_LEN = 0x0a; // ReadResponse.results, QueryResult.timeseries, TimeSeries.labels, Label.name
const TAG_2_LEN = 0x12; // TimeSeries.samples, Label.value
const TAG_SAMPLE_VALUE = 0x09; // Sample.value, double
const TAG_SAMPLE_TS = 0x10; // Sample.timestamp, int64

/** Bytes of int64 `t` as a varint (|t| < 2^53; negatives are 64-bit two's complement, 10 bytes). */
function int64Size(t: number): number {
  if (t < 0) return 10;
  const hi = Math.floor(t / TWO32);
  const bits = hi !== 0 ? 64 - Math.clz32(hi) : 32 - Math.clz32(t >>> 0);
  return bits === 0 ? 1 : ((bits + 6) / 7) | 0;
}

function writeInt64(b: Buffer, p: number, t: number): number {
  // Two's complement halves: ToUint32 of t and of floor(t / 2^32) (exact for |t| < 2^53).
  let lo = t >>> 0;
  let hi = Math.floor(t / TWO32) >>> 0;
  while (hi !== 0 || lo > 0x7f) {
    b[p++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  b[p++] = lo;
  return p;
}

function sampleSize(hi: number, lo: number, t: number): number {
  return (hi !== 0 || lo !== 0 ? 9 : 0) + (t !== 0 ? 1 + int64Size(t) : 0);
}

function labelSize(name: string, value: string): number {
  const n = Buffer.byteLength(name, 'utf8');
  const v = Buffer.byteLength(value, 'utf8');
  return (n > 0 ? 1 + uvarintSize(n) + n : 0) + (v > 0 ? 1 + uvarintSize(v) + v : 0);
}

function seriesSize(s: EncSeries, buf: SampleBuf): number {
  let size = 0;
  for (const l of s.labels) {
    const ls = labelSize(l.name, l.value);
    size += 1 + uvarintSize(ls) + ls;
  }
  const { ts, hi, lo } = buf;
  for (let i = s.from; i < s.to; i++) {
    const ss = sampleSize(hi[i]!, lo[i]!, ts[i]!);
    size += 2 + ss; // tag, one length byte (a sample is at most 20 bytes), body
  }
  return size + (s.histograms?.length ?? 0);
}

function writeString(b: Buffer, p: number, tag: number, s: string): number {
  const n = Buffer.byteLength(s, 'utf8');
  if (n === 0) return p;
  b[p++] = tag;
  p = putUvarint(b, p, n);
  return p + b.write(s, p, n, 'utf8');
}

function writeSeries(b: Buffer, p: number, s: EncSeries, buf: SampleBuf): number {
  for (const l of s.labels) {
    b[p++] = TAG_1_LEN;
    p = putUvarint(b, p, labelSize(l.name, l.value));
    p = writeString(b, p, TAG_1_LEN, l.name);
    p = writeString(b, p, TAG_2_LEN, l.value);
  }
  const { ts, hi, lo } = buf;
  for (let i = s.from; i < s.to; i++) {
    const h = hi[i]!;
    const w = lo[i]!;
    const t = ts[i]!;
    b[p++] = TAG_2_LEN;
    b[p++] = sampleSize(h, w, t);
    if (h !== 0 || w !== 0) {
      // The stored bit pattern, little-endian: NaN payloads (the stale marker) pass unchanged.
      b[p] = TAG_SAMPLE_VALUE;
      b[p + 1] = w;
      b[p + 2] = w >>> 8;
      b[p + 3] = w >>> 16;
      b[p + 4] = w >>> 24;
      b[p + 5] = h;
      b[p + 6] = h >>> 8;
      b[p + 7] = h >>> 16;
      b[p + 8] = h >>> 24;
      p += 9;
    }
    if (t !== 0) {
      b[p++] = TAG_SAMPLE_TS;
      p = writeInt64(b, p, t);
    }
  }
  if (s.histograms !== undefined) {
    b.set(s.histograms, p);
    p += s.histograms.length;
  }
  return p;
}

/**
 * The ReadResponse bytes: one QueryResult per entry of `results` (in order, empty ones included),
 * each series' samples taken from `buf` (integer timestamps, values as stored (hi, lo) bits).
 */
export function encodeReadResponse(results: readonly (readonly EncSeries[])[], buf: SampleBuf): Buffer {
  const sizes: number[] = [];
  const resultSizes: number[] = [];
  let total = 0;
  for (const list of results) {
    let rs = 0;
    for (const s of list) {
      const ss = seriesSize(s, buf);
      sizes.push(ss);
      rs += 1 + uvarintSize(ss) + ss;
    }
    resultSizes.push(rs);
    total += 1 + uvarintSize(rs) + rs;
  }
  const b = Buffer.allocUnsafe(total);
  let p = 0;
  let k = 0;
  results.forEach((list, qi) => {
    b[p++] = TAG_1_LEN;
    p = putUvarint(b, p, resultSizes[qi]!);
    for (const s of list) {
      b[p++] = TAG_1_LEN;
      p = putUvarint(b, p, sizes[k++]!);
      p = writeSeries(b, p, s, buf);
    }
  });
  if (p !== total) {
    throw new StrataError('ERR_INTERNAL', `remote read encoder: wrote ${p} bytes of the ${total} computed`);
  }
  return b;
}
