/** Buffered sequential writes and bounded positional reads on a FileHandle. */
import type { FileHandle } from 'node:fs/promises';
import { FormatError, InvalidArgumentError } from '../../util/errors.js';
import { copyBytes } from '../../util/typed-arrays.js';

/**
 * Collects small writes in a fixed buffer and hands it to the file when full. `write` returns
 * undefined when the bytes were only buffered, so callers await only on an actual flush.
 */
export class BufferedFileWriter {
  private readonly buf: Buffer;
  private len = 0;
  /** File offset of the next byte written. */
  pos = 0;

  constructor(
    private readonly fh: FileHandle,
    size: number,
  ) {
    this.buf = Buffer.allocUnsafe(size);
  }

  write(bytes: Uint8Array): Promise<void> | undefined {
    if (bytes.length <= this.buf.length - this.len) {
      this.buf.set(bytes, this.len);
      this.len += bytes.length;
      this.pos += bytes.length;
      return undefined;
    }
    return this.writeSlow(bytes);
  }

  /** write(src[start, end)) without a view when the range fits the buffer. */
  writeRange(src: Uint8Array, start: number, end: number): Promise<void> | undefined {
    const n = end - start;
    if (n > this.buf.length - this.len) return this.write(src.subarray(start, end));
    copyBytes(src, start, end, this.buf, this.len);
    this.len += n;
    this.pos += n;
    return undefined;
  }

  private async writeSlow(bytes: Uint8Array): Promise<void> {
    await this.flush();
    if (bytes.length >= this.buf.length) {
      await writeFully(this.fh, bytes);
    } else {
      this.buf.set(bytes, 0);
      this.len = bytes.length;
    }
    this.pos += bytes.length;
  }

  /** Zero bytes up to the next multiple of `align`. */
  pad(align: number): Promise<void> | undefined {
    const rem = this.pos % align;
    if (rem === 0) return undefined;
    return this.write(ZEROS.subarray(0, align - rem));
  }

  async flush(): Promise<void> {
    if (this.len === 0) return;
    await writeFully(this.fh, this.buf.subarray(0, this.len));
    this.len = 0;
  }
}

const ZEROS = new Uint8Array(64);

/** A write buffer size (default 1 MiB): an integer of at least 64 bytes. */
export function checkBufferSize(size: number = 1 << 20): number {
  if (!Number.isInteger(size) || size < 64) {
    throw new InvalidArgumentError(`index: buffer size ${size} must be an integer >= 64`);
  }
  return size;
}

async function writeFully(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, off, bytes.length - off);
    off += bytesWritten;
  }
}

/**
 * Reads exactly `len` bytes at `pos` into `into` (from `at`). The caller has checked the range
 * against the file size; a short read means the file shrank underneath us.
 */
export async function readFullyAt(
  fh: FileHandle,
  file: string,
  into: Uint8Array,
  at: number,
  len: number,
  pos: number,
): Promise<void> {
  let done = 0;
  while (done < len) {
    const { bytesRead } = await fh.read(into, at + done, len - done, pos + done);
    if (bytesRead === 0) {
      throw new FormatError(
        'ERR_TSDB_TRUNCATED',
        file,
        pos + done,
        `unexpected end of file reading ${len} bytes`,
      );
    }
    done += bytesRead;
  }
}

export async function readAt(fh: FileHandle, file: string, pos: number, len: number): Promise<Buffer> {
  const b = Buffer.allocUnsafe(len);
  await readFullyAt(fh, file, b, 0, len, pos);
  return b;
}
