/**
 * Bit streams of histogram chunks. The writer mirrors Go's bstream byte for byte, including the
 * empty byte it leaves after a multiple-of-8-bit write that ends on a byte boundary (Go appends a
 * fresh byte per whole byte written). The reader checks every read against the end and reports
 * FormatError ERR_TSDB_TRUNCATED / ERR_TSDB_CORRUPT with the file offset of the byte it was at.
 */
import { FormatError } from '../../util/errors.js';
import { loadWords, peekBits, putBits, storeWords } from './bstream.js';

const TWO_32 = 0x1_0000_0000;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export class HistBitWriter {
  // Room for a chunk at Prometheus' 1 KiB target without growing.
  private W = new Int32Array(512);
  private out = new Uint8Array(2048);
  pos = 0;
  /** The last write was Go's writeByte (a whole-byte write). */
  private tail = false;

  /** Starts over with `headerBytes` zero bytes (not "written", as Go's pre-sized stream). */
  reset(headerBytes: number): void {
    this.W.fill(0, 0, Math.min(this.W.length, (this.pos >>> 5) + 2));
    this.pos = headerBytes * 8;
    this.tail = false;
  }

  /** Writes the low n bits of v (0 <= n <= 32) as one Go writeBits call. */
  write(v: number, n: number): void {
    if (n === 0) return;
    if ((this.pos >>> 5) + 3 >= this.W.length) this.grow();
    this.pos = putBits(this.W, this.pos, n === 32 ? v | 0 : v & ((1 << n) - 1), n);
    this.tail = (n & 7) === 0;
  }

  /** Writes the low n bits (0 <= n <= 64) of (hi, lo) as one Go writeBits call. */
  write64(hi: number, lo: number, n: number): void {
    if (n > 32) {
      this.write(hi, n - 32);
      this.write(lo, 32);
    } else {
      this.write(lo, n);
    }
    this.tail = n > 0 ? (n & 7) === 0 : this.tail;
  }

  get byteLength(): number {
    const p = this.pos;
    return ((p + 7) >>> 3) + (this.tail && (p & 7) === 0 ? 1 : 0);
  }

  /** The stream with bytes 0..2 replaced by `header` fields; a view valid until the next write. */
  bytes(count: number, flags: number): Uint8Array {
    const n = this.byteLength;
    if (this.out.length < n + 4) this.out = new Uint8Array(Math.max(n + 4, this.out.length * 2));
    storeWords(this.W, this.out, 0, n);
    this.out[0] = count >>> 8;
    this.out[1] = count & 0xff;
    this.out[2] = flags;
    return this.out.subarray(0, n);
  }

  private grow(): void {
    const next = new Int32Array(this.W.length * 2);
    next.set(this.W);
    this.W = next;
  }
}

/** Reads a histogram chunk's bits; errors name `file` and `base` + byte index. */
export class HistBitReader {
  private W: Int32Array = new Int32Array(64);
  pos = 0;
  private limit = 0;
  file = '<chunk>';
  base = 0;
  /** 1-based sample being read (0: the layout or first sample) and the chunk's count, for errors. */
  sample = 0;
  total = 0;
  /** 64-bit results of read64 / varbit reads, as uint32 halves. */
  hi = 0;
  lo = 0;

  /** Reads `bytes` (only its first `len` bytes when given) from byte startByte on. */
  reset(bytes: Uint8Array, startByte: number, file: string, base: number, len = bytes.length): void {
    len = Math.min(len, bytes.length);
    this.W = loadWords(bytes, this.W, len);
    this.pos = startByte * 8;
    this.limit = len * 8;
    this.file = file;
    this.base = base;
    this.sample = 0;
  }

  get bitsLeft(): number {
    return this.limit - this.pos;
  }

  truncated(detail: string, at = this.pos): FormatError {
    return new FormatError(
      'ERR_TSDB_TRUNCATED',
      this.file,
      this.base + (Math.min(at, this.limit) >>> 3),
      `truncated histogram chunk: ${detail}`,
    );
  }

  corrupt(detail: string, at = this.pos): FormatError {
    return new FormatError('ERR_TSDB_CORRUPT', this.file, this.base + (at >>> 3), detail);
  }

  /** Consumes the next bit if it is a 0 (a varbit zero, the common bucket delta-of-delta). */
  skipZeroBit(): boolean {
    const p = this.pos;
    if (p >= this.limit || this.W[p >>> 5]! << (p & 31) < 0) return false;
    this.pos = p + 1;
    return true;
  }

  /** n bits (1..32) as uint32. */
  read(n: number, what: string): number {
    const p = this.pos;
    if (p + n > this.limit) throw this.truncated(`${what}: needs ${n} bits, ${this.limit - p} left`);
    this.pos = p + n;
    return peekBits(this.W, p) >>> (32 - n);
  }

  /** n bits (1..64) into hi/lo (right-aligned). */
  read64(n: number, what: string): void {
    if (n > 32) {
      this.hi = this.read(n - 32, what);
      this.lo = this.read(32, what);
    } else {
      this.hi = 0;
      this.lo = this.read(n, what);
    }
  }

  /** Prefix of a varbit number: its payload size in bits (0 for the value 0). */
  private varbitSize(what: string): number {
    const p = this.pos;
    const w = peekBits(this.W, p);
    const ones = Math.min(8, Math.clz32(~w));
    const len = ones < 8 ? ones + 1 : 8;
    if (p + len > this.limit) throw this.truncated(`${what}: varbit prefix runs past the end`);
    this.pos = p + len;
    return VARBIT_SIZES[ones]!;
  }

  /** A varbit-encoded int64 as a safe integer. */
  varbitInt(what: string): number {
    const start = this.pos;
    const sz = this.varbitSize(what);
    if (sz === 0) return 0;
    if (sz <= 32) {
      const u = this.read(sz, what);
      const half = 2 ** (sz - 1);
      return u > half ? u - 2 * half : u;
    }
    this.read64(sz, what);
    let v: number;
    if (sz === 56) {
      const neg = this.hi > 0x800000 || (this.hi === 0x800000 && this.lo > 0);
      v = (neg ? this.hi - 0x1000000 : this.hi) * TWO_32 + this.lo;
    } else {
      v = (this.hi | 0) * TWO_32 + this.lo;
    }
    if (!(v >= -MAX_SAFE && v <= MAX_SAFE)) throw this.corrupt(`${what}: value outside ±(2^53−1)`, start);
    return v;
  }

  /** A varbit-encoded uint64 as a safe integer. */
  varbitUint(what: string): number {
    const start = this.pos;
    const sz = this.varbitSize(what);
    if (sz === 0) return 0;
    if (sz <= 32) return this.read(sz, what);
    this.read64(sz, what);
    const v = this.hi * TWO_32 + this.lo;
    if (!(v <= MAX_SAFE)) throw this.corrupt(`${what}: value above 2^53−1`, start);
    return v;
  }
}

/** Payload bits by number of leading 1s in the prefix ('0', '10', ..., '11111110', '11111111'). */
const VARBIT_SIZES = [0, 3, 6, 9, 12, 18, 25, 56, 64];

/** Go's putVarbitInt for a safe integer. */
export function putVarbitInt(w: HistBitWriter, v: number): void {
  if (v === 0) {
    w.write(0, 1);
  } else if (v >= -3 && v <= 4) {
    w.write(0b10, 2);
    w.write(v, 3);
  } else if (v >= -31 && v <= 32) {
    w.write(0b110, 3);
    w.write(v, 6);
  } else if (v >= -255 && v <= 256) {
    w.write(0b1110, 4);
    w.write(v, 9);
  } else if (v >= -2047 && v <= 2048) {
    w.write(0b11110, 5);
    w.write(v, 12);
  } else if (v >= -131071 && v <= 131072) {
    w.write(0b111110, 6);
    w.write(v, 18);
  } else if (v >= -16777215 && v <= 16777216) {
    w.write(0b1111110, 7);
    w.write(v, 25);
  } else {
    // Every safe integer fits the 56-bit form.
    w.write(0b11111110, 8);
    const h = Math.floor(v / TWO_32);
    w.write64(h & 0xffffff, v - h * TWO_32, 56);
  }
}

/** Go's putVarbitUint for a safe non-negative integer. */
export function putVarbitUint(w: HistBitWriter, v: number): void {
  if (v === 0) {
    w.write(0, 1);
  } else if (v <= 7) {
    w.write(0b10, 2);
    w.write(v, 3);
  } else if (v <= 63) {
    w.write(0b110, 3);
    w.write(v, 6);
  } else if (v <= 511) {
    w.write(0b1110, 4);
    w.write(v, 9);
  } else if (v <= 4095) {
    w.write(0b11110, 5);
    w.write(v, 12);
  } else if (v <= 262143) {
    w.write(0b111110, 6);
    w.write(v, 18);
  } else if (v <= 33554431) {
    w.write(0b1111110, 7);
    w.write(v, 25);
  } else {
    w.write(0b11111110, 8);
    const h = Math.floor(v / TWO_32);
    w.write64(h, v - h * TWO_32, 56);
  }
}
