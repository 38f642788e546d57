/**
 * Reads chunks by ref with positional reads through one read-ahead buffer, so consecutive chunks
 * (compaction reads in ref order) cost one syscall per buffer, not per chunk. Verifies each file's
 * magic and version on open and every chunk's CRC. Bad refs and absurd lengths are FormatErrors
 * naming the segment file and offset; nothing is allocated beyond the file's size.
 */
import { open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '../encoding/crc32c.js';
import { FormatError, errorCode } from '../../util/errors.js';
import {
  SEGMENT_HEADER_LEN,
  SEGMENT_MAGIC,
  SEGMENT_VERSION,
  isSegmentFileName,
  refOffset,
  refSegment,
} from './format.js';

export interface StoredChunkView {
  encoding: number;
  /** Chunk data; a view valid until the next read. */
  data: Uint8Array;
  /** File offset of data[0]. */
  dataOffset: number;
}

export interface RawChunkView extends StoredChunkView {
  /** The chunk's on-disk bytes: uvarint len, encoding, data, CRC. */
  bytes: Uint8Array;
}

interface Segment {
  path: string;
  fh: FileHandle;
  size: number;
}

const READ_AHEAD = 1 << 20;

export class SegmentReader {
  private buf: Buffer = Buffer.allocUnsafe(READ_AHEAD);
  private bufSeg = -1;
  private bufStart = 0;
  private bufLen = 0;
  /** Bytes read from disk. */
  bytesRead = 0;

  private constructor(
    readonly dir: string,
    private readonly segs: Segment[],
  ) {}

  static async open(dir: string): Promise<SegmentReader> {
    let names: string[];
    try {
      names = (await readdir(dir)).filter(isSegmentFileName).sort();
    } catch (err) {
      if (errorCode(err) === 'ENOENT') names = [];
      else throw err;
    }
    const segs: Segment[] = [];
    try {
      for (const name of names) {
        const path = join(dir, name);
        const fh = await open(path, 'r');
        segs.push({ path, fh, size: 0 });
        const seg = segs[segs.length - 1]!;
        seg.size = (await fh.stat()).size;
        const head = Buffer.alloc(SEGMENT_HEADER_LEN);
        const { bytesRead } = await fh.read(head, 0, SEGMENT_HEADER_LEN, 0);
        if (bytesRead < SEGMENT_HEADER_LEN) {
          throw new FormatError(
            'ERR_TSDB_TRUNCATED',
            path,
            0,
            `segment file of ${seg.size} bytes is shorter than its header`,
          );
        }
        const magic = head.readUInt32BE(0);
        if (magic !== SEGMENT_MAGIC)
          throw new FormatError('ERR_TSDB_BAD_MAGIC', path, 0, `bad segment magic 0x${magic.toString(16)}`);
        if (head[4] !== SEGMENT_VERSION) {
          throw new FormatError('ERR_TSDB_BAD_VERSION', path, 4, `unsupported segment version ${head[4]}`);
        }
      }
    } catch (err) {
      await Promise.all(segs.map((s) => s.fh.close().catch(() => undefined)));
      throw err;
    }
    return new SegmentReader(dir, segs);
  }

  get segmentFiles(): readonly string[] {
    return this.segs.map((s) => s.path);
  }

  fileFor(ref: number): string {
    return this.segs[refSegment(ref)]?.path ?? join(this.dir, `<segment ${refSegment(ref)}>`);
  }

  /** Ensures bytes [off, off+n) of segment `si` are in the buffer; returns their buffer index. */
  private async fill(si: number, seg: Segment, off: number, n: number): Promise<number> {
    if (si === this.bufSeg && off >= this.bufStart && off + n <= this.bufStart + this.bufLen)
      return off - this.bufStart;
    const want = Math.min(Math.max(n, READ_AHEAD), seg.size - off);
    if (want > this.buf.length) this.buf = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await seg.fh.read(this.buf, got, want - got, off + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    this.bytesRead += got;
    this.bufSeg = si;
    this.bufStart = off;
    this.bufLen = got;
    if (got < n)
      throw new FormatError('ERR_TSDB_TRUNCATED', seg.path, off, `need ${n} bytes, file ends after ${got}`);
    return 0;
  }

  /** The chunk at `ref`, CRC-checked. */
  async readRaw(ref: number): Promise<RawChunkView> {
    const si = refSegment(ref);
    const off = refOffset(ref);
    const seg = this.segs[si];
    if (seg === undefined) {
      throw new FormatError(
        'ERR_TSDB_CORRUPT',
        join(this.dir, `<segment ${si}>`),
        off,
        `chunk ref ${ref} names segment ${si + 1} of ${this.segs.length}`,
      );
    }
    if (off < SEGMENT_HEADER_LEN || off >= seg.size) {
      throw new FormatError(
        'ERR_TSDB_CORRUPT',
        seg.path,
        off,
        `chunk ref ${ref}: offset outside the file (${seg.size} bytes)`,
      );
    }
    // Length prefix: at most 5 bytes (chunks are < 4 GiB).
    let p = await this.fill(si, seg, off, Math.min(5, seg.size - off));
    const b0 = p;
    let len = 0;
    let mul = 1;
    for (let i = 0; ; i++) {
      if (i === 5 || p >= this.bufLen)
        throw new FormatError('ERR_TSDB_CORRUPT', seg.path, off, 'bad chunk length varint');
      const byte = this.buf[p++]!;
      len += (byte & 0x7f) * mul;
      if (byte < 0x80) break;
      mul *= 128;
    }
    const head = p - b0;
    const total = head + 1 + len + 4;
    if (off + total > seg.size) {
      throw new FormatError(
        'ERR_TSDB_TRUNCATED',
        seg.path,
        off,
        `chunk of ${len} bytes runs past the end of the file (${seg.size} bytes)`,
      );
    }
    const s = await this.fill(si, seg, off, total);
    const buf = this.buf;
    const encAt = s + head;
    const end = encAt + 1 + len;
    const want = buf.readUInt32BE(end);
    if (crc32c(buf.subarray(encAt, end)) !== want) {
      throw new FormatError('ERR_TSDB_CHECKSUM', seg.path, off, `chunk ref ${ref}: CRC mismatch`);
    }
    return {
      bytes: buf.subarray(s, end + 4),
      encoding: buf[encAt]!,
      data: buf.subarray(encAt + 1, end),
      dataOffset: off + head + 1,
    };
  }

  read(ref: number): Promise<StoredChunkView> {
    return this.readRaw(ref);
  }

  async close(): Promise<void> {
    await Promise.all(this.segs.map((s) => s.fh.close().catch(() => undefined)));
  }
}
