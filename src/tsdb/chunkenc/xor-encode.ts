/**
 * XOR chunk encoder (encoding 1), bit-exact with Prometheus tsdb/chunkenc/xor.go, including the
 * empty trailing byte Go's bstream leaves when a chunk ends with a whole-byte write (every
 * one-sample chunk, and chunks whose last value payload is a multiple of 8 bits on a byte boundary).
 */
import { InvalidArgumentError } from '../../util/errors.js';
import { putBits } from './bstream.js';
import { floatHi, lastLo } from './float-bits.js';

/** The sample count is a uint16. */
export const XOR_MAX_SAMPLES = 65535;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const TWO_32 = 0x1_0000_0000;
/** Batch size of append/appendBits. */
const PENDING = 128;
/**
 * An upper bound of the bytes a chunk of XOR_MAX_SAMPLES samples can use: header, two varints,
 * and at most 145 bits per sample ('1111' + 64 dod bits + '11' + 5 + 6 + 64 value bits).
 */
export const MAX_XOR_BYTES = 2 + 10 + 10 + Math.ceil((XOR_MAX_SAMPLES * 145) / 8) + 8;
/**
 * Scratch stream of the encoding loop, a module constant so TurboFan knows its map and length.
 * Large typed arrays are calloc'ed: pages never touched cost no memory.
 */
const ENC_W = new Int32Array((MAX_XOR_BYTES >>> 2) + 4);
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

function bswap(v: number): number {
  return (v << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}
/** Window "unset": the first non-zero XOR always opens a new window. */
const NO_WINDOW = 0xff;

/**
 * Builds one XOR chunk; reuse with `reset()`. `bytes()` is a view valid until the next append or
 * reset. Timestamps must be integers within ±(2^53−1), and so must each difference between
 * consecutive timestamps; otherwise append throws InvalidArgumentError and appends nothing.
 */
export class XorAppender {
  /**
   * The finished part of the stream, stored so that its memory holds the bytes in stream order
   * (words byte-swapped on little-endian machines): bytes() is then a view, not a copy. The
   * first two bytes are the sample count, written by bytes().
   */
  private W: Int32Array;
  /** Byte view of W's buffer. */
  private W8: Uint8Array;
  private pos = 16;
  private n = 0;
  /** Previous value bits, as int32. */
  private pHi = 0;
  private pLo = 0;
  private lead = NO_WINDOW;
  private trail = 0;
  /** Go's bstream keeps an extra zero byte after a stream that ends with whole-byte writes. */
  private tail = false;
  /** [t, tDelta] of the last encoded sample (doubles kept in memory for the loop, see loop()). */
  private readonly tf = new Float64Array(2);
  // Samples appended one by one, not encoded yet.
  private readonly pendT = new Float64Array(PENDING);
  private readonly pendHi = new Uint32Array(PENDING);
  private readonly pendLo = new Uint32Array(PENDING);
  private pc = 0;

  constructor(initialBytes = 256) {
    this.W = new Int32Array(Math.max(16, (initialBytes + 3) >>> 2));
    this.W8 = new Uint8Array(this.W.buffer);
  }

  reset(): void {
    this.W[0] = 0;
    this.pos = 16;
    this.n = 0;
    this.tf[0] = 0;
    this.tf[1] = 0;
    this.pc = 0;
    this.pHi = 0;
    this.pLo = 0;
    this.lead = NO_WINDOW;
    this.trail = 0;
    this.tail = false;
  }

  get numSamples(): number {
    return this.n + this.pc;
  }

  /** Timestamp of the last appended sample (0 when empty). */
  get lastT(): number {
    return this.pc > 0 ? this.pendT[this.pc - 1]! : this.tf[0]!;
  }

  /** Length of `bytes()` without materialising it. */
  get byteLength(): number {
    this.flush();
    const pos = this.pos;
    return ((pos + 7) >>> 3) + (this.tail && (pos & 7) === 0 ? 1 : 0);
  }

  /** Appends (t, v). Use `appendBits` when v may be a NaN whose payload matters. */
  append(t: number, v: number): void {
    const hi = floatHi(v);
    this.appendBits(t, hi, lastLo());
  }

  /**
   * Appends a sample whose value is given as the hi/lo uint32 halves of its IEEE-754 bits.
   * Samples are validated here and encoded in batches (flushed by bytes(), byteLength,
   * appendRange or every PENDING samples), so a per-sample caller runs the bulk loop too.
   */
  appendBits(t: number, vHi: number, vLo: number): void {
    const pc = this.pc;
    const count = this.n + pc;
    if (count >= XOR_MAX_SAMPLES) {
      throw new InvalidArgumentError(`XOR chunk is full: at most ${XOR_MAX_SAMPLES} samples`);
    }
    const prev = pc > 0 ? this.pendT[pc - 1]! : this.tf[0]!;
    const d = t - prev;
    if (!Number.isSafeInteger(t) || (count > 0 && !(d <= MAX_SAFE && d >= -MAX_SAFE))) {
      throw badTimestamp(t, prev);
    }
    this.pendT[pc] = t;
    this.pendHi[pc] = vHi;
    this.pendLo[pc] = vLo;
    this.pc = pc + 1;
    if (pc + 1 === PENDING) this.flush();
  }

  /** Encodes the samples buffered by append/appendBits. */
  private flush(): void {
    const pc = this.pc;
    if (pc === 0) return;
    this.pc = 0;
    this.appendRange(this.pendT, this.pendHi, this.pendLo, 0, pc);
  }

  /**
   * Appends samples [from, to) of column arrays (timestamps, value bit halves). On a bad
   * timestamp it throws InvalidArgumentError with the samples before it appended.
   */
  appendRange(ts: Float64Array, his: Uint32Array, los: Uint32Array, from: number, to: number): void {
    if (
      !(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from <= to) ||
      !(to <= ts.length && to <= his.length && to <= los.length)
    ) {
      throw new InvalidArgumentError(`appendRange: [${from}, ${to}) outside the arrays`);
    }
    if (this.pc !== 0 && ts !== this.pendT) this.flush();
    if (this.n + (to - from) > XOR_MAX_SAMPLES) {
      throw new InvalidArgumentError(`XOR chunk is full: at most ${XOR_MAX_SAMPLES} samples`);
    }
    let i = from;
    // Samples 0 and 1 (byte-aligned varints) take the slow path.
    for (; i < to && this.n < 2; i++) this.appendHead(ts[i]!, his[i]! | 0, los[i]! | 0);
    if (i >= to) return;
    const end = this.loop(ts, his, los, i, to, this.tf);
    this.n += end - i;
    if (end < to) throw badTimestamp(ts[end]!, this.tf[0]!);
  }

  /**
   * Samples 2.. : returns the index it stopped at (< to on a bad timestamp). Written for
   * TurboFan: the stream is built in the module scratch ENC_W (a constant, so no per-iteration
   * array checks or growth tests) and copied back; loop variables are int32 (`| 0`) and few (the
   * window is just lead/trail, its payload split derived when needed); the doubles t and tDelta
   * live in tf between calls; the common bit writes are inlined by hand.
   */
  private loop(
    ts: Float64Array,
    his: Uint32Array,
    los: Uint32Array,
    from: number,
    to: number,
    tf: Float64Array,
  ): number {
    const MAX = 9007199254740991;
    const W = ENC_W;
    const k0 = this.scratchIn();
    let pos = this.pos | 0;
    let ph = this.pHi | 0;
    let pl = this.pLo | 0;
    let lead = this.lead | 0;
    let trail = this.trail | 0;
    let pt = tf[0]!;
    let pd = tf[1]!;
    let i = from | 0;
    to |= 0;
    for (; i < to; i = (i + 1) | 0) {
      const t = ts[i]!;
      const d = t - pt;
      if (!(d <= MAX && d >= -MAX && Number.isSafeInteger(t))) break;
      const vh = his[i]! | 0;
      const vl = los[i]! | 0;
      const dod = d - pd;
      const xh = vh ^ ph;
      const xl = vl ^ pl;
      // First write: the dod bucket, plus the value's control bits when they fit.
      let v1 = 0;
      let n1 = 1;
      if (dod === 0) {
        // '0'
      } else if (dod >= -8191 && dod <= 8192) {
        v1 = 0x8000 | (dod & 0x3fff);
        n1 = 16;
      } else if (dod >= -65535 && dod <= 65536) {
        v1 = 0xc0000 | (dod & 0x1ffff);
        n1 = 20;
      } else if (dod >= -524287 && dod <= 524288) {
        v1 = 0xe00000 | (dod & 0xfffff);
        n1 = 24;
      } else {
        pos = putDod64(W, pos, d, pd);
        n1 = 0;
      }
      pt = t;
      pd = d;
      if ((xh | xl) === 0) {
        // Value '0'.
        const a = (v1 << 1) << (31 - n1);
        const k = pos >>> 5;
        const s = pos & 31;
        W[k]! |= a >>> s;
        W[k + 1] = (a << 1) << (31 - s);
        pos = (pos + n1 + 1) | 0;
        continue;
      }
      let l = xh !== 0 ? Math.clz32(xh) : 32 + Math.clz32(xl);
      if (l > 31) l = 31; // 5-bit field
      const tr = xl !== 0 ? 31 - Math.clz32(xl & -xl) : 63 - Math.clz32(xh & -xh);
      let v2 = 0;
      let n2 = 0;
      if (lead !== 0xff && l >= lead && tr >= trail) {
        // '10' + payload in the current window.
        v1 = (v1 << 2) | 2;
        n1 = n1 + 2;
      } else {
        // '11', 5 bits leading zeros, 6 bits significant bits (64 written as 0).
        lead = l;
        trail = tr;
        v2 = (0b11 << 11) | (l << 6) | ((64 - l - tr) & 63);
        n2 = 13;
      }
      // The significant field spans bits lead..63−trail of the XOR, and lead <= 31: its first
      // hiCount bits come from the high word, the loCount others from the low word.
      const hiShift = trail >= 32 ? trail - 32 : 0;
      const hiCount = trail >= 32 ? 64 - lead - trail : 32 - lead;
      const hiBits = xh >>> hiShift;
      if (n2 === 0 && n1 + hiCount <= 32) {
        v1 = (v1 << hiCount) | hiBits;
        n1 = n1 + hiCount;
      } else if (n2 !== 0 && n2 + hiCount <= 32) {
        v2 = (v2 << hiCount) | hiBits;
        n2 = n2 + hiCount;
      } else {
        if (n1 > 0) pos = putBits(W, pos, v1, n1);
        if (n2 > 0) pos = putBits(W, pos, v2, n2);
        v1 = hiBits;
        n1 = hiCount;
        n2 = 0;
      }
      if (n1 > 0) {
        const a = v1 << (32 - n1);
        const k = pos >>> 5;
        const s = pos & 31;
        W[k]! |= a >>> s;
        W[k + 1] = (a << 1) << (31 - s);
        pos = (pos + n1) | 0;
      }
      if (n2 > 0) {
        const a = v2 << (32 - n2);
        const k = pos >>> 5;
        const s = pos & 31;
        W[k]! |= a >>> s;
        W[k + 1] = (a << 1) << (31 - s);
        pos = (pos + n2) | 0;
      }
      if (trail < 32) {
        const a = (xl >>> trail) << trail;
        const k = pos >>> 5;
        const s = pos & 31;
        W[k]! |= a >>> s;
        W[k + 1] = (a << 1) << (31 - s);
        pos = (pos + 32 - trail) | 0;
      }
      ph = vh;
      pl = vl;
    }
    if (i > from) {
      this.scratchOut(k0, pos);
      // Go's empty trailing byte: after a last value written with a whole number of bytes.
      const prevHi = i - 1 > from ? his[i - 2]! | 0 : this.pHi | 0;
      const prevLo = i - 1 > from ? los[i - 2]! | 0 : this.pLo | 0;
      this.tail = ((ph ^ prevHi) | (pl ^ prevLo)) !== 0 && ((64 - lead - trail) & 7) === 0;
    }
    this.pos = pos;
    this.pHi = ph;
    this.pLo = pl;
    this.lead = lead;
    this.trail = trail;
    tf[0] = pt;
    tf[1] = pd;
    return i;
  }

  /** Samples 0 and 1: byte-aligned varint timestamps. */
  private appendHead(t: number, vHi: number, vLo: number): void {
    const d = t - this.tf[0]!;
    if (!Number.isSafeInteger(t) || (this.n === 1 && !(d <= MAX_SAFE && d >= -MAX_SAFE))) {
      throw badTimestamp(t, this.tf[0]!);
    }
    const W = ENC_W;
    const k0 = this.scratchIn();
    let pos = this.pos;
    if (this.n === 0) {
      // Zig-zag varint, exact over the whole safe range (2|t| may exceed 2^53).
      const h = Math.floor(t / TWO_32);
      const hi = h | 0;
      const lo = (t - h * TWO_32) | 0;
      const sign = hi >> 31;
      pos = putUvarint64(W, pos, ((hi << 1) | (lo >>> 31)) ^ sign, (lo << 1) ^ sign);
      pos = putBits(W, pos, vHi, 32);
      pos = putBits(W, pos, vLo, 32);
      this.tail = true;
    } else {
      // Go writes uint64(t1 − t0): a negative delta becomes a 10-byte uvarint.
      const h = Math.floor(d / TWO_32);
      pos = putUvarint64(W, pos, h | 0, (d - h * TWO_32) | 0);
      this.tf[1] = d;
      const xh = vHi ^ this.pHi;
      const xl = vLo ^ this.pLo;
      if ((xh | xl) === 0) {
        pos = putBits(W, pos, 0, 1);
        this.tail = false;
      } else {
        // First non-zero XOR: always a new window.
        let l = xh !== 0 ? Math.clz32(xh) : 32 + Math.clz32(xl);
        if (l > 31) l = 31;
        const tr = xl !== 0 ? 31 - Math.clz32(xl & -xl) : 63 - Math.clz32(xh & -xh);
        const sig = 64 - l - tr;
        this.lead = l;
        this.trail = tr;
        pos = putBits(W, pos, (0b11 << 11) | (l << 6) | (sig & 63), 13);
        if (tr >= 32) {
          pos = putBits(W, pos, xh >>> (tr - 32), sig);
        } else {
          pos = putBits(W, pos, xh, 32 - l);
          pos = putBits(W, pos, xl >>> tr, 32 - tr);
        }
        this.tail = (sig & 7) === 0;
      }
    }
    this.scratchOut(k0, pos);
    this.pos = pos;
    this.tf[0] = t;
    this.pHi = vHi;
    this.pLo = vLo;
    this.n++;
  }

  /** The chunk bytes (count header included). A view: valid until the next append or reset. */
  bytes(): Uint8Array {
    this.flush();
    const nbytes = this.byteLength;
    const b = this.W8;
    b[0] = this.n >>> 8;
    b[1] = this.n & 0xff;
    return b.subarray(0, nbytes);
  }

  /** Puts the current (partial) word of the stream into ENC_W; returns its index. */
  private scratchIn(): number {
    const k0 = this.pos >>> 5;
    const v = this.W[k0]!;
    // Header bits, if any, are rewritten by bytes(); encoding only ORs bits after pos.
    ENC_W[k0] = LITTLE_ENDIAN ? bswap(v) : v;
    return k0;
  }

  /**
   * Stores ENC_W words k0..(pos >>> 5) back into W, byte-swapped into stream order, plus a zero
   * word after them (bytes() may take Go's empty trailing byte from it).
   */
  private scratchOut(k0: number, pos: number): void {
    const kEnd = pos >>> 5;
    const dst = kEnd + 2 > this.W.length ? this.grow(kEnd + 2) : this.W;
    const src = ENC_W;
    if (LITTLE_ENDIAN) {
      for (let k = k0; k <= kEnd; k++) dst[k] = bswap(src[k]!);
    } else {
      dst.set(src.subarray(k0, kEnd + 1), k0);
    }
    dst[kEnd + 1] = 0;
  }

  /** Makes W hold at least `minWords` words. */
  private grow(minWords: number): Int32Array {
    let cap = this.W.length * 2;
    while (cap < minWords) cap *= 2;
    const next = new Int32Array(cap);
    next.set(this.W);
    this.W = next;
    this.W8 = new Uint8Array(next.buffer);
    return next;
  }
}

function badTimestamp(t: number, prev: number): InvalidArgumentError {
  return Number.isSafeInteger(t)
    ? new InvalidArgumentError(`timestamp delta ${t} − ${prev} exceeds ±(2^53−1)`)
    : new InvalidArgumentError(`timestamp ${t} is not an integer within ±(2^53−1)`);
}

/** '1111' then the exact 64-bit two's complement of d − pd (safe integers), from 32-bit halves. */
function putDod64(W: Int32Array, pos: number, d: number, pd: number): number {
  const dh = Math.floor(d / TWO_32);
  const ph = Math.floor(pd / TWO_32);
  let lo = d - dh * TWO_32 - (pd - ph * TWO_32);
  let hi = dh - ph;
  if (lo < 0) {
    lo += TWO_32;
    hi -= 1;
  }
  pos = putBits(W, pos, 0b1111, 4);
  pos = putBits(W, pos, hi | 0, 32);
  return putBits(W, pos, lo | 0, 32);
}

/** Unsigned LEB128 of the 64-bit value (hi, lo), written as whole bytes at a byte boundary. */
function putUvarint64(W: Int32Array, pos: number, hi: number, lo: number): number {
  let h = hi >>> 0;
  let l = lo >>> 0;
  while (h !== 0 || l >= 0x80) {
    pos = putBits(W, pos, (l & 0x7f) | 0x80, 8);
    l = ((l >>> 7) | (h << 25)) >>> 0;
    h >>>= 7;
  }
  return putBits(W, pos, l, 8);
}
