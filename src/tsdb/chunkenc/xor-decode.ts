/**
 * XOR chunk decoder (encoding 1), bit-exact with Prometheus tsdb/chunkenc/xor.go.
 *
 * Timestamps come out as JS numbers: a timestamp or delta outside ±(2^53−1) is reported as
 * FormatError ERR_TSDB_CORRUPT rather than rounded. Values come out as uint32 halves (hi =
 * sign/exponent word) so NaN payloads survive. Where Go would silently decode garbage (a value
 * window wider than 64 bits) this decoder reports ERR_TSDB_CORRUPT.
 */
import { FormatError, InvalidArgumentError } from '../../util/errors.js';
import { READ_PAD_WORDS, loadWords, peekBits } from './bstream.js';
import { bitsToFloat } from './float-bits.js';
import type { ChunkTimeSummary } from './codec.js';
import { MAX_XOR_BYTES, XOR_MAX_SAMPLES } from './xor-encode.js';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const TWO_32 = 0x1_0000_0000;
/** With only small dod buckets, |t| grows by at most 65535² · 2^19 < 2^51 within one chunk. */
const SMALL_BUCKET_GROWTH = 2 ** 51;

/** Sample count from a chunk's header. */
export function xorNumSamples(bytes: Uint8Array, file = '<chunk>', baseOffset = 0): number {
  if (bytes.length < 2) {
    throw new FormatError('ERR_TSDB_TRUNCATED', file, baseOffset, 'XOR chunk shorter than its 2-byte header');
  }
  return (bytes[0]! << 8) | bytes[1]!;
}

// The decoder's working arrays are module constants: TurboFan then knows their maps and lengths
// and drops the per-iteration checks it would repeat for parameters (~15% of the loop). Large
// typed arrays are calloc'ed, so untouched pages cost no memory.
const SCR_W = new Int32Array((MAX_XOR_BYTES >>> 2) + 2 + READ_PAD_WORDS);
const SCR_T = new Float64Array(XOR_MAX_SAMPLES);
const SCR_H = new Uint32Array(XOR_MAX_SAMPLES);
const SCR_L = new Uint32Array(XOR_MAX_SAMPLES);
/** Set by decodeCore when it stops early; null after a complete decode. */
let decodeError: FormatError | null = null;

/**
 * Decodes all samples of an XOR chunk into the arrays, which must hold at least
 * `xorNumSamples(bytes)` entries, and returns the sample count. Corrupt or truncated input raises
 * FormatError naming `file` and offset `baseOffset` + byte index in `bytes` (pass the file offset
 * of the chunk data as baseOffset).
 */
export function decodeXorInto(
  bytes: Uint8Array,
  ts: Float64Array,
  hi: Uint32Array,
  lo: Uint32Array,
  file = '<chunk>',
  baseOffset = 0,
): number {
  const total = xorNumSamples(bytes, file, baseOffset);
  if (ts.length < total || hi.length < total || lo.length < total) {
    throw new InvalidArgumentError(`decodeXorInto: arrays hold fewer than the chunk's ${total} samples`);
  }
  const n = decodeCore(bytes, total, ts, hi, lo, file, baseOffset);
  const err = decodeError;
  if (err !== null) {
    decodeError = null;
    throw err;
  }
  return n;
}

/**
 * Decodes a chunk for checking only: sample count, first and last timestamp, and whether the
 * timestamps strictly increase, without handing samples out (no copy per sample). Errors as
 * decodeXorInto.
 */
export function scanXorTimes(
  bytes: Uint8Array,
  out: ChunkTimeSummary,
  file = '<chunk>',
  baseOffset = 0,
): void {
  const total = xorNumSamples(bytes, file, baseOffset);
  const n = decodeCore(bytes, total, SCR_T, SCR_H, SCR_L, file, baseOffset);
  const err = decodeError;
  if (err !== null) {
    decodeError = null;
    throw err;
  }
  const ts = SCR_T;
  let disorder = -1;
  for (let i = 1; i < n; i++) {
    if (ts[i]! <= ts[i - 1]!) {
      disorder = i;
      out.disorderT = ts[i]!;
      out.disorderPrevT = ts[i - 1]!;
      break;
    }
  }
  out.samples = n;
  out.first = n > 0 ? ts[0]! : NaN;
  out.last = n > 0 ? ts[n - 1]! : NaN;
  out.disorderAt = disorder;
}

/**
 * Iterates one chunk at a time; reuse one instance across chunks with `reset()`. The chunk is
 * decoded in bulk on reset; a corruption is thrown by the `next()` that reaches it, after the
 * samples before it (as Prometheus' iterator reports its error after the good samples).
 */
export class XorIterator {
  /** Current sample after `next()` returned true. */
  t = 0;
  vHi = 0;
  vLo = 0;
  private ts = new Float64Array(256);
  private his = new Uint32Array(256);
  private los = new Uint32Array(256);
  private idx = -1;
  private decoded = 0;
  private total = 0;
  private err: FormatError | null = null;

  /** Starts iterating `bytes` (an XOR chunk). `baseOffset`: file offset of bytes[0], for errors. */
  reset(bytes: Uint8Array, file = '<chunk>', baseOffset = 0): void {
    this.idx = -1;
    this.decoded = 0;
    this.err = null;
    this.t = 0;
    this.vHi = 0;
    this.vLo = 0;
    if (bytes.length < 2) {
      this.total = 0;
      this.err = new FormatError(
        'ERR_TSDB_TRUNCATED',
        file,
        baseOffset,
        'XOR chunk shorter than its 2-byte header',
      );
      return;
    }
    const total = (bytes[0]! << 8) | bytes[1]!;
    this.total = total;
    if (this.ts.length < total) {
      const cap = Math.min(XOR_MAX_SAMPLES, Math.max(total, this.ts.length * 2));
      this.ts = new Float64Array(cap);
      this.his = new Uint32Array(cap);
      this.los = new Uint32Array(cap);
    }
    this.decoded = decodeCore(bytes, total, this.ts, this.his, this.los, file, baseOffset);
    this.err = decodeError;
    decodeError = null;
  }

  /** The sample count in the chunk header. */
  get numSamples(): number {
    return this.total;
  }

  next(): boolean {
    const i = this.idx + 1;
    if (i < this.decoded) {
      this.idx = i;
      this.t = this.ts[i]!;
      this.vHi = this.his[i]!;
      this.vLo = this.los[i]!;
      return true;
    }
    const err = this.err;
    if (err !== null) {
      this.err = null;
      throw err;
    }
    return false;
  }

  /** Advances to the first sample with timestamp >= t (staying put if already there). */
  seek(t: number): boolean {
    if (this.idx >= 0 && this.idx < this.decoded && this.t >= t) return true;
    while (this.next()) {
      if (this.t >= t) return true;
    }
    return false;
  }

  /** The current value as a number (a NaN payload may not survive: use vHi/vLo for exact bits). */
  value(): number {
    return bitsToFloat(this.vHi, this.vLo);
  }
}

function corrupt(file: string, baseOffset: number, at: number, detail: string): FormatError {
  return new FormatError('ERR_TSDB_CORRUPT', file, baseOffset + at, detail);
}

function truncated(file: string, baseOffset: number, at: number, detail: string): FormatError {
  return new FormatError('ERR_TSDB_TRUNCATED', file, baseOffset + at, detail);
}

// Byte-aligned uvarint reader for the first two samples (Go's binary.ReadUvarint rules): the
// value lands in uvHi/uvLo, the result is the next byte index or -1 with decodeError set.
let uvHi = 0;
let uvLo = 0;
function readUvarint64(b: Uint8Array, p: number, file: string, baseOffset: number): number {
  const start = p;
  let h = 0;
  let l = 0;
  for (let s = 0; s < 70; s += 7) {
    if (p >= b.length) {
      decodeError = truncated(file, baseOffset, start, 'unexpected end of data inside a uvarint');
      return -1;
    }
    const byte = b[p++]!;
    if (s === 63 && byte > 1) break;
    const v = byte & 0x7f;
    if (s < 32) {
      l |= v << s;
      if (s > 25) h |= v >>> (32 - s);
    } else {
      h |= v << (s - 32);
    }
    if (byte < 0x80) {
      uvHi = h >>> 0;
      uvLo = l >>> 0;
      return p;
    }
  }
  decodeError = corrupt(file, baseOffset, start, 'uvarint overflows 64 bits');
  return -1;
}

/** The first timestamp, set by readFirstTime. */
let firstT = NaN;

/** Reads t0 (a zig-zag varint after the header) into firstT; the next byte index, or -1 with decodeError set. */
function readFirstTime(b: Uint8Array, file: string, baseOffset: number): number {
  const p = readUvarint64(b, 2, file, baseOffset);
  if (p < 0) return -1;
  // Zig-zag: t0 = (u >>> 1) ^ -(u & 1).
  const qh = uvHi >>> 1;
  const ql = ((uvLo >>> 1) | (uvHi << 31)) >>> 0;
  let t = qh > 0x1fffff ? NaN : qh * TWO_32 + ql;
  if ((uvLo & 1) !== 0) t = -t - 1;
  if (!(t >= -MAX_SAFE && t <= MAX_SAFE)) {
    decodeError = corrupt(file, baseOffset, 2, 'first timestamp outside ±(2^53−1)');
    return -1;
  }
  firstT = t;
  return p;
}

/**
 * The first sample's timestamp from the chunk's head (header and t0 only, O(1)); FormatError when
 * the chunk holds no sample or its head does not parse.
 */
export function xorFirstTime(bytes: Uint8Array, file = '<chunk>', baseOffset = 0): number {
  if (xorNumSamples(bytes, file, baseOffset) === 0) {
    throw new FormatError('ERR_TSDB_CORRUPT', file, baseOffset, 'XOR chunk with 0 samples');
  }
  if (readFirstTime(bytes, file, baseOffset) < 0) throw decodeError!;
  return firstT;
}

/** Exact int64 (hi, lo) → number, or NaN when outside ±(2^53−1). */
function int64ToNumber(hi: number, lo: number): number {
  hi |= 0;
  lo >>>= 0;
  if (hi > 0x1fffff || hi < -0x200000) return NaN;
  const v = hi * TWO_32 + lo;
  return v > MAX_SAFE || v < -MAX_SAFE ? NaN : v;
}

/**
 * Fills ts/hi/lo with up to `total` samples and returns how many were decoded; on corruption
 * sets `decodeError` and returns the count of good samples before it. Samples 1.. are decoded
 * into the module scratch arrays and copied out (unless ts is the scratch itself).
 */
function decodeCore(
  b: Uint8Array,
  total: number,
  ts: Float64Array,
  hi: Uint32Array,
  lo: Uint32Array,
  file: string,
  baseOffset: number,
): number {
  decodeError = null;
  if (total === 0) return 0;
  const len = b.length;

  // Sample 0: t0 varint, then 64 raw bits; byte-aligned.
  let p = readFirstTime(b, file, baseOffset);
  if (p < 0) return 0;
  const t = firstT;
  if (p + 8 > len) {
    decodeError = truncated(file, baseOffset, p, 'first value needs 8 bytes');
    return 0;
  }
  const vh = (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
  const vl = (b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!;
  p += 8;
  ts[0] = t;
  hi[0] = vh;
  lo[0] = vl;
  if (total === 1) return 1;

  // Sample 1: uint64(t1 − t0) as uvarint, still byte-aligned.
  const dStart = p;
  p = readUvarint64(b, p, file, baseOffset);
  if (p < 0) return 1;
  const tDelta = int64ToNumber(uvHi, uvLo);
  if (!(tDelta >= -MAX_SAFE && tDelta <= MAX_SAFE)) {
    decodeError = corrupt(file, baseOffset, dStart, 'timestamp delta outside ±(2^53−1)');
    return 1;
  }
  // Range checks are only needed per sample when the chunk could leave the safe range.
  const check = !(Math.abs(t) + XOR_MAX_SAMPLES * Math.abs(tDelta) + SMALL_BUCKET_GROWTH <= MAX_SAFE);
  loopCell[0] = tDelta;
  // Bytes past MAX_XOR_BYTES cannot be reached by `total` samples.
  loadWords(b, SCR_W, MAX_XOR_BYTES);
  SCR_T[0] = t;
  const i = decodeLoop(total, len * 8, p * 8, vh, vl, check ? 1 : 0, loopCell);
  if (ts !== SCR_T) {
    // A plain loop: subarray views would allocate three objects per chunk.
    for (let j = 1; j < i; j++) {
      ts[j] = SCR_T[j]!;
      hi[j] = SCR_H[j]!;
      lo[j] = SCR_L[j]!;
    }
  }
  if (i === total) return i;
  const fail = loopFail;
  const at = Math.min(len, loopPos >>> 3);
  const what = `sample ${i + 1} of ${total}`;
  decodeError =
    fail === 1
      ? truncated(file, baseOffset, at, `${what} runs past the end of the chunk (${len} bytes)`)
      : fail === 2
        ? corrupt(file, baseOffset, at, `timestamp or delta of ${what} outside ±(2^53−1)`)
        : corrupt(file, baseOffset, at, `${what}: XOR value window exceeds 64 bits`);
  return i;
}

/** tDelta lives in memory, not in a loop variable: V8 would box a double loop phi. */
const loopCell = new Float64Array(1);
/** Why decodeLoop stopped early (1 truncated, 2 timestamp range, 3 window) and where. */
let loopFail = 0;
let loopPos = 0;

/**
 * Samples 1.. of a chunk from SCR_W, starting at bit `pos` (byte-aligned after the first two
 * headers), into SCR_T/H/L (SCR_T[0] = t0). Every loop variable is an int32 and every helper is
 * inlined by hand, so TurboFan keeps them in registers. Returns the number of samples decoded
 * (including sample 0); < total means loopFail is set.
 */
function decodeLoop(
  total: number,
  limit: number,
  pos: number,
  vh: number,
  vl: number,
  check: number,
  cell: Float64Array,
): number {
  const MAX = 9007199254740991;
  const W = SCR_W;
  const ts = SCR_T;
  const hi = SCR_H;
  const lo = SCR_L;
  // `| 0` types the parameters as int32, so their loop phis stay untagged machine words.
  total |= 0;
  limit |= 0;
  pos |= 0;
  vh |= 0;
  vl |= 0;
  check |= 0;
  let td = cell[0]!;
  let t = ts[0]!;
  // Value window payload split (see XorAppender). Go's decoder starts with L = 0, T = 0.
  let hiCount = 32;
  let hiShift = 0;
  let loCount = 32;
  let loShift = 0;
  let fail = 0;
  let i = 1;
  for (; i < total; i = (i + 1) | 0) {
    let k = pos >>> 5;
    let s = pos & 31;
    let w = (W[k]! << s) | ((W[k + 1]! >>> 1) >>> (31 - s));
    // Valid bits left in w: fields that fit are taken from it without another peek.
    let avail = 32;
    if (i >= 2) {
      if (w >= 0) {
        // '0': dod = 0
        pos = (pos + 1) | 0;
        w <<= 1;
        avail = 31;
      } else {
        const ones = Math.clz32(~w);
        if (ones === 1) {
          const u = (w >>> 16) & 0x3fff;
          td += u > 8192 ? u - 16384 : u;
          pos = (pos + 16) | 0;
          w <<= 16;
          avail = 16;
        } else {
          if (ones === 2) {
            const u = (w >>> 12) & 0x1ffff;
            td += u > 65536 ? u - 131072 : u;
            pos = (pos + 20) | 0;
          } else if (ones === 3) {
            const u = (w >>> 8) & 0xfffff;
            td += u > 524288 ? u - 1048576 : u;
            pos = (pos + 24) | 0;
          } else {
            // '1111' + 64-bit two's complement dod.
            cell[0] = td;
            addDod64(cell, W, (pos + 4) | 0);
            td = cell[0]!;
            pos = (pos + 68) | 0;
            check = 1;
          }
          k = pos >>> 5;
          s = pos & 31;
          w = (W[k]! << s) | ((W[k + 1]! >>> 1) >>> (31 - s));
        }
        if (check !== 0 && !(td >= -MAX && td <= MAX)) {
          fail = pos > limit ? 1 : 2;
          break;
        }
      }
    }
    t += td;
    if (check !== 0 && !(t >= -MAX && t <= MAX)) {
      fail = pos > limit ? 1 : 2;
      break;
    }

    // Value; w holds at least 16 valid bits here.
    if (w >= 0) {
      pos = (pos + 1) | 0;
    } else {
      let ctl = 2;
      if ((w & 0x40000000) !== 0) {
        // '11': new window, 5 bits leading zeros, 6 bits significant bits (0 means 64).
        const L = (w >>> 25) & 31;
        let S = (w >>> 19) & 63;
        if (S === 0) S = 64;
        if (L + S > 64) {
          fail = pos + 13 > limit ? 1 : 3;
          break;
        }
        const T = 64 - L - S;
        if (T >= 32) {
          hiCount = S;
          hiShift = T - 32;
          loCount = 0;
          loShift = 0;
        } else {
          hiCount = 32 - L;
          hiShift = 0;
          loCount = 32 - T;
          loShift = T;
        }
        ctl = 13;
      }
      if (hiCount + ctl <= avail) {
        vh ^= ((w << ctl) >>> (32 - hiCount)) << hiShift;
      } else {
        const p2 = (pos + ctl) | 0;
        k = p2 >>> 5;
        s = p2 & 31;
        w = (W[k]! << s) | ((W[k + 1]! >>> 1) >>> (31 - s));
        vh ^= (w >>> (32 - hiCount)) << hiShift;
      }
      pos = (pos + ctl + hiCount) | 0;
      if (loCount !== 0) {
        k = pos >>> 5;
        s = pos & 31;
        w = (W[k]! << s) | ((W[k + 1]! >>> 1) >>> (31 - s));
        vl ^= (w >>> (32 - loCount)) << loShift;
        pos = (pos + loCount) | 0;
      }
    }
    if (pos > limit) {
      fail = 1;
      break;
    }
    ts[i] = t;
    hi[i] = vh;
    lo[i] = vl;
  }
  loopFail = fail;
  loopPos = pos;
  cell[0] = td;
  return i;
}

/** cell[0] += the 64-bit two's complement dod at bit `pos`, with int64 wrap-around (NaN if unsafe). */
function addDod64(cell: Float64Array, W: Int32Array, pos: number): void {
  const dh = peekBits(W, pos);
  const dl = peekBits(W, pos + 32);
  const tDelta = cell[0]!;
  const th = Math.floor(tDelta / TWO_32);
  const sumLo = tDelta - th * TWO_32 + (dl >>> 0);
  const carry = sumLo >= TWO_32 ? 1 : 0;
  cell[0] = int64ToNumber((th + dh + carry) | 0, sumLo - carry * TWO_32);
}
