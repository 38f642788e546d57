/**
 * What the index reader reads through: a fixed-size byte source with positional reads. A local
 * file (FileHandle) and a bucket object (range requests, in src/store) both implement it, so
 * there is one index reader for both.
 */
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { readFullyAt } from './io.js';

export interface PositionalReader {
  /** File or object name, for error messages. */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /** Exactly `length` bytes at `offset` (the caller keeps the range within `size`). */
  read(offset: number, length: number): Promise<Buffer>;
  /** Reads `length` bytes at `offset` into `into` from `at` (a copy-free read where possible). */
  readInto(into: Uint8Array, at: number, length: number, offset: number): Promise<void>;
  close(): Promise<void>;
}

/** A local file read with positional reads on one FileHandle. */
export class FileReader implements PositionalReader {
  private constructor(
    readonly name: string,
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<FileReader> {
    const fh = await openFile(path, 'r');
    try {
      return new FileReader(path, fh, (await fh.stat()).size);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const b = Buffer.allocUnsafe(length);
    await readFullyAt(this.fh, this.name, b, 0, length, offset);
    return b;
  }

  readInto(into: Uint8Array, at: number, length: number, offset: number): Promise<void> {
    return readFullyAt(this.fh, this.name, into, at, length, offset);
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/** Bytes already in memory (a small file read whole): reads are copies, with no I/O to wait for. */
export class BufferReader implements PositionalReader {
  readonly size: number;

  constructor(
    readonly name: string,
    private readonly bytes: Buffer,
  ) {
    this.size = bytes.length;
  }

  read(offset: number, length: number): Promise<Buffer> {
    return Promise.resolve(Buffer.from(this.bytes.subarray(offset, offset + length)));
  }

  readInto(into: Uint8Array, at: number, length: number, offset: number): Promise<void> {
    into.set(this.bytes.subarray(offset, offset + length), at);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
