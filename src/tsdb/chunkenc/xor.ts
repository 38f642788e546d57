/**
 * XOR chunks (encoding 1), bit-exact with Prometheus tsdb/chunkenc/xor.go.
 *
 * Layout: uint16 BE sample count; t0 varint + 64 value bits; t1−t0 uvarint + value; then per sample
 * a delta-of-delta bucket and a value. Values are XORed with the previous value and written as the
 * significant bits inside a (leading, trailing) zero window.
 *
 * Values travel as two uint32 halves (hi = sign/exponent word) so NaN payloads, the stale marker
 * and -0 survive decode→encode exactly; a JS number NaN may lose its payload.
 *
 * Timestamps are JS numbers. Every timestamp and every timestamp delta must be an integer within
 * ±(2^53−1): the encoder throws InvalidArgumentError otherwise, the decoder FormatError
 * (ERR_TSDB_CORRUPT). Delta-of-deltas may be larger (a 64-bit bucket payload is exact).
 */
import { FormatError, InvalidArgumentError } from '../../util/errors.js';
import { BitWriter, loadWords } from './bstream.js';
import { bitsToFloat, floatHi, lastLo } from './float-bits.js';

/** The sample count is a uint16. */
export const XOR_MAX_SAMPLES = 65535;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const TWO_32 = 0x1_0000_0000;
/** Window "unset": the first non-zero XOR always opens a new window. */
const NO_WINDOW = 0xff;

/**
 * Builds one XOR chunk. Reuse with `reset()`; `bytes()` is a view valid until the next append or
 * reset (copy it to keep it).
 */
export class XorAppender {
  private readonly w: BitWriter;
  private n = 0;
  private t = 0;
  private tDelta = 0;
  /** Previous value bits, as int32. */
  private pHi = 0;
  private pLo = 0;
  private lead = NO_WINDOW;
  private trail = 0;
  // Payload split of the current window (see windowSplit in the decoder).
  private hiCount = 0;
  private hiShift = 0;
  private loCount = 0;
  private loShift = 0;
  /** Go's bstream keeps an extra zero byte after a stream that ends with whole-byte writes. */
  private tail = false;

  constructor(initialCapacity = 256) {
    this.w = new BitWriter(initialCapacity);
    this.w.reset(2);
  }

  reset(): void {
    this.w.reset(2);
    this.n = 0;
    this.t = 0;
    this.tDelta = 0;
    this.pHi = 0;
    this.pLo = 0;
    this.lead = NO_WINDOW;
    this.trail = 0;
    this.tail = false;
  }

  get numSamples(): number {
    return this.n;
  }

  /** Timestamp of the last appended sample (0 when empty). */
  get lastT(): number {
    return this.t;
  }

  /** Appends (t, v). Prefer `appendBits` when v may be a NaN whose payload matters. */
  append(t: number, v: number): void {
    const hi = floatHi(v);
    this.appendBits(t, hi, lastLo());
  }

  /** Appends a sample whose value is given as the hi/lo uint32 halves of its IEEE-754 bits. */
  appendBits(t: number, vHi: number, vLo: number): void {
    const n = this.n;
    if (n >= XOR_MAX_SAMPLES) {
      throw new InvalidArgumentError(`XOR chunk is full: at most ${XOR_MAX_SAMPLES} samples`);
    }
    if (!Number.isSafeInteger(t)) {
      throw new InvalidArgumentError(`timestamp ${t} is not an integer within ±(2^53−1)`);
    }
    const w = this.w;
    vHi |= 0;
    vLo |= 0;
    if (n === 0) {
      writeVarint(w, t);
      w.writeBits(vHi >>> 0, 32);
      w.writeBits(vLo >>> 0, 32);
      this.tail = true;
    } else {
      const d = t - this.t;
      if (d > MAX_SAFE || d < -MAX_SAFE) {
        throw new InvalidArgumentError(`timestamp delta ${t} − ${this.t} exceeds ±(2^53−1)`);
      }
      if (n === 1) {
        // Go writes uint64(t1−t0): a negative delta becomes a 10-byte uvarint.
        const h = Math.floor(d / TWO_32);
        writeUvarint64(w, h | 0, d - h * TWO_32);
      } else {
        // d and tDelta are exact, so this rounded dod is exact wherever a small bucket can apply.
        const dod = d - this.tDelta;
        if (dod === 0) {
          w.writeBits(0, 1);
        } else if (dod >= -8191 && dod <= 8192) {
          w.writeBits((0b10 << 14) | (dod & 0x3fff), 16);
        } else if (dod >= -65535 && dod <= 65536) {
          w.writeBits((0b110 << 17) | (dod & 0x1ffff), 20);
        } else if (dod >= -524287 && dod <= 524288) {
          w.writeBits((0b1110 << 20) | (dod & 0xfffff), 24);
        } else {
          w.writeBits(0b1111, 4);
          writeDod64(w, d, this.tDelta);
        }
      }
      this.tDelta = d;
      this.writeValue(vHi, vLo);
    }
    this.t = t;
    this.pHi = vHi;
    this.pLo = vLo;
    this.n = n + 1;
  }

  private writeValue(vHi: number, vLo: number): void {
    const w = this.w;
    const xHi = vHi ^ this.pHi;
    const xLo = vLo ^ this.pLo;
    if ((xHi | xLo) === 0) {
      w.writeBits(0, 1);
      this.tail = false;
      return;
    }
    let lead = xHi !== 0 ? Math.clz32(xHi) : 32 + Math.clz32(xLo);
    if (lead > 31) lead = 31; // 5-bit field
    const trail = xLo !== 0 ? 31 - Math.clz32(xLo & -xLo) : 63 - Math.clz32(xHi & -xHi);
    if (this.lead !== NO_WINDOW && lead >= this.lead && trail >= this.trail) {
      w.writeBits(0b10, 2);
    } else {
      this.lead = lead;
      this.trail = trail;
      const sig = 64 - lead - trail;
      // 64 significant bits do not fit in 6 bits: written as 0.
      w.writeBits((0b11 << 11) | (lead << 6) | (sig & 63), 13);
      if (trail >= 32) {
        this.hiCount = sig;
        this.hiShift = trail - 32;
        this.loCount = 0;
        this.loShift = 0;
      } else {
        this.hiCount = 32 - lead;
        this.hiShift = 0;
        this.loCount = 32 - trail;
        this.loShift = trail;
      }
    }
    const hiCount = this.hiCount;
    const loCount = this.loCount;
    w.writeBits(xHi >>> this.hiShift, hiCount);
    if (loCount !== 0) w.writeBits(xLo >>> this.loShift, loCount);
    this.tail = ((hiCount + loCount) & 7) === 0;
  }

  /** The chunk bytes (count header included). A view: valid until the next append or reset. */
  bytes(): Uint8Array {
    const w = this.w;
    w.setByte(0, this.n >>> 8);
    w.setByte(1, this.n & 0xff);
    return w.view(this.tail);
  }
}

/** Zig-zag varint of a safe integer, exact over the whole range (2|t| may exceed 2^53). */
function writeVarint(w: BitWriter, t: number): void {
  const h = Math.floor(t / TWO_32);
  const hi = h | 0;
  const lo = (t - h * TWO_32) | 0;
  const sign = hi >> 31;
  writeUvarint64(w, ((hi << 1) | (lo >>> 31)) ^ sign, (lo << 1) ^ sign);
}

function writeUvarint64(w: BitWriter, hi: number, lo: number): void {
  let h = hi >>> 0;
  let l = lo >>> 0;
  while (h !== 0 || l >= 0x80) {
    w.writeBits((l & 0x7f) | 0x80, 8);
    l = ((l >>> 7) | (h << 25)) >>> 0;
    h >>>= 7;
  }
  w.writeBits(l, 8);
}

/** Writes the 64-bit two's complement of d − prev (both safe integers) exactly. */
function writeDod64(w: BitWriter, d: number, prev: number): void {
  const dh = Math.floor(d / TWO_32);
  const ph = Math.floor(prev / TWO_32);
  let lo = d - dh * TWO_32 - (prev - ph * TWO_32);
  let hi = dh - ph;
  if (lo < 0) {
    lo += TWO_32;
    hi -= 1;
  }
  w.writeBits(hi >>> 0, 32);
  w.writeBits(lo >>> 0, 32);
}

/** Sample count from a chunk's header. */
export function xorNumSamples(bytes: Uint8Array, file = '<chunk>', baseOffset = 0): number {
  if (bytes.length < 2) {
    throw new FormatError('ERR_TSDB_TRUNCATED', file, baseOffset, 'XOR chunk shorter than its 2-byte header');
  }
  return (bytes[0]! << 8) | bytes[1]!;
}

let scratchWords: Int32Array = new Int32Array(1024);
/** Set by decodeCore when it stops early; null after a complete decode. */
let decodeError: FormatError | null = null;

/**
 * Decodes all samples of an XOR chunk into the arrays, which must hold at least
 * `xorNumSamples(bytes)` entries. Returns the sample count. Corrupt or truncated input raises
 * FormatError naming `file` and `baseOffset` + the byte index in `bytes` (pass the file offset of
 * the chunk data as baseOffset).
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
  scratchWords = loadWords(bytes, scratchWords);
  const n = decodeCore(bytes, scratchWords, total, ts, hi, lo, file, baseOffset);
  const err = decodeError;
  if (err !== null) {
    decodeError = null;
    throw err;
  }
  return n;
}

/**
 * Iterates one chunk at a time; reuse one instance across chunks with `reset()`. The chunk is
 * decoded in bulk on reset; a corruption is thrown by the `next()` that reaches it, after the
 * samples before it (as Prometheus' iterator does).
 */
export class XorIterator {
  /** Current sample after `next()` returned true. */
  t = 0;
  vHi = 0;
  vLo = 0;
  private ts = new Float64Array(256);
  private his = new Uint32Array(256);
  private los = new Uint32Array(256);
  private words: Int32Array = new Int32Array(256);
  private idx = -1;
  private decoded = 0;
  private total = 0;
  private err: FormatError | null = null;

  /** Starts iterating `bytes` (an XOR chunk). `baseOffset`: file offset of bytes[0], for errors. */
  reset(bytes: Uint8Array, file = '<chunk>', baseOffset = 0): void {
    this.idx = -1;
    this.decoded = 0;
    this.err = null;
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
    this.words = loadWords(bytes, this.words);
    this.decoded = decodeCore(bytes, this.words, total, this.ts, this.his, this.los, file, baseOffset);
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

  /** Advances to the first sample with timestamp >= t; false when there is none. */
  seek(t: number): boolean {
    if (this.idx >= 0 && this.t >= t) return true;
    while (this.next()) {
      if (this.t >= t) return true;
    }
    return false;
  }

  /** The current value as a number (NaN payloads may not survive: use vHi/vLo for exact bits). */
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

// Byte-aligned uvarint reader for the first two samples; result in uvHi/uvLo, returns next index.
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
    const v = byte & 0x7f;
    if (s === 63 && byte > 1) {
      decodeError = corrupt(file, baseOffset, start, 'uvarint overflows 64 bits');
      return -1;
    }
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

/** Exact int64 (hi, lo) → number, or NaN when outside ±(2^53−1). */
function int64ToNumber(hi: number, lo: number): number {
  hi |= 0;
  lo >>>= 0;
  if (hi > 0x1fffff || hi < -0x200000) return NaN;
  const v = hi * TWO_32 + lo;
  return v > MAX_SAFE || v < -MAX_SAFE ? NaN : v;
}

/**
 * The decoder. Fills ts/hi/lo with up to `total` samples and returns how many were decoded; on
 * corruption sets `decodeError` and returns the count of good samples before it. `W` holds the
 * bytes as big-endian words (loadWords). Per sample: no allocation, no calls but Math.clz32.
 */
function decodeCore(
  b: Uint8Array,
  W: Int32Array,
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
  let p = readUvarint64(b, 2, file, baseOffset);
  if (p < 0) return 0;
  // Zig-zag decode: t0 = (u >>> 1) ^ -(u & 1).
  const neg = uvLo & 1;
  const qh = uvHi >>> 1;
  const ql = ((uvLo >>> 1) | (uvHi << 31)) >>> 0;
  let t = qh > 0x1fffff ? NaN : qh * TWO_32 + ql;
  if (neg !== 0) t = -t - 1;
  if (!(t >= -MAX_SAFE && t <= MAX_SAFE)) {
    decodeError = corrupt(file, baseOffset, 2, 'first timestamp outside ±(2^53−1)');
    return 0;
  }
  if (p + 8 > len) {
    decodeError = truncated(file, baseOffset, p, 'first value needs 8 bytes');
    return 0;
  }
  let vh = (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
  let vl = (b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!;
  p += 8;
  ts[0] = t;
  hi[0] = vh;
  lo[0] = vl;
  if (total === 1) return 1;

  // Sample 1: uint64(t1−t0) uvarint, still byte-aligned.
  const dStart = p;
  p = readUvarint64(b, p, file, baseOffset);
  if (p < 0) return 1;
  let tDelta = int64ToNumber(uvHi, uvLo);
  if (!(tDelta >= -MAX_SAFE && tDelta <= MAX_SAFE)) {
    decodeError = corrupt(file, baseOffset, dStart, 'timestamp or delta outside ±(2^53−1)');
    return 1;
  }

  const limit = len * 8;
  let pos = p * 8;
  // Value window payload split: the significant field spans bit L..63−T of the 64-bit XOR, and
  // L <= 31, so it starts in the high word: hiCount bits land in hi at hiShift, loCount in lo.
  // Decoder's initial window is L = 0, T = 0.
  let hiCount = 32;
  let hiShift = 0;
  let loCount = 32;
  let loShift = 0;
  // Why the loop stopped early: 0 = it did not, 1 = truncated, 2 = timestamp range, 3 = window.
  let fail = 0;
  let start = pos;
  let i = 1;
  for (; i < total; i++) {
    start = pos;
    let k = pos >>> 5;
    let s = pos & 31;
    let w = (W[k]! << s) | ((W[k + 1]! >>> 1) >>> (31 - s));
    if (i >= 2) {
      if (w >= 0) {
        // '0': dod = 0
        pos += 1;
        w <<= 1;
      } else {
        const ones = Math.clz32(~w);
        if (ones === 1) {
          const u = (w >>> 16) & 0x3fff;
          tDelta += u > 8192 ? u - 16384 : u;
          pos += 16;
        } else if (ones === 2) {
          const u = (w >>> 12) & 0x1ffff;
          tDelta += u > 65536 ? u - 131072 : u;
          pos += 20;
        } else if (ones === 3) {
          const u = (w >>> 8) & 0xfffff;
          tDelta += u > 524288 ? u - 1048576 : u;
          pos += 24;
        } else {
          // '1111' + 64-bit two's complement dod, added to tDelta with int64 wrap-around.
          pos += 4;
          k = pos >>> 5;
          s = pos & 31;
          const dh = (W[k]! << s) | ((W[k + 1]! >>> 1) >>> (31 - s));
          pos += 32;
          k = pos >>> 5;
          s = pos & 31;
          const dl = (W[k]! << s) | ((W[k + 1]! >>> 1) >>> (31 - s));
          pos += 32;
          const th = Math.floor(tDelta / TWO_32);
          const sumLo = tDelta - th * TWO_32 + (dl >>> 0);
          const carry = sumLo >= TWO_32 ? 1 : 0;
          tDelta = int64ToNumber((th + dh + carry) | 0, sumLo - carry * TWO_32);
        }
        if (!(tDelta >= -MAX_SAFE && tDelta <= MAX_SAFE)) {
          fail = pos > limit ? 1 : 2;
          break;
        }
        k = pos >>> 5;
        s = pos & 31;
        w = (W[k]! << s) | ((W[k + 1]! >>> 1) >>> (31 - s));
      }
    }
    t += tDelta;
    if (!(t >= -MAX_SAFE && t <= MAX_SAFE)) {
      fail = pos > limit ? 1 : 2;
      break;
    }

    // Value.
    if (w >= 0) {
      pos += 1;
    } else {
      if ((w & 0x40000000) !== 0) {
        // '11': new window, 5 bits leading zeros, 6 bits significant bits (0 = 64).
        const L = (w >>> 25) & 31;
        let S = (w >>> 19) & 63;
        if (S === 0) S = 64;
        pos += 13;
        if (L + S > 64) {
          fail = pos > limit ? 1 : 3;
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
      } else {
        pos += 2;
      }
      k = pos >>> 5;
      s = pos & 31;
      w = (W[k]! << s) | ((W[k + 1]! >>> 1) >>> (31 - s));
      vh ^= (w >>> (32 - hiCount)) << hiShift;
      pos += hiCount;
      if (loCount !== 0) {
        k = pos >>> 5;
        s = pos & 31;
        w = (W[k]! << s) | ((W[k + 1]! >>> 1) >>> (31 - s));
        vl ^= (w >>> (32 - loCount)) << loShift;
        pos += loCount;
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
  if (fail !== 0) {
    const at = start >>> 3;
    const what = `sample ${i + 1} of ${total}`;
    decodeError =
      fail === 1
        ? truncated(file, baseOffset, at, `${what} runs past the end of the chunk (${len} bytes)`)
        : fail === 2
          ? corrupt(file, baseOffset, at, `timestamp or delta of ${what} outside ±(2^53−1)`)
          : corrupt(file, baseOffset, at, `${what}: XOR value window exceeds 64 bits`);
  }
  return i;
}
