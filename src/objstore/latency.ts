/**
 * A Bucket that waits a fixed time before every request, so benchmarks on a local bucket show
 * how request counts turn into wall time on a remote store. A listing pays once per page of
 * `pageSize` entries, as S3's ListObjectsV2 would.
 */
import type { Readable } from 'node:stream';
import type { Bucket, IterEntry, IterOptions, ObjectAttributes, UploadBody } from './bucket.js';
import { realSleep, type Sleep } from './retry.js';

export interface LatencyBucketOptions {
  delayMs: number;
  /** Entries per simulated listing page (default 1000). */
  pageSize?: number;
  sleep?: Sleep;
}

export class LatencyBucket implements Bucket {
  readonly name: string;
  readonly #inner: Bucket;
  readonly #delayMs: number;
  readonly #pageSize: number;
  readonly #sleep: Sleep;

  constructor(inner: Bucket, options: LatencyBucketOptions) {
    this.#inner = inner;
    this.name = inner.name;
    this.#delayMs = Math.max(0, options.delayMs);
    this.#pageSize = Math.max(1, options.pageSize ?? 1000);
    this.#sleep = options.sleep ?? realSleep;
  }

  get(key: string): Promise<Buffer> {
    return this.#delayed(() => this.#inner.get(key));
  }

  getRange(key: string, offset: number, length: number): Promise<Buffer> {
    return this.#delayed(() => this.#inner.getRange(key, offset, length));
  }

  getStream(key: string): Promise<Readable> {
    return this.#delayed(() => this.#inner.getStream(key));
  }

  upload(key: string, body: UploadBody, size?: number): Promise<void> {
    return this.#delayed(() => this.#inner.upload(key, body, size));
  }

  uploadFile(key: string, localPath: string): Promise<void> {
    return this.#delayed(() => this.#inner.uploadFile(key, localPath));
  }

  downloadFile(key: string, localPath: string): Promise<void> {
    return this.#delayed(() => this.#inner.downloadFile(key, localPath));
  }

  delete(key: string): Promise<void> {
    return this.#delayed(() => this.#inner.delete(key));
  }

  deleteMany(keys: readonly string[]): Promise<void> {
    return this.#delayed(() => this.#inner.deleteMany(keys));
  }

  exists(key: string): Promise<boolean> {
    return this.#delayed(() => this.#inner.exists(key));
  }

  attributes(key: string): Promise<ObjectAttributes> {
    return this.#delayed(() => this.#inner.attributes(key));
  }

  async *iter(prefix: string, options?: IterOptions): AsyncGenerator<IterEntry> {
    await this.#sleep(this.#delayMs);
    let n = 0;
    for await (const e of this.#inner.iter(prefix, options)) {
      if (n > 0 && n % this.#pageSize === 0) await this.#sleep(this.#delayMs);
      n++;
      yield e;
    }
  }

  isNotFound(err: unknown): boolean {
    return this.#inner.isNotFound(err);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  async #delayed<T>(fn: () => Promise<T>): Promise<T> {
    await this.#sleep(this.#delayMs);
    return fn();
  }
}
