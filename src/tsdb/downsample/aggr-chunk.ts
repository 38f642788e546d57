/**
 * Thanos' aggregated chunk (encoding byte 0xff, pkg/compact/downsample/aggr.go): five optional
 * sub-chunks in the order count, sum, min, max, counter. Each is `uvarint(len)` + one encoding
 * byte + `len` bytes of chunk data; `len = 0` (and no encoding byte) marks an absent aggregate.
 * Float series use XOR sub-chunks for all five; native histogram series a count (XOR), a sum and a
 * counter (float histogram, encoding 3), min and max absent.
 *
 * The reader splits a chunk into its sub-chunks without copying (offsets into the data) and
 * decodes one chosen aggregate into a SampleBuf; store and dump use it.
 */
import { FormatError } from '../../util/errors.js';
import { ENC_FLOAT_HISTOGRAM, ENC_XOR, encodingName } from '../chunkenc/encoding.js';
import { decodeXorInto, scanXorTimes, xorNumSamples } from '../chunkenc/xor-decode.js';
import {
  decodeFloatHistogramChunk,
  floatHistogramCodec,
  type HistogramSamples,
} from '../chunkenc/histogram-codec.js';
import type { FloatHistogram } from '../histogram/types.js';
import type { ChunkTimeSummary } from '../chunkenc/codec.js';
import type { SampleBuf } from '../samples/sample-buf.js';
import { putUvarint, uvarintSize } from '../../util/varint.js';

/** Aggregate indexes, in the order of the sub-chunks (Thanos' AggrType). */
export const AGGR_COUNT = 0;
export const AGGR_SUM = 1;
export const AGGR_MIN = 2;
export const AGGR_MAX = 3;
export const AGGR_COUNTER = 4;
export const NUM_AGGRS = 5;

export type AggrType = 0 | 1 | 2 | 3 | 4;
export type AggrName = 'count' | 'sum' | 'min' | 'max' | 'counter';

export const AGGR_NAMES: readonly AggrName[] = ['count', 'sum', 'min', 'max', 'counter'];

/** The aggregate called `name`, or undefined. */
export function parseAggrName(name: string): AggrType | undefined {
  const i = AGGR_NAMES.indexOf(name as AggrName);
  return i < 0 ? undefined : (i as AggrType);
}

/**
 * Where each sub-chunk sits inside an aggregated chunk's data: `start[i]`/`end[i]` delimit the
 * sub-chunk's data (after its encoding byte); `enc[i]` is -1 for an absent aggregate. Reuse one
 * instance across chunks.
 */
export class AggrParts {
  readonly start = new Int32Array(NUM_AGGRS);
  readonly end = new Int32Array(NUM_AGGRS);
  readonly enc = new Int32Array(NUM_AGGRS);

  has(a: AggrType): boolean {
    return this.enc[a]! >= 0;
  }
}

/**
 * Splits aggregated chunk `data` into `out`. `file` and `dataOffset` (file offset of data[0]) name
 * the place of a FormatError: ERR_TSDB_TRUNCATED when a length runs past the chunk,
 * ERR_TSDB_CORRUPT for a bad uvarint or bytes after the fifth sub-chunk.
 */
export function splitAggrChunk(data: Uint8Array, out: AggrParts, file: string, dataOffset: number): void {
  let p = 0;
  const n = data.length;
  for (let i = 0; i < NUM_AGGRS; i++) {
    // uvarint length; sub-chunks are far below 2^31 bytes, so 4 groups suffice.
    let len = 0;
    let shift = 0;
    const at = p;
    for (;;) {
      if (p >= n) {
        throw new FormatError(
          'ERR_TSDB_TRUNCATED',
          file,
          dataOffset + at,
          `aggregated chunk: ${AGGR_NAMES[i]} sub-chunk length runs past the chunk's ${n} bytes`,
        );
      }
      const b = data[p++]!;
      if (shift > 21) {
        throw new FormatError(
          'ERR_TSDB_CORRUPT',
          file,
          dataOffset + at,
          `aggregated chunk: ${AGGR_NAMES[i]} sub-chunk length is not a valid uvarint below 2^28`,
        );
      }
      len += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
      shift += 7;
    }
    if (len === 0) {
      out.enc[i] = -1;
      out.start[i] = p;
      out.end[i] = p;
      continue;
    }
    if (p + 1 + len > n) {
      throw new FormatError(
        'ERR_TSDB_TRUNCATED',
        file,
        dataOffset + at,
        `aggregated chunk: ${AGGR_NAMES[i]} sub-chunk of ${len} bytes runs past the chunk's ${n} bytes`,
      );
    }
    out.enc[i] = data[p]!;
    out.start[i] = p + 1;
    out.end[i] = p + 1 + len;
    p += 1 + len;
  }
  if (p !== n) {
    throw new FormatError(
      'ERR_TSDB_CORRUPT',
      file,
      dataOffset + p,
      `aggregated chunk: ${n - p} bytes after the counter sub-chunk`,
    );
  }
}

function checkEnc(parts: AggrParts, a: AggrType, want: number, file: string, dataOffset: number): void {
  const enc = parts.enc[a]!;
  if (enc !== want) {
    throw new FormatError(
      'ERR_TSDB_UNKNOWN_ENCODING',
      file,
      dataOffset + parts.start[a]! - 1,
      `aggregated chunk: ${AGGR_NAMES[a]} sub-chunk has encoding ${encodingName(enc)}, not ${encodingName(want)}`,
    );
  }
}

function checkXor(parts: AggrParts, a: AggrType, file: string, dataOffset: number): void {
  checkEnc(parts, a, ENC_XOR, file, dataOffset);
}

/** Whether the chunk is a native histogram series' (its counter, or else sum, is a float histogram). */
export function isHistogramAggr(parts: AggrParts): boolean {
  const a = parts.has(AGGR_COUNTER) ? AGGR_COUNTER : AGGR_SUM;
  return parts.enc[a] === ENC_FLOAT_HISTOGRAM;
}

/**
 * The float histograms of aggregate `a` (sum or counter of a histogram series' chunk), or
 * undefined when absent; ERR_TSDB_UNKNOWN_ENCODING when it is not a float-histogram sub-chunk.
 */
export function decodeAggrHistograms(
  data: Uint8Array,
  parts: AggrParts,
  a: AggrType,
  file: string,
  dataOffset: number,
): HistogramSamples<FloatHistogram> | undefined {
  if (!parts.has(a)) return undefined;
  checkEnc(parts, a, ENC_FLOAT_HISTOGRAM, file, dataOffset);
  return decodeFloatHistogramChunk(
    data.subarray(parts.start[a]!, parts.end[a]!),
    file,
    dataOffset + parts.start[a]!,
  );
}

function scanSub(
  parts: AggrParts,
  a: number,
  data: Uint8Array,
  out: ChunkTimeSummary,
  file: string,
  off: number,
): void {
  const sub = data.subarray(parts.start[a]!, parts.end[a]!);
  const base = off + parts.start[a]!;
  if (parts.enc[a] === ENC_FLOAT_HISTOGRAM) floatHistogramCodec.scanTimes(sub, out, file, base);
  else scanXorTimes(sub, out, file, base);
}

/** Sample count of aggregate `a` (0 when absent), like Thanos' AggrChunk.NumSamples for count. */
export function aggrNumSamples(
  data: Uint8Array,
  parts: AggrParts,
  a: AggrType,
  file: string,
  dataOffset: number,
): number {
  if (!parts.has(a)) return 0;
  return xorNumSamples(data.subarray(parts.start[a]!, parts.end[a]!), file, dataOffset + parts.start[a]!);
}

/**
 * Replaces the contents of `out` with the samples of aggregate `a` of a split chunk; returns false
 * (and leaves `out` empty) when the aggregate is absent. The counter aggregate comes out as
 * stored: first raw sample, one point per window, and the last raw value repeating the last
 * window's timestamp (use CounterResets to turn it into a monotonic series).
 */
export function decodeAggrInto(
  data: Uint8Array,
  parts: AggrParts,
  a: AggrType,
  out: SampleBuf,
  file: string,
  dataOffset: number,
): boolean {
  out.reset();
  if (!parts.has(a)) return false;
  checkXor(parts, a, file, dataOffset);
  const sub = data.subarray(parts.start[a]!, parts.end[a]!);
  const base = dataOffset + parts.start[a]!;
  out.ensure(xorNumSamples(sub, file, base));
  out.len = decodeXorInto(sub, out.ts, out.hi, out.lo, file, base);
  return true;
}

/** Splits and decodes aggregate `a` of an aggregated chunk in one call (see decodeAggrInto). */
export function readAggregate(
  data: Uint8Array,
  a: AggrType,
  out: SampleBuf,
  file: string,
  dataOffset: number,
  parts: AggrParts = new AggrParts(),
): boolean {
  splitAggrChunk(data, parts, file, dataOffset);
  return decodeAggrInto(data, parts, a, out, file, dataOffset);
}

/**
 * Time summary of an aggregated chunk for verification: that of its count sub-chunk (its first
 * and last timestamps are the chunk's index mint/maxt), else of the first present aggregate. Every
 * present sub-chunk is decoded, so a corrupt one is reported.
 */
export function scanAggrTimes(
  data: Uint8Array,
  out: ChunkTimeSummary,
  file: string,
  dataOffset: number,
  parts: AggrParts = new AggrParts(),
): void {
  splitAggrChunk(data, parts, file, dataOffset);
  let chosen = -1;
  for (let a = NUM_AGGRS - 1; a >= 0; a--) {
    if (!parts.has(a as AggrType)) continue;
    if (parts.enc[a] !== ENC_FLOAT_HISTOGRAM) checkXor(parts, a as AggrType, file, dataOffset);
    chosen = a;
  }
  if (chosen < 0) {
    out.samples = 0;
    out.first = NaN;
    out.last = NaN;
    out.disorderAt = -1;
    return;
  }
  for (let a = NUM_AGGRS - 1; a >= 0; a--) {
    if (!parts.has(a as AggrType) || a === chosen) continue;
    scanSub(parts, a, data, out, file, dataOffset);
  }
  scanSub(parts, chosen, data, out, file, dataOffset);
}

/** One aggregate's chunk data for encodeAggrChunk; undefined = absent. */
export type AggrSubChunks = readonly (Uint8Array | undefined)[];

const ALL_XOR: readonly number[] = [ENC_XOR, ENC_XOR, ENC_XOR, ENC_XOR, ENC_XOR];

/**
 * Encodes the five sub-chunks (index = aggregate) into one aggregated chunk's data; `encs[i]` is
 * sub-chunk i's encoding byte (XOR for all by default).
 */
export function encodeAggrChunk(subs: AggrSubChunks, encs: readonly number[] = ALL_XOR): Uint8Array {
  let size = 0;
  for (let i = 0; i < NUM_AGGRS; i++) {
    const s = subs[i];
    size += s === undefined ? 1 : uvarintSize(s.length) + 1 + s.length;
  }
  const out = new Uint8Array(size);
  let p = 0;
  for (let i = 0; i < NUM_AGGRS; i++) {
    const s = subs[i];
    if (s === undefined) {
      out[p++] = 0;
      continue;
    }
    p = putUvarint(out, p, s.length);
    out[p++] = encs[i]!;
    out.set(s, p);
    p += s.length;
  }
  return out;
}
