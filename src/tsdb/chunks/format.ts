/**
 * Chunk segment files (`chunks/000001`, ...): an 8-byte header (magic 0x85BD40DD, version 1,
 * 3 zero bytes), then chunks back to back: uvarint len | encoding byte | data | CRC32C(enc+data).
 * A chunk ref is segmentIndex * 2^32 + offset — a JS number, never combined with 32-bit bit ops.
 */

export const SEGMENT_MAGIC = 0x85bd40dd;
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_LEN = 8;
export const DEFAULT_MAX_SEGMENT_SIZE = 512 * 1024 * 1024;
/** Worst-case bytes around a chunk's data: uvarint len (5), encoding (1), CRC (4). */
export const CHUNK_OVERHEAD_MAX = 10;

const TWO_32 = 0x1_0000_0000;

export function chunkRef(segment: number, offset: number): number {
  return segment * TWO_32 + offset;
}

export function refSegment(ref: number): number {
  return Math.floor(ref / TWO_32);
}

export function refOffset(ref: number): number {
  return ref % TWO_32;
}

export function segmentFileName(index: number): string {
  return String(index + 1).padStart(6, '0');
}

export function isSegmentFileName(name: string): boolean {
  return /^\d{6}$/.test(name);
}
