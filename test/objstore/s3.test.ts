import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { listAll } from '../../src/objstore/bucket.js';
import { createBucket, parseObjstoreConfig } from '../../src/objstore/config.js';
import { PrefixedBucket } from '../../src/objstore/prefixed.js';
import { MIB, S3Bucket, type S3BucketOptions } from '../../src/objstore/s3.js';
import { Secret } from '../../src/objstore/secret.js';
import { errorCode } from '../../src/util/errors.js';
import type { LogFields, Logger } from '../../src/util/logger.js';
import { startSwift, type SwiftService } from '../services/swift.js';
import { assertNoLeakedProcesses, freePort } from '../support/processes.js';
import { registerConformanceTests } from './conformance.js';
import { startFakeS3 } from './fake-s3.js';

// The SDK warns once per process that it will need Node 22 from 2027; not news for these tests.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

let swift: SwiftService | undefined;
let bucketName = '';
let shared: S3Bucket | undefined;
let seq = 0;
const requests = new Map<string, number>();

function swiftOptions(overrides: Partial<S3BucketOptions> = {}): S3BucketOptions {
  if (!swift) throw new Error('swift not started');
  return {
    bucket: bucketName,
    endpoint: swift.endpoint,
    region: swift.region,
    forcePathStyle: true,
    credentials: { accessKeyId: swift.accessKey, secretAccessKey: new Secret(swift.secretKey) },
    partSize: 5 * MIB,
    pageSize: 100,
    deleteBatchSize: 50,
    ...overrides,
  };
}

function countRequests(): { counts: Map<string, number>; onRequest: (c: string) => void } {
  const counts = new Map<string, number>();
  return { counts, onRequest: (c) => counts.set(c, (counts.get(c) ?? 0) + 1) };
}

function nextPrefix(): string {
  seq += 1;
  return `t${seq}-${process.pid}`;
}

beforeAll(async () => {
  swift = await startSwift();
  bucketName = await swift.bucketName();
  shared = new S3Bucket(swiftOptions(), { onRequest: (c) => requests.set(c, (requests.get(c) ?? 0) + 1) });
});

afterAll(async () => {
  await shared?.close();
  await swift?.stop();
  await assertNoLeakedProcesses();
});

registerConformanceTests('s3 (Swift s3api)', {
  newBucket: async () => {
    if (!shared) throw new Error('bucket not ready');
    return new PrefixedBucket(shared, nextPrefix(), { closeInner: false });
  },
  paginationKeys: 250,
  largeObjectBytes: 12 * MIB,
});

describe('S3 bucket against Swift', () => {
  test('request counts: ranged read, paged listing, delete, batched deleteMany, multipart', async () => {
    const { counts, onRequest } = countRequests();
    const raw = new S3Bucket(swiftOptions({ pageSize: 50 }), { onRequest });
    const b = new PrefixedBucket(raw, nextPrefix());
    try {
      const keys = Array.from({ length: 120 }, (_, i) => `k/${String(i).padStart(3, '0')}`);
      for (let i = 0; i < keys.length; i += 25) {
        await Promise.all(keys.slice(i, i + 25).map((k) => b.upload(k, Buffer.from(k))));
      }
      expect(counts.get('PutObjectCommand')).toBe(120);
      counts.clear();
      expect((await b.getRange('k/007', 1, 2)).toString()).toBe('/0');
      expect(Object.fromEntries(counts)).toEqual({ GetObjectCommand: 1 });
      counts.clear();
      expect((await listAll(b, 'k/', { recursive: true })).length).toBe(120);
      expect(Object.fromEntries(counts)).toEqual({ ListObjectsV2Command: 3 }); // pages of 50
      counts.clear();
      await b.delete('k/000');
      expect(Object.fromEntries(counts)).toEqual({ HeadObjectCommand: 1, DeleteObjectCommand: 1 });
      counts.clear();
      await b.deleteMany(keys);
      expect(Object.fromEntries(counts)).toEqual({ DeleteObjectsCommand: 3 }); // batches of 50
      counts.clear();
      await b.upload('mp', randomBytes(12 * MIB));
      expect(Object.fromEntries(counts)).toEqual({
        CreateMultipartUploadCommand: 1,
        UploadPartCommand: 3,
        CompleteMultipartUploadCommand: 1,
      });
    } finally {
      await b.close();
    }
  });

  test('put_user_metadata and a config with a scheme-less endpoint and a prefix', async () => {
    if (!swift) throw new Error('swift not started');
    const host = new URL(swift.endpoint).host;
    const prefix = nextPrefix();
    const config = parseObjstoreConfig(
      [
        'type: s3',
        'config:',
        `  bucket: ${bucketName}`,
        `  endpoint: ${host}`,
        '  insecure: true',
        `  access_key: ${swift.accessKey}`,
        `  secret_key: ${swift.secretKey}`,
        '  part_size: 5242880',
        '  put_user_metadata: { origin: strata-test }',
        '  signature_version2: false',
        `prefix: /${prefix}/sub/`,
      ].join('\n'),
    );
    expect(config.type).toBe('S3');
    const b = await createBucket(config);
    try {
      await b.upload('meta.json', Buffer.from('{}'));
      expect((await b.get('meta.json')).toString()).toBe('{}');
      expect(await listAll(b, '')).toEqual([expect.objectContaining({ key: 'meta.json', size: 2 })]);
      const raw = new S3Client({
        endpoint: swift.endpoint,
        region: swift.region,
        forcePathStyle: true,
        credentials: { accessKeyId: swift.accessKey, secretAccessKey: swift.secretKey },
      });
      const head = await raw.send(
        new HeadObjectCommand({ Bucket: bucketName, Key: `${prefix}/sub/meta.json` }),
      );
      raw.destroy();
      expect(head.Metadata).toEqual({ origin: 'strata-test' });
    } finally {
      await b.close();
    }
  });

  test('bad credentials fail permanently and the secret never shows', async () => {
    if (!swift) throw new Error('swift not started');
    const secret = 'sUp3r-s3cret-VALUE-9d1f';
    const cases = [
      new S3Bucket(
        swiftOptions({ credentials: { accessKeyId: swift.accessKey, secretAccessKey: new Secret(secret) } }),
      ),
      new S3Bucket(
        swiftOptions({ credentials: { accessKeyId: 'nobody:none', secretAccessKey: new Secret(secret) } }),
      ),
    ];
    for (const b of cases) {
      try {
        let caught: unknown;
        await b.get('anything').catch((err: unknown) => (caught = err));
        expect(errorCode(caught)).toBe('ERR_OBJSTORE_PERMANENT');
        const shown = [
          String(caught),
          inspect(caught, { depth: 20, showHidden: true }),
          JSON.stringify(caught),
          inspect(b, { depth: 20, showHidden: true }),
          JSON.stringify(b),
        ];
        for (const s of shown) expect(s).not.toContain(secret);
        expect(String(caught)).toMatch(/403|SignatureDoesNotMatch|InvalidAccessKeyId|AccessDenied/);
      } finally {
        await b.close();
      }
    }
  });
});

describe('S3 retries (scripted server)', () => {
  const noSleep = { delays: [] as number[] };
  const logged: Array<{ msg: string; fields: LogFields | undefined }> = [];
  const capture: Logger = {
    debug: (msg, fields) => void logged.push({ msg, fields }),
    info: (msg, fields) => void logged.push({ msg, fields }),
    warn: (msg, fields) => void logged.push({ msg, fields }),
    error: (msg, fields) => void logged.push({ msg, fields }),
    child: () => capture,
  };
  const fast = (fakeEndpoint: string, extra: Partial<S3BucketOptions> = {}): S3Bucket =>
    new S3Bucket(
      {
        bucket: 'b',
        endpoint: fakeEndpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'AKIAFAKE', secretAccessKey: new Secret('fake-secret-value') },
        retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000 },
        ...extra,
      },
      {
        sleep: async (ms) => {
          noSleep.delays.push(ms);
        },
        random: () => 0.5,
        logger: capture,
      },
    );

  test('throttling and 5xx are retried with backoff, then succeed', async () => {
    const body = Buffer.from('payload');
    const fake = await startFakeS3({ kind: 'object', body });
    const b = fast(fake.endpoint);
    try {
      noSleep.delays = [];
      logged.length = 0;
      fake.script = [
        { kind: 'error', status: 503, code: 'SlowDown' },
        { kind: 'error', status: 429, code: 'TooManyRequests' },
        { kind: 'error', status: 500, code: 'InternalError' },
      ];
      expect((await b.get('k')).toString()).toBe('payload');
      expect(fake.requests.length).toBe(4);
      // Full jitter with random() = 0.5: half of 100, 200, 400.
      expect(noSleep.delays).toEqual([50, 100, 200]);
      expect(logged.length).toBe(3);
      expect(logged[0]?.fields).toMatchObject({ bucket: 's3:b', attempt: 1, delayMs: 50 });
      const text = JSON.stringify(logged);
      expect(text).toContain('SlowDown');
      expect(text).not.toContain('fake-secret-value');
      expect(text).not.toContain('AKIAFAKE');
    } finally {
      await b.close();
      await fake.close();
    }
  });

  test('retries stop after maxAttempts with a TRANSIENT error; 4xx is not retried', async () => {
    const fake = await startFakeS3({ kind: 'error', status: 503, code: 'SlowDown' });
    const b = fast(fake.endpoint);
    try {
      expect(await b.get('k').catch((e: unknown) => errorCode(e))).toBe('ERR_OBJSTORE_TRANSIENT');
      expect(fake.requests.length).toBe(4);
      fake.requests.length = 0;
      fake.fallback = { kind: 'error', status: 403, code: 'AccessDenied' };
      expect(await b.get('k').catch((e: unknown) => errorCode(e))).toBe('ERR_OBJSTORE_PERMANENT');
      expect(fake.requests.length).toBe(1);
      fake.requests.length = 0;
      fake.fallback = { kind: 'error', status: 404, code: 'NoSuchKey' };
      expect(await b.get('k').catch((e: unknown) => errorCode(e))).toBe('ERR_OBJSTORE_NOT_FOUND');
      expect(fake.requests.length).toBe(1);
    } finally {
      await b.close();
      await fake.close();
    }
  });

  test('a body cut mid-stream is read again', async () => {
    const body = randomBytes(64 * 1024);
    const fake = await startFakeS3({ kind: 'object', body });
    const b = fast(fake.endpoint);
    const dir = await mkdtemp(join(tmpdir(), 'strata-s3-cut-'));
    try {
      fake.script = [{ kind: 'cut', body, sendBytes: 1000 }];
      expect((await b.get('k')).equals(body)).toBe(true);
      expect(fake.requests.length).toBe(2);
      fake.requests.length = 0;
      fake.script = [{ kind: 'cut', body, sendBytes: 5000 }];
      const out = join(dir, 'out');
      await writeFile(out, 'stale');
      await b.downloadFile('k', out);
      expect(fake.requests.length).toBe(2);
    } finally {
      await b.close();
      await fake.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('local file errors are PERMANENT and never retried, even when the response is aborted', async () => {
    const body = randomBytes(256 * 1024);
    // The response stays unfinished, so the failed write aborts it mid-body (Node 24 then
    // reports ECONNRESET on the response as well).
    const fake = await startFakeS3({ kind: 'hold', body, sendBytes: 1000 });
    const b = fast(fake.endpoint);
    const dir = await mkdtemp(join(tmpdir(), 'strata-s3-local-'));
    try {
      noSleep.delays = [];
      let caught: unknown;
      await b.downloadFile('k', join(dir, 'no-such-dir', 'x')).catch((err: unknown) => (caught = err));
      expect(errorCode(caught)).toBe('ERR_OBJSTORE_PERMANENT');
      expect(String(caught)).toContain('no-such-dir');
      expect(fake.requests.length).toBe(1);
      expect(noSleep.delays).toEqual([]);
      fake.requests.length = 0;
      await b.uploadFile('k', join(dir, 'no-such-file')).catch((err: unknown) => (caught = err));
      expect(errorCode(caught)).toBe('ERR_OBJSTORE_PERMANENT');
      expect(fake.requests.length).toBe(0);
    } finally {
      await b.close();
      await fake.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('connection refused is TRANSIENT after every attempt', async () => {
    const port = await freePort();
    const b = fast(`http://127.0.0.1:${port}`);
    try {
      noSleep.delays = [];
      expect(await b.exists('k').catch((e: unknown) => errorCode(e))).toBe('ERR_OBJSTORE_TRANSIENT');
      expect(noSleep.delays.length).toBe(3);
    } finally {
      await b.close();
    }
  });
});
