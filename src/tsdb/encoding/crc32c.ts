/** CRC-32C (Castagnoli), the checksum of every TSDB file section. Native, via @node-rs/crc32. */
import { crc32c as nativeCrc32c } from '@node-rs/crc32';

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** CRC-32C of `data`, optionally continuing from a previous CRC (`prev`). */
export function crc32c(data: Uint8Array, prev = 0): number {
  return nativeCrc32c(asBuffer(data), prev) >>> 0;
}
