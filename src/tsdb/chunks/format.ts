/**
 * Chunk segment files (`<block>/chunks/000001`, ...), as Prometheus tsdb/chunks/chunks.go writes
 * them: an 8-byte header, then chunks back to back as `len uvarint | encoding | data | crc32c`,
 * the CRC covering encoding + data.
 *
 * A chunk reference is `segmentIndex * 2^32 + offset` as a JS number (exact: refs stay below
 * 2^53), where segmentIndex is the position of the file in sorted name order (000001 is 0) and
 * offset points at the chunk's `len` field. Never apply 32-bit bit operators to refs.
 */
import { InvalidArgumentError } from '../../util/errors.js';

export {
  ENC_FLOAT_HISTOGRAM,
  ENC_HISTOGRAM,
  ENC_NONE,
  ENC_THANOS_AGGR,
  ENC_XOR,
  ENC_XOR2,
  encodingName,
  isKnownEncoding,
} from '../chunkenc/encoding.js';

export const SEGMENT_MAGIC = 0x85bd40dd;
export const SEGMENT_VERSION = 1;
/** Magic (4) + version (1) + 3 zero bytes. */
export const SEGMENT_HEADER_LEN = 8;
/** The `len` uvarint takes at most 5 bytes (Go's MaxVarintLen32); the cut estimate assumes 5. */
export const MAX_CHUNK_LEN_FIELD_SIZE = 5;
export const CHUNK_ENCODING_SIZE = 1;
export const CHUNK_CRC_SIZE = 4;
/** Worst-case bytes around a chunk's data: uvarint len (5), encoding (1), CRC (4). */
export const CHUNK_OVERHEAD_MAX = MAX_CHUNK_LEN_FIELD_SIZE + CHUNK_ENCODING_SIZE + CHUNK_CRC_SIZE;
/** Prometheus' default segment size; a segment only exceeds it when its first chunk does. */
export const DEFAULT_MAX_SEGMENT_SIZE = 512 * 1024 * 1024;
/** Offsets are 32-bit: a segment file must stay below 4 GiB. */
export const MAX_SEGMENT_OFFSET = 0xffff_ffff;

const TWO_32 = 0x1_0000_0000;
/** Segment indexes that keep a ref below 2^53. */
const MAX_SEGMENT_INDEX = 0x1f_ffff;

/** The reference of the chunk at `offset` in the segment with 0-based index `segment`. */
export function chunkRef(segment: number, offset: number): number {
  if (!Number.isInteger(segment) || segment < 0 || segment > MAX_SEGMENT_INDEX) {
    throw new InvalidArgumentError(`chunk ref: segment index ${segment} out of range`);
  }
  if (!Number.isInteger(offset) || offset < 0 || offset > MAX_SEGMENT_OFFSET) {
    throw new InvalidArgumentError(`chunk ref: offset ${offset} does not fit 32 bits`);
  }
  return segment * TWO_32 + offset;
}

/** 0-based segment index of a ref (upper 32 bits). */
export function refSegment(ref: number): number {
  return Math.floor(ref / TWO_32);
}

/** Byte offset of a ref in its segment file (lower 32 bits). */
export function refOffset(ref: number): number {
  return ref % TWO_32;
}

/** `000001` for index 0: segment files are numbered from 1, six digits, zero-padded. */
export function segmentFileName(index: number): string {
  return String(index + 1).padStart(6, '0');
}

/**
 * Names Prometheus treats as segment files: anything that parses as an unsigned decimal (its
 * writer produces six digits); they are used in plain sorted-name order, as Go's ReadDir gives.
 */
export function isSegmentFileName(name: string): boolean {
  return /^[0-9]{1,20}$/.test(name);
}

/** Writes the 8-byte segment header into `dst` at `at`. */
export function putSegmentHeader(dst: Uint8Array, at = 0): void {
  dst[at] = SEGMENT_MAGIC >>> 24;
  dst[at + 1] = (SEGMENT_MAGIC >>> 16) & 0xff;
  dst[at + 2] = (SEGMENT_MAGIC >>> 8) & 0xff;
  dst[at + 3] = SEGMENT_MAGIC & 0xff;
  dst[at + 4] = SEGMENT_VERSION;
  dst[at + 5] = 0;
  dst[at + 6] = 0;
  dst[at + 7] = 0;
}

/** A segment file of a block. */
export interface SegmentFileInfo {
  /** File name relative to the chunks directory, e.g. `000001`. */
  name: string;
  path: string;
  size: number;
}

/** Go's per-chunk size estimate for the segment cut: the longest length field, always. */
export function chunkEstimate(dataLen: number): number {
  return MAX_CHUNK_LEN_FIELD_SIZE + CHUNK_ENCODING_SIZE + dataLen + CHUNK_CRC_SIZE;
}

/** Validates a raw chunk's length field against its size; returns the encoding byte's offset. */
export function rawChunkEncodingAt(src: Buffer, start: number, end: number): number {
  let len = 0;
  let mul = 1;
  let p = start;
  for (;;) {
    if (p - start >= MAX_CHUNK_LEN_FIELD_SIZE || p >= end) {
      throw new InvalidArgumentError('raw chunk: bad length field');
    }
    const byte = src[p++]!;
    len += (byte & 0x7f) * mul;
    if (byte < 0x80) break;
    mul *= 128;
  }
  const size = end - start;
  if (p - start + CHUNK_ENCODING_SIZE + len + CHUNK_CRC_SIZE !== size) {
    throw new InvalidArgumentError(
      `raw chunk: length field says ${len} data bytes, the chunk holds ${size} bytes`,
    );
  }
  return p - start;
}
