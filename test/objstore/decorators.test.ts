/**
 * Every Bucket decorator, over a filesystem bucket, passes the conformance suite: each one
 * extends ForwardingBucket and overrides only what it changes, so a forwarding slip shows here.
 */
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Bucket } from '../../src/objstore/bucket.js';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { ForwardingBucket } from '../../src/objstore/forwarding.js';
import { InstrumentedBucket } from '../../src/objstore/instrumented.js';
import { LatencyBucket } from '../../bench/latency.js';
import { PrefixedBucket } from '../../src/objstore/prefixed.js';
import { RecordingBucket } from '../block/fetcher/helpers.js';
import { FaultyBucket } from '../block/helpers.js';
import { registerConformanceTests } from './conformance.js';

let root = '';
let shared: FilesystemBucket;
let seq = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-decorators-'));
  shared = new FilesystemBucket({ directory: join(root, 'conformance'), fsync: false });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh, empty bucket under its own prefix of the shared one. */
function fresh(): Bucket {
  return new PrefixedBucket(shared, `t-${++seq}`, { closeInner: false });
}

const decorators: Array<[string, (inner: Bucket) => Bucket]> = [
  ['ForwardingBucket', (b) => new ForwardingBucket(b)],
  ['InstrumentedBucket', (b) => new InstrumentedBucket(b)],
  ['LatencyBucket', (b) => new LatencyBucket(b, { delayMs: 0, pageSize: 7 })],
  ['RecordingBucket (test)', (b) => new RecordingBucket(b)],
  ['FaultyBucket (test, no faults)', (b) => new FaultyBucket(b, () => false)],
  ['PrefixedBucket in a PrefixedBucket', (b) => new PrefixedBucket(b, 'nested/deeper')],
];

for (const [name, wrap] of decorators) {
  registerConformanceTests(name, {
    newBucket: async () => wrap(fresh()),
    paginationKeys: 300,
    largeObjectBytes: 3 * 1024 * 1024,
  });
}

describe('cleanupTemporary through decorators', () => {
  test('reaches the filesystem bucket under any stack of wrappers; 0 when the inner has none', async () => {
    const dir = join(root, 'cleanup');
    const leftover = join(dir, 't', '.strata-tmp.55555555-5555-4555-8555-555555555555');
    await mkdir(join(dir, 't'), { recursive: true });
    await writeFile(leftover, 'killed');
    const old = Date.now() / 1000 - 7200;
    await utimes(leftover, old, old);
    const stack = new InstrumentedBucket(
      new LatencyBucket(new PrefixedBucket(new FilesystemBucket({ directory: dir }), 'p'), { delayMs: 0 }),
    );
    expect(await stack.cleanupTemporary(3600_000)).toBe(1);
    expect(await readdir(dir)).toEqual([]);

    expect(await new ForwardingBucket(new PrefixedBucket(noCleanup(), '')).cleanupTemporary(0)).toBe(0);
  });
});

/** A Bucket without the optional capability, like S3Bucket. */
function noCleanup(): Bucket {
  const b = fresh();
  return {
    name: b.name,
    get: (k) => b.get(k),
    getRange: (k, o, l) => b.getRange(k, o, l),
    getStream: (k) => b.getStream(k),
    upload: (k, body, size) => b.upload(k, body, size),
    uploadFile: (k, p) => b.uploadFile(k, p),
    downloadFile: (k, p) => b.downloadFile(k, p),
    delete: (k) => b.delete(k),
    deleteMany: (ks) => b.deleteMany(ks),
    exists: (k) => b.exists(k),
    attributes: (k) => b.attributes(k),
    iter: (p, o) => b.iter(p, o),
    isNotFound: (e) => b.isNotFound(e),
    close: () => b.close(),
  };
}
