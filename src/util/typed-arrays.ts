/** Helpers for growable typed-array buffers. */

/** A new array of `len` elements of the same type, starting with a copy of `a` (len ≥ a.length). */
export function grownTo<T extends Float64Array | Uint32Array | Uint8Array>(a: T, len: number): T {
  const next = new (a.constructor as new (n: number) => T)(len);
  next.set(a);
  return next;
}
