/**
 * Bit streams as Prometheus' bstream lays them out: bits fill each byte from the MSB down and
 * multi-bit fields are written MSB first.
 *
 * Both directions work on an Int32Array of big-endian words (bit 0 of the stream is the MSB of
 * word 0): any 32-bit field is then two word accesses and a few shifts, with no per-bit branches.
 * `peekBits` / `putBits` are the primitives the XOR codec inlines into its loops; BitReader and
 * BitWriter wrap them with bounds checks for general use.
 */
import { FormatError } from '../../util/errors.js';

/** Zero words kept after the data so any peek up to PAD_BITS past the end reads zeros. */
export const READ_PAD_WORDS = 8;

const VIEWS = 4;
const dvBuffers: (ArrayBufferLike | undefined)[] = new Array<ArrayBufferLike | undefined>(VIEWS).fill(
  undefined,
);
const dvs: DataView<ArrayBufferLike>[] = [];
let dvNext = 0;

/**
 * A DataView over `buf`, cached for the last few buffers: chunks that are views into one buffer
 * (a reader's read-ahead; a compaction alternates between its inputs') then do not allocate.
 */
function viewOf(buf: ArrayBufferLike): DataView<ArrayBufferLike> {
  for (let i = 0; i < VIEWS; i++) if (dvBuffers[i] === buf) return dvs[i]!;
  const i = dvNext;
  dvNext = (i + 1) % VIEWS;
  dvBuffers[i] = buf;
  return (dvs[i] = new DataView(buf));
}

/**
 * Fills `words` (from index 0) with the first `len` bytes of `src` as big-endian words followed
 * by READ_PAD_WORDS zero words; returns `words` or a larger replacement when it is too small.
 */
export function loadWords(src: Uint8Array, words: Int32Array, len: number = src.length): Int32Array {
  len = Math.min(len, src.length);
  const full = len >>> 2;
  const need = full + 1 + READ_PAD_WORDS;
  if (words.length < need) words = new Int32Array(Math.max(need, words.length * 2));
  const view = viewOf(src.buffer);
  let q = src.byteOffset;
  let k = 0;
  // Unrolled: V8 re-checks both arrays on every loop iteration, not on every access.
  for (; k + 4 <= full; k += 4, q += 16) {
    const a = view.getInt32(q);
    const b = view.getInt32(q + 4);
    const c = view.getInt32(q + 8);
    const d = view.getInt32(q + 12);
    words[k] = a;
    words[k + 1] = b;
    words[k + 2] = c;
    words[k + 3] = d;
  }
  for (; k < full; k++, q += 4) words[k] = view.getInt32(q);
  const p = full * 4;
  let last = 0;
  const rem = len - p;
  if (rem > 0) last |= src[p]! << 24;
  if (rem > 1) last |= src[p + 1]! << 16;
  if (rem > 2) last |= src[p + 2]! << 8;
  words[full] = last;
  for (let k = full + 1; k < need; k++) words[k] = 0;
  return words;
}

/**
 * Writes the first `nbytes` bytes of the word stream into `dst` starting at its index `fromByte`
 * (which must be a multiple of 4). `dst` must hold `nbytes` bytes.
 */
export function storeWords(words: Int32Array, dst: Uint8Array, fromByte: number, nbytes: number): void {
  const view = viewOf(dst.buffer);
  const full = nbytes >>> 2;
  let k = fromByte >>> 2;
  let q = dst.byteOffset + 4 * k;
  for (; k + 4 <= full; k += 4, q += 16) {
    const a = words[k]!;
    const b = words[k + 1]!;
    const c = words[k + 2]!;
    const d = words[k + 3]!;
    view.setInt32(q, a);
    view.setInt32(q + 4, b);
    view.setInt32(q + 8, c);
    view.setInt32(q + 12, d);
  }
  for (; k < full; k++, q += 4) view.setInt32(q, words[k]!);
  const p = full * 4;
  const rem = nbytes - p;
  if (rem > 0) {
    const w = words[full]!;
    dst[p] = w >>> 24;
    if (rem > 1) dst[p + 1] = w >>> 16;
    if (rem > 2) dst[p + 2] = w >>> 8;
  }
}

/** The 32 bits starting at bit `pos` (the caller guarantees words[pos >>> 5 + 1] exists). */
export function peekBits(W: Int32Array, pos: number): number {
  const k = pos >>> 5;
  const s = pos & 31;
  // `>>> 1 >>> (31 - s)` rather than `>>> (32 - s)`: a JS shift by 32 is a shift by 0.
  return (W[k]! << s) | ((W[k + 1]! >>> 1) >>> (31 - s));
}

/**
 * Writes the low `nb` bits of `v` (1 <= nb <= 32, v < 2^nb) at bit `pos` and returns pos + nb.
 * Bits after `pos` in its word must be zero; the following word is overwritten whole, so the
 * stream stays zero past its end. `W` must hold word (pos >>> 5) + 1.
 */
export function putBits(W: Int32Array, pos: number, v: number, nb: number): number {
  const a = v << (32 - nb);
  const k = pos >>> 5;
  const s = pos & 31;
  W[k]! |= a >>> s;
  W[k + 1] = (a << 1) << (31 - s);
  return pos + nb;
}

/** Appends bits MSB first into a growable word buffer. */
export class BitWriter {
  private words: Int32Array;
  private pos = 0;
  private out: Uint8Array;

  constructor(initialBytes = 256) {
    this.words = new Int32Array(Math.max(4, (initialBytes + 3) >>> 2) + 2);
    this.out = new Uint8Array(this.words.length * 4);
  }

  /** Starts over with `headerBytes` zero bytes already written. */
  reset(headerBytes = 0): void {
    this.pos = 0;
    this.words[0] = 0;
    for (let i = 0; i < headerBytes; i++) this.writeBits(0, 8);
  }

  /** Number of bits written. */
  get bitLength(): number {
    return this.pos;
  }

  /** Writes the low `n` bits of `v`, 1 <= n <= 32 (masked). */
  writeBits(v: number, n: number): void {
    if ((this.pos >>> 5) + 2 >= this.words.length) this.grow();
    this.pos = putBits(this.words, this.pos, n === 32 ? v | 0 : v & ((1 << n) - 1), n);
  }

  writeBit(bit: boolean): void {
    this.writeBits(bit ? 1 : 0, 1);
  }

  /** Writes the low `n` bits (1 <= n <= 64) of the 64-bit value (hi, lo). */
  writeBits64(hi: number, lo: number, n: number): void {
    if (n > 32) {
      this.writeBits(hi, n - 32);
      this.writeBits(lo, 32);
    } else {
      this.writeBits(lo, n);
    }
  }

  /** The written bytes, the last one zero-padded. Valid until the next write or reset. */
  view(): Uint8Array {
    const nbytes = (this.pos + 7) >>> 3;
    if (this.out.length < nbytes) this.out = new Uint8Array(this.words.length * 4);
    storeWords(this.words, this.out, 0, nbytes);
    return this.out.subarray(0, nbytes);
  }

  private grow(): void {
    const next = new Int32Array(this.words.length * 2);
    next.set(this.words);
    this.words = next;
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
    this.pos = pos + n;
    return peekBits(this.words, pos) >>> (32 - n);
  }

  readBit(): boolean {
    return this.readBits(1) === 1;
  }
}
