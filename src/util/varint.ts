/**
 * Unsigned LEB128 varints (protobuf's and Prometheus' uvarint) for numbers 0 <= n < 2^53: no
 * 32-bit bit operations, so values past 2^31 stay exact.
 */

/** Bytes of the uvarint encoding of n. */
export function uvarintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Writes n as a uvarint into `out` at `p`; returns the position after it. */
export function putUvarint(out: Uint8Array, p: number, n: number): number {
  while (n >= 0x80) {
    out[p++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  out[p++] = n;
  return p;
}
