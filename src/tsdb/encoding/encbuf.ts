/** A growable write buffer. `view()` hands out the written bytes without copying; reuse with reset(). */
import { putUvarint } from '../../util/varint.js';
import { copyBytes } from '../../util/typed-arrays.js';

const TWO_32 = 0x1_0000_0000;

export class Encbuf {
  private buf: Uint8Array;
  len = 0;

  constructor(initialCapacity = 4096) {
    this.buf = new Uint8Array(initialCapacity);
  }

  reset(): void {
    this.len = 0;
  }

  /** The bytes written so far. Valid until the next write or reset. */
  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  ensure(extra: number): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  putByte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  putBE32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    const p = this.len;
    b[p] = v >>> 24;
    b[p + 1] = (v >>> 16) & 0xff;
    b[p + 2] = (v >>> 8) & 0xff;
    b[p + 3] = v & 0xff;
    this.len = p + 4;
  }

  /** Writes `v` (0 <= v <= 2^53) as a big-endian uint64. */
  putBE64(v: number): void {
    this.putBE32(Math.floor(v / TWO_32) >>> 0);
    this.putBE32((v % TWO_32) >>> 0);
  }

  /** Overwrites 4 bytes at `at` (for lengths known only after the body is written). */
  setBE32(at: number, v: number): void {
    const b = this.buf;
    b[at] = v >>> 24;
    b[at + 1] = (v >>> 16) & 0xff;
    b[at + 2] = (v >>> 8) & 0xff;
    b[at + 3] = v & 0xff;
  }

  /** Unsigned LEB128 of 0 <= v < 2^53 (no 32-bit bit ops: v may exceed 2^31). */
  putUvarint(v: number): void {
    this.ensure(10);
    this.len = putUvarint(this.buf, this.len, v);
  }

  /** Zig-zag signed varint of -2^52 <= v < 2^52 (its zig-zag form stays below 2^53). */
  putVarint(v: number): void {
    this.putUvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  putUvarintBig(v: bigint): void {
    let u = BigInt.asUintN(64, v);
    this.ensure(10);
    while (u >= 0x80n) {
      this.buf[this.len++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.len++] = Number(u);
  }

  putVarintBig(v: bigint): void {
    const x = BigInt.asIntN(64, v);
    this.putUvarintBig((x << 1n) ^ (x >> 63n));
  }

  putBytes(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.len);
    this.len += src.length;
  }

  /** src[start, end) (short ranges copied by a loop: no view, no native call). */
  putRange(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    copyBytes(src, start, end, this.buf, this.len);
    this.len += n;
  }

  putUvarintBytes(src: Uint8Array): void {
    this.putUvarint(src.length);
    this.putBytes(src);
  }

  putUvarintString(s: string): void {
    // Short ASCII (most label names and values) by a loop: no native call per string.
    const len = s.length;
    if (len < 0x80) {
      this.ensure(len + 1);
      const b = this.buf;
      const at = this.len;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[at + 1 + i] = c;
      }
      if (i === len) {
        b[at] = len;
        this.len = at + 1 + len;
        return;
      }
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.putUvarint(n);
    this.ensure(n);
    const b = this.buf;
    Buffer.from(b.buffer, b.byteOffset, b.byteLength).write(s, this.len, n, 'utf8');
    this.len += n;
  }

  /** Zero bytes until len is a multiple of `align`. */
  padTo(align: number, base = 0): void {
    const rem = (base + this.len) % align;
    if (rem === 0) return;
    const n = align - rem;
    this.ensure(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
  }
}
