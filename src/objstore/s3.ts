/**
 * A Bucket on any S3-protocol store via @aws-sdk/client-s3 (tested against Swift s3api).
 *
 * - Request retries run inside the SDK's retry middleware (so every attempt is re-signed and
 *   streaming bodies are never replayed), but the decision and backoff come from retry.ts.
 *   Failures while reading a response body are retried around the whole read.
 * - Large uploads go multipart through @aws-sdk/lib-storage; parts are buffers, so each part
 *   retries on its own.
 * - DeleteObjects gets a Content-MD5 header instead of the SDK's CRC checksum (Swift and older
 *   S3 implementations require it).
 * - Errors are StrataErrors (ERR_OBJSTORE_*) whose message and cause never carry credentials;
 *   the SDK error itself is not attached.
 */
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { inspect } from 'node:util';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  type GetObjectCommandOutput,
  type S3Client,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { errorMessage } from '../util/errors.js';
import { nopLogger, type Logger } from '../util/logger.js';
import {
  type Bucket,
  type IterEntry,
  type IterOptions,
  type ObjectAttributes,
  type UploadBody,
} from './bucket.js';
import {
  isLocalFileSystemError,
  isObjstoreNotFound,
  localFileError,
  notFoundError,
  ObjstoreError,
} from './errors.js';
import { DEFAULT_RETRY_POLICY, realSleep, withRetries, type RetryPolicy, type Sleep } from './retry.js';
import { listObjects } from './s3list.js';
import { S3Writer } from './s3writes.js';
import { createS3Client, type S3Credentials, type S3HttpOptions } from './s3client.js';
import { s3ObjstoreError, sdkErrorShape, type S3ErrorContext } from './s3errors.js';
import { sseReadParams, sseWriteParams, type S3Sse, type SseReadParams } from './s3sse.js';
import { redact } from './secret.js';
import { toBuffer } from './streams.js';
import { checkObjectKey, checkRange } from './validate.js';

export type { S3Credentials, S3HttpOptions } from './s3client.js';

export const MIB = 1024 * 1024;
/** S3's smallest part (except the last). */
export const MIN_PART_SIZE = 5 * MIB;
export const DEFAULT_PART_SIZE = 64 * MIB;

export interface S3BucketOptions {
  bucket: string;
  /** Full URL including scheme; undefined means AWS for `region`. */
  endpoint?: string;
  region: string;
  /** undefined: the SDK's default credential chain (env, profile, instance role). */
  credentials?: S3Credentials;
  forcePathStyle?: boolean;
  /** Multipart part size (default 64 MiB, minimum 5 MiB); objects up to this size use one PUT. */
  partSize?: number;
  /** Parts uploaded in parallel per multipart upload (default 4). */
  uploadConcurrency?: number;
  /** ListObjectsV2 MaxKeys per page (1..1000, default 1000). */
  pageSize?: number;
  /** Keys per DeleteObjects request (1..1000, default 1000). */
  deleteBatchSize?: number;
  /** Sent as x-amz-meta-* on every upload; an 'X-Amz-Storage-Class' entry sets the storage class (as in Thanos). */
  putUserMetadata?: Record<string, string>;
  /** Single PUTs only (objects up to 5 GiB; streams of unknown size are buffered in memory). */
  disableMultipart?: boolean;
  retry?: RetryPolicy;
  http?: S3HttpOptions;
  /** Server-side encryption for every write (and, for SSE-C, every read). */
  sse?: S3Sse;
}

export interface S3BucketDeps {
  logger?: Logger;
  sleep?: Sleep;
  random?: () => number;
  now?: () => number;
  /** Called for every HTTP attempt with the SDK command name ('GetObjectCommand', ...). */
  onRequest?: (command: string) => void;
}

export class S3Bucket implements Bucket {
  readonly name: string;
  readonly bucket: string;
  readonly #client: S3Client;
  readonly #destroyClient: () => void;
  /** Names, endpoint and secrets for error messages. */
  readonly #errors: S3ErrorContext;
  readonly #sseRead: SseReadParams;
  readonly #pageSize: number;
  readonly #writer: S3Writer;
  readonly #policy: RetryPolicy;
  readonly #logger: Logger;
  readonly #sleep: Sleep;
  readonly #random: () => number;
  readonly #now: () => number;
  /** Body-read failures: the only ones retried around a whole operation (requests retry in the SDK). */
  readonly #bodyErrors = new WeakSet<object>();
  #closed = false;

  constructor(options: S3BucketOptions, deps: S3BucketDeps = {}) {
    if (!options.bucket)
      throw new ObjstoreError('ERR_OBJSTORE_CONFIG', 'init', undefined, 's3: bucket is required');
    this.bucket = options.bucket;
    this.name = `s3:${options.bucket}`;
    const partSize = options.partSize ?? DEFAULT_PART_SIZE;
    if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_SIZE) {
      throw new ObjstoreError(
        'ERR_OBJSTORE_CONFIG',
        'init',
        undefined,
        `s3: part size must be >= ${MIN_PART_SIZE}`,
      );
    }
    this.#pageSize = Math.min(1000, Math.max(1, options.pageSize ?? 1000));
    const meta = { ...options.putUserMetadata };
    const scKey = Object.keys(meta).find((k) => k.toLowerCase() === 'x-amz-storage-class');
    const storageClass = scKey !== undefined ? (meta[scKey] as StorageClass) : undefined;
    if (scKey !== undefined) delete meta[scKey];
    this.#policy = options.retry ?? DEFAULT_RETRY_POLICY;
    this.#logger = deps.logger ?? nopLogger;
    this.#sleep = deps.sleep ?? realSleep;
    this.#random = deps.random ?? Math.random;
    this.#now = deps.now ?? Date.now;

    const creds = options.credentials;
    const secrets = [
      ...(creds ? [creds.secretAccessKey.reveal(), creds.accessKeyId, creds.sessionToken?.reveal()] : []),
      options.sse?.type === 'SSE-C' ? options.sse.key.reveal() : undefined,
    ].filter((s): s is string => s !== undefined && s !== '');
    const endpoint = options.endpoint ?? `https://s3.${options.region}.amazonaws.com`;
    this.#errors = { name: this.name, endpoint, secrets };
    this.#sseRead = sseReadParams(options.sse);
    const built = createS3Client({
      ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
      region: options.region,
      forcePathStyle: options.forcePathStyle ?? false,
      ...(creds ? { credentials: creds } : {}),
      http: options.http ?? {},
      retry: {
        policy: this.#policy,
        sleep: this.#sleep,
        random: this.#random,
        now: this.#now,
        mapError: (err) => this.#mapError('request', undefined, err),
        onRetry: this.#onRetry('request', undefined),
      },
      ...(deps.onRequest ? { onRequest: deps.onRequest } : {}),
    });
    this.#client = built.client;
    this.#destroyClient = built.destroy;
    this.#writer = new S3Writer({
      client: this.#client,
      bucket: this.bucket,
      metadata: Object.keys(meta).length > 0 ? meta : undefined,
      storageClass,
      sse: sseWriteParams(options.sse),
      name: this.name,
      partSize,
      deleteBatchSize: Math.min(1000, Math.max(1, options.deleteBatchSize ?? 1000)),
      uploadConcurrency: Math.max(1, options.uploadConcurrency ?? 4),
      disableMultipart: options.disableMultipart ?? false,
      policy: this.#policy,
      sleep: this.#sleep,
      random: this.#random,
      now: this.#now,
      call: (op, key, fn) => this.#call(op, key, fn),
      mapError: (op, key, err) => this.#mapError(op, key, err),
      onRetry: (op, key) => this.#onRetry(op, key),
      redact: (text) => redact(text, this.#errors.secrets),
    });
  }

  [inspect.custom](): string {
    return `S3Bucket { name: ${JSON.stringify(this.name)} }`;
  }

  toJSON(): { name: string } {
    return { name: this.name };
  }

  async get(key: string): Promise<Buffer> {
    checkObjectKey('get', key);
    return this.#withBodyRetries(async () => {
      const res = await this.#call('get', key, (c) =>
        c.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, ...this.#sseRead })),
      );
      return this.#readBody('get', key, res);
    });
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer> {
    checkObjectKey('get_range', key);
    checkRange(offset, length);
    if (length === 0) {
      await this.attributes(key);
      return Buffer.alloc(0);
    }
    return this.#withBodyRetries(async () => {
      let res: GetObjectCommandOutput;
      try {
        res = await this.#client.send(
          new GetObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Range: `bytes=${offset}-${offset + length - 1}`,
            ...this.#sseRead,
          }),
        );
      } catch (err) {
        // 416: the object exists but starts before offset.
        const e = sdkErrorShape(err);
        if (e.status === 416 || e.name === 'InvalidRange') return Buffer.alloc(0);
        throw this.#mapError('get_range', key, err);
      }
      const buf = await this.#readBody('get_range', key, res);
      // A server that ignores Range (some do for tiny objects) answers 200 with everything.
      return res.ContentRange === undefined ? buf.subarray(offset, offset + length) : buf;
    });
  }

  async getStream(key: string): Promise<Readable> {
    checkObjectKey('get_stream', key);
    const res = await this.#call('get_stream', key, (c) =>
      c.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, ...this.#sseRead })),
    );
    const body = this.#bodyStream('get_stream', key, res);
    const mapError = (err: unknown): Error => this.#mapError('get_stream', key, err);
    return Readable.from(
      (async function* () {
        try {
          for await (const chunk of body) yield chunk as Buffer;
        } catch (err) {
          throw mapError(err);
        }
      })(),
      { objectMode: false },
    );
  }

  async upload(key: string, body: UploadBody, size?: number): Promise<void> {
    checkObjectKey('upload', key);
    return this.#writer.upload(key, body, size);
  }

  async uploadFile(key: string, localPath: string): Promise<void> {
    checkObjectKey('upload_file', key);
    return this.#writer.uploadFile(key, localPath);
  }

  async downloadFile(key: string, localPath: string): Promise<void> {
    checkObjectKey('download_file', key);
    let opened = false;
    try {
      await this.#withBodyRetries(async () => {
        const res = await this.#call('download_file', key, (c) =>
          c.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, ...this.#sseRead })),
        );
        const body = this.#bodyStream('download_file', key, res);
        opened = true;
        const out = createWriteStream(localPath);
        let readErr: unknown;
        body.once('error', (err) => (readErr = err));
        try {
          await pipeline(body, out);
        } catch (err) {
          // pipeline rejects with the first error. A failed write also aborts the response (on
          // Node 24 the body then emits its own ECONNRESET), so judge the error that came first.
          if (!isLocalFileSystemError(err) && err === readErr)
            throw this.#bodyError('download_file', key, err);
          throw localFileError('download_file', key, localPath, err);
        }
      });
    } catch (err) {
      // Never leave a partial file; a file we never opened is not ours to remove.
      if (opened) await unlink(localPath).catch(() => {});
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    checkObjectKey('delete', key);
    // S3 answers 204 for missing keys; the Bucket contract (like Thanos) says NotFound.
    await this.attributes(key).catch((err: unknown) => {
      if (isObjstoreNotFound(err)) throw notFoundError(this.name, 'delete', key);
      throw err;
    });
    await this.#call('delete', key, (c) =>
      c.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })),
    );
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const k of keys) checkObjectKey('delete_many', k);
    return this.#writer.deleteMany(keys);
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.attributes(key);
      return true;
    } catch (err) {
      if (isObjstoreNotFound(err)) return false;
      throw err;
    }
  }

  async attributes(key: string): Promise<ObjectAttributes> {
    checkObjectKey('attributes', key);
    const res = await this.#call('attributes', key, (c) =>
      c.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key, ...this.#sseRead })),
    );
    return { size: res.ContentLength ?? 0, lastModified: res.LastModified ?? new Date(0) };
  }

  iter(prefix: string, options: IterOptions = {}): AsyncGenerator<IterEntry> {
    return listObjects(
      { bucket: this.bucket, pageSize: this.#pageSize, call: (op, key, fn) => this.#call(op, key, fn) },
      prefix,
      options,
    );
  }

  isNotFound(err: unknown): boolean {
    return isObjstoreNotFound(err);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#destroyClient();
  }

  async #call<T>(op: string, key: string | undefined, fn: (client: S3Client) => Promise<T>): Promise<T> {
    try {
      return await fn(this.#client);
    } catch (err) {
      throw this.#mapError(op, key, err);
    }
  }

  #mapError(op: string, key: string | undefined, err: unknown): Error {
    return s3ObjstoreError(this.#errors, op, key, err);
  }

  #bodyError(op: string, key: string, err: unknown): Error {
    if (isLocalFileSystemError(err)) return this.#mapError(op, key, err);
    const mapped = this.#mapError(op, key, err);
    const out =
      mapped instanceof ObjstoreError && mapped.code === 'ERR_OBJSTORE_PERMANENT'
        ? new ObjstoreError('ERR_OBJSTORE_TRANSIENT', op, key, mapped.message, { cause: mapped.cause })
        : mapped;
    this.#bodyErrors.add(out);
    return out;
  }

  #bodyStream(op: string, key: string, res: GetObjectCommandOutput): Readable {
    if (res.Body instanceof Readable) return res.Body;
    throw new ObjstoreError(
      'ERR_OBJSTORE_PERMANENT',
      op,
      key,
      `${this.name}: ${op} ${key}: response has no stream body`,
    );
  }

  async #readBody(op: string, key: string, res: GetObjectCommandOutput): Promise<Buffer> {
    if (res.Body === undefined) return Buffer.alloc(0);
    try {
      return toBuffer(await res.Body.transformToByteArray());
    } catch (err) {
      throw this.#bodyError(op, key, err);
    }
  }

  #withBodyRetries<T>(fn: () => Promise<T>): Promise<T> {
    return withRetries(fn, this.#policy, this.#sleep, {
      now: this.#now,
      random: this.#random,
      retryable: (err) => typeof err === 'object' && err !== null && this.#bodyErrors.has(err),
    });
  }

  #onRetry(op: string, key: string | undefined): (err: unknown, attempt: number, delayMs: number) => void {
    return (err, attempt, delayMs) =>
      this.#logger.warn('object storage request failed, retrying', {
        bucket: this.name,
        op,
        key,
        attempt,
        delayMs,
        err: redact(errorMessage(err), this.#errors.secrets),
      });
  }
}
