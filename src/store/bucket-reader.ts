/** A bucket object as a PositionalReader: every read is one range request. */
import type { Bucket } from '../objstore/bucket.js';
import type { PositionalReader } from '../tsdb/index/positional.js';
import { FormatError } from '../util/errors.js';

export class BucketObjectReader implements PositionalReader {
  constructor(
    private readonly bucket: Bucket,
    /** The object key (also the name in errors). */
    readonly name: string,
    readonly size: number,
  ) {}

  /** Opens `key`, learning its size with one attributes request. */
  static async open(bucket: Bucket, key: string): Promise<BucketObjectReader> {
    const { size } = await bucket.attributes(key);
    return new BucketObjectReader(bucket, key, size);
  }

  async read(offset: number, length: number): Promise<Buffer> {
    if (length === 0) return Buffer.alloc(0);
    const b = await this.bucket.getRange(this.name, offset, length);
    if (b.length !== length) {
      throw new FormatError(
        'ERR_TSDB_TRUNCATED',
        this.name,
        offset + b.length,
        `object ended after ${b.length} of ${length} bytes read at ${offset}`,
      );
    }
    return b;
  }

  async readInto(into: Uint8Array, at: number, length: number, offset: number): Promise<void> {
    into.set(await this.read(offset, length), at);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
