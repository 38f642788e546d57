import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compareKeys, listAll, sortsNatively } from '../../src/objstore/bucket.js';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { InstrumentedBucket } from '../../src/objstore/instrumented.js';
import { LatencyBucket } from '../../bench/latency.js';
import { normalizePrefix, PrefixedBucket } from '../../src/objstore/prefixed.js';
import { errorCode } from '../../src/util/errors.js';

let root = '';
let n = 0;

async function freshFs(): Promise<FilesystemBucket> {
  n += 1;
  return new FilesystemBucket({ directory: join(root, `b${n}`) });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-objstore-wrappers-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('compareKeys', () => {
  test('matches UTF-8 byte order', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 12 }),
        fc.string({ unit: 'binary', maxLength: 12 }),
        (a, b) => {
          const want = Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
          return Math.sign(compareKeys(a, b)) === want;
        },
      ),
      { numRuns: 1000 },
    );
    expect(compareKeys('a\uFFFD', 'a\u{1F600}')).toBeLessThan(0); // UTF-16 order says the opposite
    expect(compareKeys('a/', 'a.')).toBeGreaterThan(0);
  });

  test('JS string order agrees with it against a key sortsNatively accepts', () => {
    let plain = 0;
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 12 }),
        fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ maxLength: 12 })),
        (x, s) => {
          if (!sortsNatively(s)) return /[\ud800-\uffff]/.test(s);
          plain++;
          return x > s === compareKeys(x, s) > 0 && x < s === compareKeys(x, s) < 0;
        },
      ),
      { numRuns: 2000 },
    );
    expect(plain).toBeGreaterThan(500);
    // Where it would not: a surrogate pair sorts below U+FFFD in JS, above it in bytes.
    expect(sortsNatively('a\uFFFD')).toBe(false);
    expect(sortsNatively('01HZX5K3Q7')).toBe(true);
  });
});

describe('FilesystemBucket specifics', () => {
  test('invalid keys are rejected', async () => {
    const b = await freshFs();
    const reserved = ['.strata-tmp/x', 'a/.strata-tmp', 'a/.strata-tmp.0f3c/b', '.strata-tmp.1'];
    for (const key of ['', '/a', 'a/', 'a//b', 'a/./b', 'a/../b', '..', 'a\0b', ...reserved]) {
      expect(await b.upload(key, Buffer.from('x')).catch((e: unknown) => errorCode(e)), key).toBe(
        'ERR_INVALID_ARGUMENT',
      );
      expect(await b.get(key).catch((e: unknown) => errorCode(e)), key).toBe('ERR_INVALID_ARGUMENT');
    }
    expect(await listAll(b, '../')).toEqual([]);
    await expect(listAll(b, '/abs')).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });

  test('an object and a prefix of the same name conflict', async () => {
    const b = await freshFs();
    await b.upload('a', Buffer.from('x'));
    expect(await b.upload('a/b', Buffer.from('y')).catch((e: unknown) => errorCode(e))).toBe(
      'ERR_OBJSTORE_PERMANENT',
    );
    await b.upload('c/d', Buffer.from('y'));
    expect(await b.upload('c', Buffer.from('z')).catch((e: unknown) => errorCode(e))).toBe(
      'ERR_OBJSTORE_PERMANENT',
    );
    expect((await listAll(b, '', { recursive: true })).map((e) => e.key)).toEqual(['a', 'c/d']);
  });

  test('deletes prune empty directories; stray empty directories are not listed', async () => {
    const b = await freshFs();
    await b.upload('x/y/z', Buffer.from('1'));
    await b.upload('keep', Buffer.from('1'));
    await b.delete('x/y/z');
    await expect(stat(join(b.directory, 'x'))).rejects.toMatchObject({ code: 'ENOENT' });
    await mkdir(join(b.directory, 'e', 'f', 'g'), { recursive: true });
    expect((await listAll(b, '')).map((e) => e.key)).toEqual(['keep']);
    expect((await listAll(b, 'e/')).map((e) => e.key)).toEqual([]);
    expect((await listAll(b, '', { recursive: true })).map((e) => e.key)).toEqual(['keep']);
  });

  test('files written by hand are objects; fsync can be turned off', async () => {
    const dir = join(root, 'byhand');
    await mkdir(join(dir, 't'), { recursive: true });
    await writeFile(join(dir, 't', 'm.json'), '{}');
    const b = new FilesystemBucket({ directory: dir, fsync: false });
    expect((await b.get('t/m.json')).toString()).toBe('{}');
    await b.upload('t/n', Buffer.from('n'));
    expect((await listAll(b, 't/')).map((e) => e.key)).toEqual(['t/m.json', 't/n']);
  });
});

describe('PrefixedBucket', () => {
  test('normalizes prefixes', () => {
    expect(normalizePrefix('')).toBe('');
    expect(normalizePrefix('/')).toBe('');
    expect(normalizePrefix('a')).toBe('a/');
    expect(normalizePrefix('/a/b/')).toBe('a/b/');
  });

  test('keeps keys under the prefix and hides it from callers', async () => {
    const inner = await freshFs();
    await inner.upload('other/x', Buffer.from('o'));
    const b = new PrefixedBucket(inner, 'tenant', { closeInner: false });
    await b.upload('blk/a', Buffer.from('1'));
    await b.upload('blk/b', Buffer.from('2'));
    await b.upload('top', Buffer.from('3'));
    expect((await listAll(inner, '', { recursive: true })).map((e) => e.key)).toEqual([
      'other/x',
      'tenant/blk/a',
      'tenant/blk/b',
      'tenant/top',
    ]);
    expect((await listAll(b, '')).map((e) => e.key)).toEqual(['blk/', 'top']);
    expect((await listAll(b, '', { recursive: true, startAfter: 'blk/a' })).map((e) => e.key)).toEqual([
      'blk/b',
      'top',
    ]);
    expect(await b.exists('blk/a')).toBe(true);
    expect((await b.attributes('top')).size).toBe(1);
    await b.deleteMany(['blk/a', 'blk/b', 'nope']);
    expect((await listAll(b, '', { recursive: true })).map((e) => e.key)).toEqual(['top']);
    expect(b.isNotFound(await b.get('blk/a').catch((e: unknown) => e))).toBe(true);
    expect(b.name).toBe(inner.name);
  });
});

describe('LatencyBucket', () => {
  test('one delay per request, one per listing page', async () => {
    const inner = await freshFs();
    const slept: number[] = [];
    const b = new LatencyBucket(inner, {
      delayMs: 25,
      pageSize: 10,
      sleep: async (ms) => void slept.push(ms),
    });
    await b.upload('k', Buffer.from('v'));
    await b.get('k');
    await b.getRange('k', 0, 1);
    await b.exists('k');
    expect(slept).toEqual([25, 25, 25, 25]);
    await Promise.all(Array.from({ length: 25 }, (_, i) => inner.upload(`l/${i}`, Buffer.from('x'))));
    slept.length = 0;
    expect((await listAll(b, 'l/', { recursive: true })).length).toBe(25);
    expect(slept.length).toBe(3);
  });

  test('adds real wall time by default', async () => {
    const b = new LatencyBucket(await freshFs(), { delayMs: 30 });
    const t0 = performance.now();
    await b.exists('k');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
  });
});

describe('InstrumentedBucket', () => {
  test('counts operations and failures, times them, shares metrics on one registry', async () => {
    const registry = new Registry();
    let now = 0;
    const a = new InstrumentedBucket(await freshFs(), { registry, now: () => (now += 500) });
    const b = new InstrumentedBucket(await freshFs(), { registry });
    await a.upload('k', Buffer.from('v'));
    await a.get('k');
    await a.get('missing').catch(() => {});
    await a.upload('/bad', Buffer.from('v')).catch(() => {});
    await b.exists('k');
    expect(a.operationCounts()).toMatchObject({ upload: 2, get: 2, exists: 0 });
    expect(a.failureCounts()).toMatchObject({ upload: 1, get: 0 });
    expect(b.operationCounts().exists).toBe(1);
    const text = await registry.metrics();
    const ops = (op: string, bucket: string): RegExp =>
      new RegExp(`strata_objstore_bucket_operations_total\\{bucket="${bucket}",operation="${op}"\\} (\\d+)`);
    expect(text.match(ops('get', a.name))?.[1]).toBe('2');
    expect(text.match(ops('exists', b.name))?.[1]).toBe('1');
    expect(text).toMatch(
      new RegExp(
        `strata_objstore_bucket_operation_failures_total\\{bucket="${a.name}",operation="upload"\\} 1`,
      ),
    );
    expect(text).toMatch(
      new RegExp(
        `strata_objstore_bucket_operation_duration_seconds_sum\\{bucket="${a.name}",operation="get"\\} 1`,
      ),
    );
    a.resetCounts();
    expect(a.totalOperations()).toBe(0);
  });

  test('iter counts once and records a failed listing', async () => {
    const a = new InstrumentedBucket(await freshFs());
    await a.upload('x/1', Buffer.from('1'));
    await a.upload('x/2', Buffer.from('2'));
    for await (const _ of a.iter('', { recursive: true })) break;
    await expect(listAll(a, '/bad')).rejects.toThrow();
    expect(a.operationCounts().iter).toBe(2);
    expect(a.failureCounts().iter).toBe(1);
  });
});
