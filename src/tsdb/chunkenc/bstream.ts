/**
 * Bit streams as Prometheus' bstream lays them out: bits fill each byte from the MSB down and
 * multi-bit fields are written MSB first.
 *
 * Writer: a 32-bit accumulator flushed to the byte buffer a word at a time.
 * Reader: the bytes are first converted to big-endian 32-bit words (plus zero padding) so that any
 * 32-bit window is two loads and a few shifts, with no per-read bounds branches; callers bound the
 * position against `bitLength` once per logical record instead.
 */
import { FormatError } from '../../util/errors.js';

/** Zero words after the data, so a window peeked at any position <= bitLength + PAD_BITS is defined. */
export const READ_PAD_WORDS = 8;

/**
 * Fills `words` (from index 0) with the bytes of `src` as big-endian words followed by
 * READ_PAD_WORDS zero words; returns `words` or a larger replacement when it is too small.
 */
export function loadWords(src: Uint8Array, words: Int32Array): Int32Array {
  const len = src.length;
  const full = len >>> 2;
  const need = full + 1 + READ_PAD_WORDS;
  if (words.length < need) words = new Int32Array(Math.max(need, words.length * 2));
  let p = 0;
  for (let k = 0; k < full; k++, p += 4) {
    words[k] = (src[p]! << 24) | (src[p + 1]! << 16) | (src[p + 2]! << 8) | src[p + 3]!;
  }
  let last = 0;
  const rem = len - p;
  if (rem > 0) last |= src[p]! << 24;
  if (rem > 1) last |= src[p + 1]! << 16;
  if (rem > 2) last |= src[p + 2]! << 8;
  words[full] = last;
  words.fill(0, full + 1, need);
  return words;
}

/** Appends bits MSB first. `view()` hands out the bytes written so far without copying. */
export class BitWriter {
  private buf: Uint8Array;
  /** Whole bytes committed to `buf`. */
  private byteLen = 0;
  /** Pending bits, left-aligned in a 32-bit word. */
  private acc = 0;
  /** Number of pending bits in `acc`, 0..31. */
  private nacc = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
  }

  /** Starts over with `headerBytes` zero bytes already written. */
  reset(headerBytes = 0): void {
    this.ensure(headerBytes + 8);
    this.buf.fill(0, 0, headerBytes);
    this.byteLen = headerBytes;
    this.acc = 0;
    this.nacc = 0;
  }

  /** Number of bits written. */
  get bitLength(): number {
    return this.byteLen * 8 + this.nacc;
  }

  /** Writes the low `n` bits of `v`, 1 <= n <= 32; `v` must be < 2^n (no masking on this path). */
  writeBits(v: number, n: number): void {
    const free = 32 - this.nacc;
    if (n < free) {
      this.acc |= v << (free - n);
      this.nacc += n;
      return;
    }
    const rest = n - free;
    const word = this.acc | (v >>> rest);
    let p = this.byteLen;
    if (p + 8 > this.buf.length) this.grow(p + 8);
    const b = this.buf;
    b[p++] = word >>> 24;
    b[p++] = word >>> 16;
    b[p++] = word >>> 8;
    b[p++] = word;
    this.byteLen = p;
    // A shift by 32 is a shift by 0 in JS, hence the guard.
    this.acc = rest === 0 ? 0 : v << (32 - rest);
    this.nacc = rest;
  }

  writeBit(bit: boolean): void {
    this.writeBits(bit ? 1 : 0, 1);
  }

  /** Writes the low `n` bits (1 <= n <= 64) of the 64-bit value (hi, lo), masking as needed. */
  writeBits64(hi: number, lo: number, n: number): void {
    if (n > 32) {
      const h = n - 32;
      this.writeBits(h === 32 ? hi >>> 0 : (hi & ((1 << h) - 1)) >>> 0, h);
      this.writeBits(lo >>> 0, 32);
    } else {
      this.writeBits(n === 32 ? lo >>> 0 : (lo & ((1 << n) - 1)) >>> 0, n);
    }
  }

  writeByte(byte: number): void {
    this.writeBits(byte & 0xff, 8);
  }

  /** Overwrites a committed byte (headers such as a sample count). */
  setByte(at: number, byte: number): void {
    this.buf[at] = byte;
  }

  /**
   * The written bytes, the last one zero-padded. With `extraZeroByte` one more zero byte follows
   * when the stream ends on a byte boundary (Go's bstream leaves one after a whole-byte write).
   * Valid until the next write or reset.
   */
  view(extraZeroByte = false): Uint8Array {
    let p = this.byteLen;
    if (p + 8 > this.buf.length) this.grow(p + 8);
    const b = this.buf;
    const n = this.nacc;
    const acc = this.acc;
    if (n > 0) b[p++] = acc >>> 24;
    if (n > 8) b[p++] = acc >>> 16;
    if (n > 16) b[p++] = acc >>> 8;
    if (n > 24) b[p++] = acc;
    if (extraZeroByte && (n & 7) === 0) b[p++] = 0;
    return b.subarray(0, p);
  }

  private ensure(n: number): void {
    if (n > this.buf.length) this.grow(n);
  }

  private grow(need: number): void {
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.byteLen));
    this.buf = next;
  }
}

/**
 * Reads bits MSB first from a byte view. Reading past the end raises FormatError
 * (ERR_TSDB_TRUNCATED) naming `file` and the byte offset `baseOffset + byte index`.
 */
export class BitReader {
  private words: Int32Array = new Int32Array(64);
  private pos = 0;
  private limit = 0;
  private file = '<bits>';
  private baseOffset = 0;

  /** Reads `bytes` from `startByte`. `baseOffset` is the file offset of bytes[0]. */
  reset(bytes: Uint8Array, startByte = 0, file = '<bits>', baseOffset = 0): void {
    this.words = loadWords(bytes, this.words);
    this.pos = startByte * 8;
    this.limit = bytes.length * 8;
    this.file = file;
    this.baseOffset = baseOffset;
  }

  /** Bit position from the start of the bytes. */
  get bitPos(): number {
    return this.pos;
  }

  get bitsLeft(): number {
    return this.limit - this.pos;
  }

  /** Reads `n` bits (1 <= n <= 32) as a uint32. */
  readBits(n: number): number {
    const pos = this.pos;
    if (pos + n > this.limit) {
      throw new FormatError(
        'ERR_TSDB_TRUNCATED',
        this.file,
        this.baseOffset + (pos >>> 3),
        `need ${n} bits, ${this.limit - pos} left`,
      );
    }
    const W = this.words;
    const k = pos >>> 5;
    const s = pos & 31;
    const w = (W[k]! << s) | ((W[k + 1]! >>> 1) >>> (31 - s));
    this.pos = pos + n;
    return w >>> (32 - n);
  }

  readBit(): boolean {
    return this.readBits(1) === 1;
  }
}
