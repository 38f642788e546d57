/**
 * Writes chunk segment files through one fixed-size buffer (not a syscall per chunk). A new
 * segment is cut when the next chunk would pass the size limit, unless the file holds no chunk yet.
 */
import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '../encoding/crc32c.js';
import { InvalidArgumentError } from '../../util/errors.js';
import {
  CHUNK_OVERHEAD_MAX,
  DEFAULT_MAX_SEGMENT_SIZE,
  SEGMENT_HEADER_LEN,
  SEGMENT_MAGIC,
  SEGMENT_VERSION,
  chunkRef,
  segmentFileName,
} from './format.js';

export interface SegmentWriterOptions {
  maxSegmentSize?: number | undefined;
  bufferSize?: number;
}

export interface SegmentFile {
  name: string;
  size: number;
}

export class SegmentWriter {
  private fh: FileHandle | undefined;
  private seg = -1;
  /** Bytes in the current file, buffered ones included. */
  private n = 0;
  private flushed = 0;
  private readonly buf: Buffer;
  private used = 0;
  private readonly files: SegmentFile[] = [];
  private readonly maxSize: number;

  private constructor(
    readonly dir: string,
    opts: SegmentWriterOptions,
  ) {
    this.maxSize = opts.maxSegmentSize ?? DEFAULT_MAX_SEGMENT_SIZE;
    if (!(this.maxSize > SEGMENT_HEADER_LEN) || this.maxSize > 0xffff_ffff) {
      throw new InvalidArgumentError(`max segment size ${this.maxSize} must be in (8, 2^32)`);
    }
    this.buf = Buffer.allocUnsafe(opts.bufferSize ?? 1 << 20);
  }

  static async create(dir: string, opts: SegmentWriterOptions = {}): Promise<SegmentWriter> {
    return new SegmentWriter(dir, opts);
  }

  /** Writes a chunk; returns its ref. */
  async writeChunk(encoding: number, data: Uint8Array): Promise<number> {
    const ref = await this.prepare(data.length + CHUNK_OVERHEAD_MAX);
    const start = this.used;
    const b = this.buf;
    let p = start;
    let len = data.length;
    while (len >= 0x80) {
      b[p++] = (len % 128) | 0x80;
      len = Math.floor(len / 128);
    }
    b[p++] = len;
    const encAt = p;
    b[p++] = encoding;
    b.set(data, p);
    p += data.length;
    b.writeUInt32BE(crc32c(b.subarray(encAt, p)), p);
    p += 4;
    this.used = p;
    this.n += p - start;
    return ref;
  }

  /** Writes a chunk's on-disk bytes (len, encoding, data, CRC) verbatim; returns its ref. */
  async writeRawChunk(raw: Uint8Array): Promise<number> {
    const ref = await this.prepare(raw.length);
    this.buf.set(raw, this.used);
    this.used += raw.length;
    this.n += raw.length;
    return ref;
  }

  /** Makes room for `size` bytes (cutting a segment if needed) and returns the ref they get. */
  private async prepare(size: number): Promise<number> {
    if (this.fh === undefined || (this.n + size > this.maxSize && this.n > SEGMENT_HEADER_LEN))
      await this.cut();
    if (this.used + size > this.buf.length) await this.flush();
    if (size > this.buf.length) {
      throw new InvalidArgumentError(`chunk of ${size} bytes exceeds the segment write buffer`);
    }
    return chunkRef(this.seg, this.n);
  }

  private async flush(): Promise<void> {
    if (this.used === 0 || this.fh === undefined) return;
    let off = 0;
    while (off < this.used) {
      const { bytesWritten } = await this.fh.write(this.buf, off, this.used - off, this.flushed + off);
      off += bytesWritten;
    }
    this.flushed += this.used;
    this.used = 0;
  }

  private async finishFile(): Promise<void> {
    if (this.fh === undefined) return;
    await this.flush();
    await this.fh.sync();
    await this.fh.close();
    this.files.push({ name: segmentFileName(this.seg), size: this.n });
    this.fh = undefined;
  }

  private async cut(): Promise<void> {
    await this.finishFile();
    this.seg++;
    this.fh = await open(join(this.dir, segmentFileName(this.seg)), 'w');
    this.n = 0;
    this.flushed = 0;
    this.buf.writeUInt32BE(SEGMENT_MAGIC, 0);
    this.buf[4] = SEGMENT_VERSION;
    this.buf.fill(0, 5, 8);
    this.used = SEGMENT_HEADER_LEN;
    this.n = SEGMENT_HEADER_LEN;
  }

  /** Flushes, fsyncs and closes; returns the segment files written. */
  async close(): Promise<{ files: SegmentFile[] }> {
    await this.finishFile();
    return { files: [...this.files] };
  }

  /** Closes and removes what was written. */
  async abort(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close().catch(() => undefined);
    for (let i = 0; i <= this.seg; i++) await rm(join(this.dir, segmentFileName(i)), { force: true });
  }
}
