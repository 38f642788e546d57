/**
 * A Bucket that keeps every key under a prefix of another bucket (the config's `prefix`, or one
 * prefix per test). Keys seen by callers never include the prefix. cleanupTemporary is forwarded
 * as is: temporary files belong to the whole bucket, not to a key.
 */
import type { Readable } from 'node:stream';
import type { Bucket, IterEntry, IterOptions, ObjectAttributes, UploadBody } from './bucket.js';
import { ForwardingBucket } from './forwarding.js';

/** 'a/b' and '/a/b/' both become 'a/b/'; '' and '/' become '' (no prefix). */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

export interface PrefixedBucketOptions {
  /** Whether close() closes the inner bucket too (default true). */
  closeInner?: boolean;
}

export class PrefixedBucket extends ForwardingBucket {
  readonly prefix: string;
  readonly #closeInner: boolean;

  constructor(inner: Bucket, prefix: string, options: PrefixedBucketOptions = {}) {
    super(inner);
    this.prefix = normalizePrefix(prefix);
    this.#closeInner = options.closeInner ?? true;
  }

  override get(key: string): Promise<Buffer> {
    return this.inner.get(this.prefix + key);
  }

  override getRange(key: string, offset: number, length: number): Promise<Buffer> {
    return this.inner.getRange(this.prefix + key, offset, length);
  }

  override getStream(key: string): Promise<Readable> {
    return this.inner.getStream(this.prefix + key);
  }

  override upload(key: string, body: UploadBody, size?: number): Promise<void> {
    return this.inner.upload(this.prefix + key, body, size);
  }

  override uploadFile(key: string, localPath: string): Promise<void> {
    return this.inner.uploadFile(this.prefix + key, localPath);
  }

  override downloadFile(key: string, localPath: string): Promise<void> {
    return this.inner.downloadFile(this.prefix + key, localPath);
  }

  override delete(key: string): Promise<void> {
    return this.inner.delete(this.prefix + key);
  }

  override deleteMany(keys: readonly string[]): Promise<void> {
    return this.inner.deleteMany(keys.map((k) => this.prefix + k));
  }

  override exists(key: string): Promise<boolean> {
    return this.inner.exists(this.prefix + key);
  }

  override attributes(key: string): Promise<ObjectAttributes> {
    return this.inner.attributes(this.prefix + key);
  }

  override async *iter(prefix: string, options: IterOptions = {}): AsyncGenerator<IterEntry> {
    const inner: IterOptions = { ...options };
    if (options.startAfter !== undefined) inner.startAfter = this.prefix + options.startAfter;
    const cut = this.prefix.length;
    for await (const e of this.inner.iter(this.prefix + prefix, inner)) {
      yield { ...e, key: e.key.slice(cut) };
    }
  }

  override async close(): Promise<void> {
    if (this.#closeInner) await this.inner.close();
  }
}
