/** Helpers for growable typed-array buffers. */

/** A new array of `len` elements of the same type, starting with a copy of `a` (len ≥ a.length). */
export function grownTo<T extends Float64Array | Uint32Array | Uint8Array>(a: T, len: number): T {
  const next = new (a.constructor as new (n: number) => T)(len);
  next.set(a);
  return next;
}

/**
 * Copies src[start, end) to dst at `at`: short ranges by a loop (no view, no native call: label
 * strings, postings entries, small postings lists), longer ones by TypedArray#set over a view.
 */
export function copyBytes(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): void {
  const n = end - start;
  if (n <= 64) for (let i = 0; i < n; i++) dst[at + i] = src[start + i]!;
  else dst.set(src.subarray(start, end), at);
}

/** Whether this host stores typed-array elements little-endian (every platform Node ships for but s390x). */
export const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type NumberArray = Float64Array | Uint32Array;

/**
 * Copies `count` little-endian elements from `src` at byte `srcOff` into `dst` at element `at`:
 * one byte copy on a little-endian host, element by element elsewhere (`hostLe` for tests of both).
 */
export function copyLe(
  dst: NumberArray,
  at: number,
  src: Uint8Array,
  srcOff: number,
  count: number,
  hostLe = HOST_LE,
): void {
  const n = count * dst.BYTES_PER_ELEMENT;
  if (srcOff + n > src.length) throw new RangeError(`copyLe: ${n} bytes at ${srcOff} beyond ${src.length}`);
  if (hostLe) {
    new Uint8Array(dst.buffer, dst.byteOffset + at * dst.BYTES_PER_ELEMENT, n).set(
      src.subarray(srcOff, srcOff + n),
    );
    return;
  }
  const dv = new DataView(src.buffer, src.byteOffset + srcOff, n);
  if (dst instanceof Float64Array) for (let i = 0; i < count; i++) dst[at + i] = dv.getFloat64(i * 8, true);
  else for (let i = 0; i < count; i++) dst[at + i] = dv.getUint32(i * 4, true);
}

/** The first `count` elements of `a` as little-endian bytes (a view on a little-endian host). */
export function leBytes(a: NumberArray, count: number, hostLe = HOST_LE): Uint8Array {
  const n = count * a.BYTES_PER_ELEMENT;
  if (hostLe) return new Uint8Array(a.buffer, a.byteOffset, n);
  const out = new Uint8Array(n);
  const dv = new DataView(out.buffer);
  if (a instanceof Float64Array) for (let i = 0; i < count; i++) dv.setFloat64(i * 8, a[i]!, true);
  else for (let i = 0; i < count; i++) dv.setUint32(i * 4, a[i]!, true);
  return out;
}

/**
 * Writes `src[0..count)` into `dst` at byte `at` as big-endian 32-bit words: on a little-endian
 * host with `dst + at` 4-byte aligned, one copy and one byte swap (built-ins, not a call per word:
 * postings lists are written word by word otherwise); byte by byte elsewhere.
 */
export function putBe32s(dst: Buffer, at: number, src: Uint32Array, count: number, hostLe = HOST_LE): void {
  const n = 4 * count;
  if (at < 0 || at + n > dst.length || count > src.length) {
    throw new RangeError(
      `putBe32s: ${count} words at ${at} beyond ${dst.length} bytes or ${src.length} words`,
    );
  }
  // Short lists (most postings) by the loop below: two views and a swap cost more than they save.
  if (hostLe && count >= 16 && ((dst.byteOffset + at) & 3) === 0) {
    new Uint32Array(dst.buffer, dst.byteOffset + at, count).set(src.subarray(0, count));
    dst.subarray(at, at + n).swap32();
    return;
  }
  for (let i = 0, p = at; i < count; i++, p += 4) {
    const v = src[i]!;
    dst[p] = v >>> 24;
    dst[p + 1] = (v >>> 16) & 0xff;
    dst[p + 2] = (v >>> 8) & 0xff;
    dst[p + 3] = v & 0xff;
  }
}
