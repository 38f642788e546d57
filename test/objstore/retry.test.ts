import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Bucket, IterEntry, IterOptions } from '../../src/objstore/bucket.js';
import { ObjstoreError } from '../../src/objstore/errors.js';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { ForwardingBucket, type RequestOperation } from '../../src/objstore/forwarding.js';
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  isRetryable,
  RETRYABLE_CODES,
  withRetries,
  type RetryPolicy,
} from '../../src/objstore/retry.js';
import { InvalidArgumentError, StrataError } from '../../src/util/errors.js';

/** Delegates to a real bucket, but each call first takes the next scripted failure, if any. */
class FailingBucket extends ForwardingBucket {
  readonly failures: Error[] = [];
  calls = 0;

  constructor(inner: Bucket) {
    super(inner, 'failing');
  }

  #step(): void {
    this.calls += 1;
    const f = this.failures.shift();
    if (f) throw f;
  }

  protected override async call<T>(_op: RequestOperation, fn: () => Promise<T>): Promise<T> {
    this.#step();
    return fn();
  }

  override async *iter(prefix: string, options?: IterOptions): AsyncGenerator<IterEntry> {
    this.#step();
    yield* this.inner.iter(prefix, options);
  }
}

const transient = (): ObjstoreError =>
  new ObjstoreError('ERR_OBJSTORE_TRANSIENT', 'get', 'k', 'SlowDown (503)');
const permanent = (): ObjstoreError =>
  new ObjstoreError('ERR_OBJSTORE_PERMANENT', 'get', 'k', 'AccessDenied');

function fakeTime(): { now: () => number; sleep: (ms: number) => Promise<void>; slept: number[] } {
  let t = 1_000_000;
  const slept: number[] = [];
  return {
    now: () => t,
    sleep: async (ms) => {
      slept.push(ms);
      t += ms;
    },
    slept,
  };
}

describe('retry table', () => {
  test('decides by code', () => {
    expect(isRetryable(transient())).toBe(true);
    expect(isRetryable(permanent())).toBe(false);
    expect(isRetryable(new ObjstoreError('ERR_OBJSTORE_NOT_FOUND', 'get', 'k', 'nf'))).toBe(false);
    expect(isRetryable(new ObjstoreError('ERR_OBJSTORE_CONFIG', 'init', undefined, 'bad'))).toBe(false);
    expect(isRetryable(new InvalidArgumentError('bad'))).toBe(false);
    expect(isRetryable(new StrataError('ERR_TSDB_CORRUPT', 'x'))).toBe(false);
    expect(isRetryable(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isRetryable(Object.assign(new Error('full'), { code: 'ENOSPC' }))).toBe(false);
    expect(isRetryable(new Error('plain'))).toBe(false);
    expect(isRetryable('string')).toBe(false);
    expect(isRetryable(undefined)).toBe(false);
    expect(Object.entries(RETRYABLE_CODES).filter(([, v]) => v).length).toBeGreaterThan(5);
  });

  test('backoff doubles up to the cap, with full jitter', () => {
    const p: RetryPolicy = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(p, n, () => 0.999999))).toEqual([
      99, 199, 399, 799, 999, 999,
    ]);
    expect(backoffDelay(p, 3, () => 0)).toBe(0);
    expect(backoffDelay(p, 3, () => 0.5)).toBe(200);
  });
});

describe('withRetries around a failing bucket', () => {
  let dir = '';
  let bucket: FailingBucket;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strata-retry-'));
    const fs = new FilesystemBucket({ directory: dir });
    await fs.upload('k', Buffer.from('value'));
    bucket = new FailingBucket(fs);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const policy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 10_000 };

  test('transient failures are retried with growing sleeps until success', async () => {
    const t = fakeTime();
    bucket.calls = 0;
    bucket.failures.push(transient(), transient(), Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
    const retried: number[] = [];
    const v = await withRetries(() => bucket.get('k'), policy, t.sleep, {
      now: t.now,
      random: () => 0.5,
      onRetry: (_e, attempt) => retried.push(attempt),
    });
    expect(v.toString()).toBe('value');
    expect(bucket.calls).toBe(4);
    expect(t.slept).toEqual([50, 100, 200]);
    expect(retried).toEqual([1, 2, 3]);
  });

  test('permanent and not-found errors fail at once', async () => {
    const t = fakeTime();
    bucket.calls = 0;
    bucket.failures.push(permanent());
    await expect(withRetries(() => bucket.get('k'), policy, t.sleep, { now: t.now })).rejects.toThrow(
      'AccessDenied',
    );
    expect(bucket.calls).toBe(1);
    bucket.calls = 0;
    const err = await withRetries(() => bucket.get('missing'), policy, t.sleep, { now: t.now }).catch(
      (e: unknown) => e,
    );
    expect(bucket.isNotFound(err)).toBe(true);
    expect(bucket.calls).toBe(1);
    expect(t.slept).toEqual([]);
  });

  test('gives up after maxAttempts with the last error', async () => {
    const t = fakeTime();
    bucket.calls = 0;
    for (let i = 0; i < 10; i++) bucket.failures.push(transient());
    await expect(
      withRetries(() => bucket.exists('k'), policy, t.sleep, { now: t.now }),
    ).rejects.toMatchObject({
      code: 'ERR_OBJSTORE_TRANSIENT',
    });
    expect(bucket.calls).toBe(5);
    expect(t.slept.length).toBe(4);
    bucket.failures.length = 0;
  });

  test('gives up when the next sleep would pass maxElapsedMs', async () => {
    const t = fakeTime();
    bucket.calls = 0;
    for (let i = 0; i < 10; i++) bucket.failures.push(transient());
    const p: RetryPolicy = { maxAttempts: 10, baseDelayMs: 1000, maxDelayMs: 1000, maxElapsedMs: 2500 };
    await expect(
      withRetries(() => bucket.get('k'), p, t.sleep, { now: t.now, random: () => 0.99 }),
    ).rejects.toThrow();
    expect(t.slept).toEqual([990, 990]);
    expect(bucket.calls).toBe(3);
    bucket.failures.length = 0;
  });

  test('the default policy is bounded', () => {
    expect(DEFAULT_RETRY_POLICY.maxAttempts).toBeGreaterThan(1);
    expect(DEFAULT_RETRY_POLICY.maxElapsedMs).toBeDefined();
  });
});
