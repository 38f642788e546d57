/**
 * The base of every Bucket decorator: forwards each call to an inner Bucket. A decorator
 * overrides only what it changes: single methods (PrefixedBucket rewrites keys), `call` to wrap
 * every request but iter (metrics, latency, injected faults), and `iter` on its own (a listing
 * is consumed lazily, so it cannot be wrapped as one promise).
 */
import type { Readable } from 'node:stream';
import type {
  Bucket,
  BucketOperation,
  IterEntry,
  IterOptions,
  ObjectAttributes,
  UploadBody,
} from './bucket.js';

export type RequestOperation = Exclude<BucketOperation, 'iter'>;

export class ForwardingBucket implements Bucket {
  readonly name: string;
  protected readonly inner: Bucket;

  constructor(inner: Bucket, name: string = inner.name) {
    this.inner = inner;
    this.name = name;
  }

  /** Every forwarded request except iter runs through here; the default just runs it. */
  protected call<T>(_op: RequestOperation, fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  get(key: string): Promise<Buffer> {
    return this.call('get', () => this.inner.get(key));
  }

  getRange(key: string, offset: number, length: number): Promise<Buffer> {
    return this.call('get_range', () => this.inner.getRange(key, offset, length));
  }

  getStream(key: string): Promise<Readable> {
    return this.call('get_stream', () => this.inner.getStream(key));
  }

  upload(key: string, body: UploadBody, size?: number): Promise<void> {
    return this.call('upload', () => this.inner.upload(key, body, size));
  }

  uploadFile(key: string, localPath: string): Promise<void> {
    return this.call('upload_file', () => this.inner.uploadFile(key, localPath));
  }

  downloadFile(key: string, localPath: string): Promise<void> {
    return this.call('download_file', () => this.inner.downloadFile(key, localPath));
  }

  delete(key: string): Promise<void> {
    return this.call('delete', () => this.inner.delete(key));
  }

  deleteMany(keys: readonly string[]): Promise<void> {
    return this.call('delete_many', () => this.inner.deleteMany(keys));
  }

  exists(key: string): Promise<boolean> {
    return this.call('exists', () => this.inner.exists(key));
  }

  attributes(key: string): Promise<ObjectAttributes> {
    return this.call('attributes', () => this.inner.attributes(key));
  }

  iter(prefix: string, options?: IterOptions): AsyncIterable<IterEntry> {
    return this.inner.iter(prefix, options);
  }

  isNotFound(err: unknown): boolean {
    return this.inner.isNotFound(err);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** The inner bucket's temporary-file cleanup; 0 when it has none (S3). */
  async cleanupTemporary(olderThanMs: number): Promise<number> {
    return (await this.inner.cleanupTemporary?.(olderThanMs)) ?? 0;
  }
}
