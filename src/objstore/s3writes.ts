/**
 * The write paths of S3Bucket: one PUT for what fits in a part (buffered, so the SDK can retry it),
 * multipart through @aws-sdk/lib-storage above that, PUTs of files reopened on each attempt, and
 * batched DeleteObjects that retry only the keys that failed. Keys are checked by the caller.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { DeleteObjectsCommand, PutObjectCommand, type S3Client, type StorageClass } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { InvalidArgumentError } from '../util/errors.js';
import type { UploadBody } from './bucket.js';
import { isLocalFileSystemError, localFileError, ObjstoreError } from './errors.js';
import { withRetries, type RetryPolicy, type Sleep } from './retry.js';
import { TRANSIENT_S3_CODES } from './s3errors.js';
import type { SseWriteParams } from './s3sse.js';
import { exactLength, readAll, toBuffer } from './streams.js';
import { checkSize } from './validate.js';

/** S3's largest single PUT. */
const MAX_SINGLE_PUT = 5 * 1024 * 1024 * 1024;

export interface S3WriterContext {
  readonly client: S3Client;
  readonly bucket: string;
  /** The bucket's name for messages. */
  readonly name: string;
  readonly metadata: Record<string, string> | undefined;
  readonly storageClass: StorageClass | undefined;
  /** Server-side encryption fields for PutObject and CreateMultipartUpload. */
  readonly sse: SseWriteParams;
  readonly partSize: number;
  readonly deleteBatchSize: number;
  readonly uploadConcurrency: number;
  readonly disableMultipart: boolean;
  readonly policy: RetryPolicy;
  readonly sleep: Sleep;
  readonly random: () => number;
  readonly now: () => number;
  /** One request whose failure is mapped to an ObjstoreError. */
  call<T>(op: string, key: string | undefined, fn: (client: S3Client) => Promise<T>): Promise<T>;
  mapError(op: string, key: string | undefined, err: unknown): Error;
  onRetry(op: string, key: string | undefined): (err: unknown, attempt: number, delayMs: number) => void;
  /** Removes credentials from a message. */
  redact(text: string): string;
}

export class S3Writer {
  readonly #c: S3WriterContext;

  constructor(context: S3WriterContext) {
    this.#c = context;
  }

  async upload(key: string, body: UploadBody, size?: number): Promise<void> {
    checkSize(body, size);
    if (body instanceof Uint8Array) {
      if (body.byteLength <= this.#c.partSize || this.#c.disableMultipart)
        return this.#put('upload', key, toBuffer(body));
      return this.#multipart('upload', key, toBuffer(body), body.byteLength, 'body');
    }
    if (size !== undefined && this.#c.disableMultipart) {
      return this.#putStream('upload', key, () => body, 'body stream', size, 1);
    }
    if (size !== undefined && size <= this.#c.partSize) {
      // Buffered (bounded by the part size) so the PUT has a known length and can be retried.
      return this.#put(
        'upload',
        key,
        await this.#buffer('upload', key, exactLength(body, size, `upload ${key}`), size),
      );
    }
    if (this.#c.disableMultipart) {
      return this.#put('upload', key, await this.#buffer('upload', key, body, MAX_SINGLE_PUT));
    }
    const counted = size === undefined ? body : exactLength(body, size, `upload ${key}`);
    return this.#multipart('upload', key, counted, size, 'body stream');
  }

  async uploadFile(key: string, localPath: string): Promise<void> {
    let size: number;
    try {
      size = (await stat(localPath)).size;
    } catch (err) {
      throw localFileError('upload_file', key, localPath, err);
    }
    if (size > this.#c.partSize && !this.#c.disableMultipart) {
      return this.#multipart('upload_file', key, createReadStream(localPath), size, localPath);
    }
    // Each attempt reopens the file: the SDK never replays a streaming body.
    const open = (): Readable => createReadStream(localPath);
    return this.#putStream('upload_file', key, open, localPath, size, this.#c.policy.maxAttempts);
  }

  async #put(op: string, key: string, body: Buffer): Promise<void> {
    await this.#c.call(op, key, (c) =>
      c.send(
        new PutObjectCommand({
          Bucket: this.#c.bucket,
          Key: key,
          Body: body,
          ContentLength: body.length,
          Metadata: this.#c.metadata,
          StorageClass: this.#c.storageClass,
          ...this.#c.sse,
        }),
      ),
    );
  }

  /** One PUT of a stream of known size; a body that errors or has the wrong length aborts the request. */
  async #putStream(
    op: string,
    key: string,
    open: () => Readable,
    source: string,
    size: number,
    attempts: number,
  ): Promise<void> {
    await withRetries(
      async () => {
        const abort = new AbortController();
        let bodyErr: unknown;
        const body = exactLength(open(), size, `${op} ${key}`);
        body.once('error', (err) => {
          bodyErr = err;
          abort.abort();
        });
        try {
          await this.#c.client.send(
            new PutObjectCommand({
              Bucket: this.#c.bucket,
              Key: key,
              Body: body,
              ContentLength: size,
              Metadata: this.#c.metadata,
              StorageClass: this.#c.storageClass,
              ...this.#c.sse,
            }),
            { abortSignal: abort.signal },
          );
        } catch (err) {
          body.destroy();
          if (bodyErr !== undefined) {
            throw bodyErr instanceof InvalidArgumentError
              ? bodyErr
              : localFileError(op, key, source, bodyErr);
          }
          throw this.#c.mapError(op, key, err);
        }
      },
      { ...this.#c.policy, maxAttempts: attempts },
      this.#c.sleep,
      { now: this.#c.now, random: this.#c.random, onRetry: this.#c.onRetry(op, key) },
    );
  }

  async #buffer(op: string, key: string, body: Readable, limit: number): Promise<Buffer> {
    try {
      return await readAll(body, limit, `${op} ${key}`);
    } catch (err) {
      body.destroy();
      throw err instanceof InvalidArgumentError ? err : this.#c.mapError(op, key, err);
    }
  }

  async #multipart(
    op: string,
    key: string,
    body: Buffer | Readable,
    size: number | undefined,
    source: string,
  ): Promise<void> {
    const upload = new Upload({
      client: this.#c.client,
      partSize: this.#c.partSize,
      queueSize: this.#c.uploadConcurrency,
      leavePartsOnError: false, // abort the upload so no orphaned parts are billed
      params: {
        Bucket: this.#c.bucket,
        Key: key,
        Body: body,
        Metadata: this.#c.metadata,
        StorageClass: this.#c.storageClass,
        ...this.#c.sse,
        ...(size !== undefined ? { ContentLength: size } : {}),
      },
    });
    try {
      await upload.done();
    } catch (err) {
      if (err instanceof InvalidArgumentError || err instanceof ObjstoreError) throw err;
      if (isLocalFileSystemError(err)) throw localFileError(op, key, source, err);
      throw this.#c.mapError(op, key, err);
    }
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += this.#c.deleteBatchSize) {
      let pending = keys.slice(i, i + this.#c.deleteBatchSize);
      // Per-key failures come back in a 200 answer; retry just those keys.
      await withRetries(
        async () => {
          const res = await this.#c.call('delete_many', undefined, (c) =>
            c.send(
              new DeleteObjectsCommand({
                Bucket: this.#c.bucket,
                Delete: { Objects: pending.map((Key) => ({ Key })), Quiet: true },
              }),
            ),
          );
          const failed = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey' && e.Key !== undefined);
          if (failed.length === 0) return;
          pending = failed.map((e) => e.Key as string);
          const transient = failed.some((e) => TRANSIENT_S3_CODES.has(e.Code ?? ''));
          const sample = failed
            .slice(0, 5)
            .map((e) => `${e.Key}: ${e.Code ?? '?'}`)
            .join(', ');
          throw new ObjstoreError(
            transient ? 'ERR_OBJSTORE_TRANSIENT' : 'ERR_OBJSTORE_PERMANENT',
            'delete_many',
            pending[0],
            this.#c.redact(`${this.#c.name}: delete_many: ${failed.length} keys failed (${sample})`),
          );
        },
        this.#c.policy,
        this.#c.sleep,
        { now: this.#c.now, random: this.#c.random, onRetry: this.#c.onRetry('delete_many', undefined) },
      );
    }
  }
}
