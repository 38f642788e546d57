/**
 * Raw chunks of a block in a bucket, read with range requests on its segment files. Refs of one
 * request are sorted and nearby ones share a request; each chunk's CRC is checked. The bytes are
 * returned as stored (encoding byte + data), never decoded.
 */
import type { Bucket } from '../objstore/bucket.js';
import { crc32cRange } from '../tsdb/encoding/crc32c.js';
import { refOffset, refSegment } from '../tsdb/chunks/format.js';
import { FormatError } from '../util/errors.js';

export interface RawChunk {
  /** On-disk encoding byte (XOR = 1). */
  readonly encoding: number;
  readonly data: Uint8Array;
}

/** Chunks less than this far apart in one segment are read with one request. */
const CHUNK_GAP = 64 << 10;
/** Bytes read past the last chunk's start: most chunks (120 samples) are far smaller. */
const CHUNK_ESTIMATE = 16 << 10;
/** Upper bound of one coalesced request. */
const MAX_READ = 16 << 20;

export class BucketChunkReader {
  constructor(
    private readonly bucket: Bucket,
    /** Segment object keys in name order: index i is segment i of a ref. */
    private readonly segments: readonly string[],
  ) {}

  /** The chunks at `refs` (any order, duplicates allowed), by ref. */
  async fetch(refs: readonly number[]): Promise<Map<number, RawChunk>> {
    const sorted = [...new Set(refs)].sort((a, b) => a - b);
    const out = new Map<number, RawChunk>();
    const reads: Promise<void>[] = [];
    let i = 0;
    while (i < sorted.length) {
      const seg = refSegment(sorted[i]!);
      const start = refOffset(sorted[i]!);
      let j = i + 1;
      while (j < sorted.length && refSegment(sorted[j]!) === seg) {
        const off = refOffset(sorted[j]!);
        if (off - refOffset(sorted[j - 1]!) > CHUNK_GAP || off - start > MAX_READ) break;
        j++;
      }
      const group = sorted.slice(i, j);
      reads.push(this.readGroup(seg, start, group, out));
      i = j;
    }
    await Promise.all(reads);
    return out;
  }

  private key(seg: number, ref: number): string {
    const k = this.segments[seg];
    if (k === undefined) {
      throw new FormatError(
        'ERR_TSDB_CORRUPT',
        this.segments[0] ?? 'chunks/',
        0,
        `chunk ref ${ref} names segment ${seg + 1} of ${this.segments.length}`,
      );
    }
    return k;
  }

  private async readGroup(
    seg: number,
    start: number,
    refs: number[],
    out: Map<number, RawChunk>,
  ): Promise<void> {
    const key = this.key(seg, refs[0]!);
    const end = refOffset(refs[refs.length - 1]!) + CHUNK_ESTIMATE;
    const buf = await this.bucket.getRange(key, start, end - start);
    for (const ref of refs) {
      const rel = refOffset(ref) - start;
      const c = parseChunk(buf, rel, key, start);
      out.set(ref, c ?? (await this.readOne(key, ref)));
    }
  }

  /** A chunk longer than the estimate: its exact length, then one more request. */
  private async readOne(key: string, ref: number): Promise<RawChunk> {
    const off = refOffset(ref);
    const head = await this.bucket.getRange(key, off, 5);
    const { value: len, size } = uvarint(head, 0, key, off);
    const buf = await this.bucket.getRange(key, off, size + 1 + len + 4);
    const c = parseChunk(buf, 0, key, off);
    if (c === undefined) {
      throw new FormatError(
        'ERR_TSDB_TRUNCATED',
        key,
        off,
        `chunk of ${len} bytes runs past the end of the segment`,
      );
    }
    return c;
  }
}

function uvarint(b: Uint8Array, p: number, file: string, base: number): { value: number; size: number } {
  let v = 0;
  let mul = 1;
  for (let i = p; i < b.length && i < p + 5; i++) {
    v += (b[i]! & 0x7f) * mul;
    if (b[i]! < 0x80) return { value: v, size: i - p + 1 };
    mul *= 128;
  }
  throw new FormatError('ERR_TSDB_CORRUPT', file, base + p, 'bad chunk length');
}

/** The chunk at buf[p]; undefined when buf ends before it does. */
function parseChunk(buf: Buffer, p: number, file: string, base: number): RawChunk | undefined {
  if (p >= buf.length) return undefined;
  let len: number;
  let size: number;
  try {
    ({ value: len, size } = uvarint(buf, p, file, base));
  } catch (err) {
    if (buf.length - p < 5) return undefined;
    throw err;
  }
  const encAt = p + size;
  const dataEnd = encAt + 1 + len;
  if (dataEnd + 4 > buf.length) return undefined;
  const want = buf.readUInt32BE(dataEnd);
  if (crc32cRange(buf, encAt, dataEnd) !== want) {
    throw new FormatError('ERR_TSDB_CHECKSUM', file, base + p, 'chunk checksum mismatch');
  }
  return { encoding: buf[encAt]!, data: buf.subarray(encAt + 1, dataEnd) };
}
