/**
 * The Bucket contract, as vitest tests any implementation must pass. A test file calls
 * `registerConformanceTests` with a factory that hands each test a fresh, empty bucket under
 * its own prefix.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { listAll, type Bucket, type IterEntry, type IterOptions } from '../../src/objstore/bucket.js';
import { InstrumentedBucket } from '../../src/objstore/instrumented.js';
import { errorCode } from '../../src/util/errors.js';

export interface ConformanceOptions {
  /** A fresh, empty bucket for one test, under a prefix no other test uses. */
  newBucket: () => Promise<Bucket>;
  /** Keys to list in the pagination test (more than one page of the implementation). */
  paginationKeys: number;
  /** Size of the large-object tests; above the multipart part size for S3. */
  largeObjectBytes: number;
}

const MIB = 1024 * 1024;

function keysOf(entries: IterEntry[]): string[] {
  return entries.map((e) => e.key);
}

async function keys(b: Bucket, prefix: string, options?: IterOptions): Promise<string[]> {
  return keysOf(await listAll(b, prefix, options));
}

/** What S3 does: sort by UTF-8 bytes. */
function byteSorted(list: readonly string[]): string[] {
  return [...list].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return errorCode(err);
  }
  return 'resolved';
}

async function putAll(
  b: Bucket,
  list: readonly string[],
  body: (k: string) => Buffer = (k) => Buffer.from(k),
) {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < list.length) {
      const k = list[next++] as string;
      await b.upload(k, body(k));
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

async function drain(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

export function registerConformanceTests(name: string, opts: ConformanceOptions): void {
  describe(`Bucket conformance: ${name}`, () => {
    let localDir = '';
    let large: Buffer;
    let largeFile = '';

    beforeAll(async () => {
      localDir = await mkdtemp(join(tmpdir(), 'strata-objstore-conf-'));
      large = randomBytes(opts.largeObjectBytes);
      largeFile = join(localDir, 'large.bin');
      await writeFile(largeFile, large);
    });

    afterAll(async () => {
      if (localDir) await rm(localDir, { recursive: true, force: true });
    });

    test('upload and get round-trip: text, binary, Uint8Array, empty, overwrite', async () => {
      const b = await opts.newBucket();
      const binary = Buffer.concat([
        Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
        randomBytes(100_000),
      ]);
      await b.upload('text', Buffer.from('hello'));
      await b.upload('dir/binary', binary);
      await b.upload('u8', new Uint8Array([1, 2, 3]));
      await b.upload('empty', Buffer.alloc(0));
      expect((await b.get('text')).toString()).toBe('hello');
      expect((await b.get('dir/binary')).equals(binary)).toBe(true);
      expect([...(await b.get('u8'))]).toEqual([1, 2, 3]);
      expect((await b.get('empty')).length).toBe(0);
      expect((await b.attributes('empty')).size).toBe(0);
      await b.upload('text', Buffer.from('replaced'));
      expect((await b.get('text')).toString()).toBe('replaced');
    });

    test('stream uploads with and without a size; a wrong size fails and writes nothing', async () => {
      const b = await opts.newBucket();
      const parts = [Buffer.from('ab'), Buffer.from('cd'), Buffer.from('e')];
      await b.upload('sized', Readable.from(parts), 5);
      await b.upload('unsized', Readable.from(parts));
      expect((await b.get('sized')).toString()).toBe('abcde');
      expect((await b.get('unsized')).toString()).toBe('abcde');
      expect(await codeOf(b.upload('short', Readable.from(parts), 6))).toBe('ERR_INVALID_ARGUMENT');
      expect(await codeOf(b.upload('long', Readable.from(parts), 4))).toBe('ERR_INVALID_ARGUMENT');
      expect(await codeOf(b.upload('buf', Buffer.from('abc'), 4))).toBe('ERR_INVALID_ARGUMENT');
      expect(await b.exists('short')).toBe(false);
      expect(await b.exists('long')).toBe(false);
      expect(await b.exists('buf')).toBe(false);
    });

    test('missing objects: NOT_FOUND for get, getRange, getStream, attributes, delete, downloadFile', async () => {
      const b = await opts.newBucket();
      await b.upload('dir/child', Buffer.from('x'));
      for (const key of ['missing', 'dir/missing', 'dir']) {
        const ops: Array<Promise<unknown>> = [
          b.get(key),
          b.getRange(key, 0, 10),
          b.getRange(key, 0, 0),
          b.getStream(key),
          b.attributes(key),
          b.delete(key),
          b.downloadFile(key, join(localDir, 'never-written')),
        ];
        const caughtAll = await Promise.all(
          ops.map((p) =>
            p.then(
              () => undefined,
              (err: unknown) => err,
            ),
          ),
        );
        for (const caught of caughtAll) {
          expect(errorCode(caught), key).toBe('ERR_OBJSTORE_NOT_FOUND');
          expect(b.isNotFound(caught)).toBe(true);
        }
        expect(await b.exists(key)).toBe(false);
      }
      await expect(stat(join(localDir, 'never-written'))).rejects.toThrow();
      expect(b.isNotFound(new Error('other'))).toBe(false);
    });

    test('getRange at start, middle, end, across and past the end', async () => {
      const b = await opts.newBucket();
      const data = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
      await b.upload('r', data);
      const range = async (off: number, len: number): Promise<number[]> => [
        ...(await b.getRange('r', off, len)),
      ];
      expect(await range(0, 10)).toEqual([...data.subarray(0, 10)]);
      expect(await range(45, 10)).toEqual([...data.subarray(45, 55)]);
      expect(await range(90, 10)).toEqual([...data.subarray(90, 100)]);
      expect(await range(0, 100)).toEqual([...data]);
      // Past the end: the bytes that exist, then nothing; never an error.
      expect(await range(95, 10)).toEqual([95, 96, 97, 98, 99]);
      expect(await range(100, 5)).toEqual([]);
      expect(await range(1000, 5)).toEqual([]);
      expect(await range(10, 0)).toEqual([]);
      expect(await codeOf(b.getRange('r', -1, 5))).toBe('ERR_INVALID_ARGUMENT');
      expect(await codeOf(b.getRange('r', 0, -5))).toBe('ERR_INVALID_ARGUMENT');
      await b.upload('empty', Buffer.alloc(0));
      expect([...(await b.getRange('empty', 0, 10))]).toEqual([]);
    });

    test('exists and attributes (size, lastModified)', async () => {
      const b = await opts.newBucket();
      const before = Date.now();
      await b.upload('a/obj', Buffer.alloc(1234, 7));
      const after = Date.now();
      expect(await b.exists('a/obj')).toBe(true);
      expect(await b.exists('a')).toBe(false);
      const attrs = await b.attributes('a/obj');
      expect(attrs.size).toBe(1234);
      expect(attrs.lastModified).toBeInstanceOf(Date);
      // S3 stores seconds: allow the truncation plus a little clock slack.
      expect(attrs.lastModified.getTime()).toBeGreaterThanOrEqual(before - 2000);
      expect(attrs.lastModified.getTime()).toBeLessThanOrEqual(after + 2000);
    });

    test('iter: non-recursive groups at "/", recursive lists every object, prefixes are plain strings', async () => {
      const b = await opts.newBucket();
      await putAll(b, ['a', 'b/c', 'b/d/e', 'f.txt', 'f/g', 'h/i/j/k']);
      expect(await keys(b, '')).toEqual(['a', 'b/', 'f.txt', 'f/', 'h/']);
      expect(await keys(b, '', { recursive: true })).toEqual([
        'a',
        'b/c',
        'b/d/e',
        'f.txt',
        'f/g',
        'h/i/j/k',
      ]);
      expect(await keys(b, 'b/')).toEqual(['b/c', 'b/d/']);
      expect(await keys(b, 'b/', { recursive: true })).toEqual(['b/c', 'b/d/e']);
      expect(await keys(b, 'b')).toEqual(['b/']);
      expect(await keys(b, 'f')).toEqual(['f.txt', 'f/']);
      expect(await keys(b, 'h/i/')).toEqual(['h/i/j/']);
      expect(await keys(b, 'nope/')).toEqual([]);
      expect(await keys(b, 'zzz')).toEqual([]);
      const entries = await listAll(b, '');
      expect(entries.find((e) => e.key === 'a')?.size).toBe(1);
      expect(entries.find((e) => e.key === 'b/')?.size).toBeUndefined();
      const deep = await listAll(b, '', { recursive: true });
      expect(deep.every((e) => typeof e.size === 'number' && e.lastModified instanceof Date)).toBe(true);
    });

    test('iter orders keys by UTF-8 bytes (not UTF-16), directories sort as "name/"', async () => {
      const b = await opts.newBucket();
      const list = ['a-b', 'a/b', 'a.b', 'a0', 'aé', 'a\u{1F600}', 'a\uFFFD', 'a+b', 'a b', 'A', 'z/y'];
      await putAll(b, list);
      expect(await keys(b, '', { recursive: true })).toEqual(byteSorted(list));
      expect(await keys(b, '')).toEqual(
        byteSorted(list.map((k) => (k.includes('/') ? `${k.split('/')[0]}/` : k))),
      );
      for (const k of list) expect((await b.get(k)).toString()).toBe(k);
    });

    test('iter startAfter behaves like S3 StartAfter', async () => {
      const b = await opts.newBucket();
      await putAll(b, ['x/a', 'x/b', 'x/c/d', 'x/c/e', 'x/d', 'xa', 'p/a/1', 'p/a/2', 'p/a-b', 'p/a0']);
      const rec = (startAfter: string, prefix = 'x'): Promise<string[]> =>
        keys(b, prefix, { recursive: true, startAfter });
      const flat = (startAfter: string, prefix = 'x/'): Promise<string[]> => keys(b, prefix, { startAfter });
      expect(await rec('x/b')).toEqual(['x/c/d', 'x/c/e', 'x/d', 'xa']);
      expect(await rec('x/bb')).toEqual(['x/c/d', 'x/c/e', 'x/d', 'xa']);
      // startAfter that is a prefix of keys: they are all greater than it.
      expect(await rec('x/c')).toEqual(['x/c/d', 'x/c/e', 'x/d', 'xa']);
      expect(await rec('x/c/')).toEqual(['x/c/d', 'x/c/e', 'x/d', 'xa']);
      expect(await rec('x/c/d')).toEqual(['x/c/e', 'x/d', 'xa']);
      expect(await rec('a')).toEqual(['x/a', 'x/b', 'x/c/d', 'x/c/e', 'x/d', 'xa']);
      expect(await rec('zzz')).toEqual([]);
      // Non-recursive: a directory is listed while it holds keys after startAfter, except itself.
      expect(await flat('x/b')).toEqual(['x/c/', 'x/d']);
      expect(await flat('x/c/d')).toEqual(['x/c/', 'x/d']);
      expect(await flat('x/c/')).toEqual(['x/d']);
      expect(await flat('x/c/e')).toEqual(['x/d']);
      // Keys that differ right after '/': '-' < '/' < '0'.
      expect(await keys(b, 'p/', { recursive: true })).toEqual(['p/a-b', 'p/a/1', 'p/a/2', 'p/a0']);
      expect(await rec('p/a/1', 'p/')).toEqual(['p/a/2', 'p/a0']);
      expect(await rec('p/a-b', 'p/')).toEqual(['p/a/1', 'p/a/2', 'p/a0']);
      expect(await flat('p/a-b', 'p/')).toEqual(['p/a/', 'p/a0']);
      expect(await flat('p/a/', 'p/')).toEqual(['p/a0']);
    });

    test('iter startAfter with non-ASCII keys uses byte order', async () => {
      const b = await opts.newBucket();
      await putAll(b, ['n/e', 'n/z', 'n/é', 'n/\uFFFD', 'n/\u{1F600}/x', 'n/\u{1F601}']);
      expect(await keys(b, 'n/', { recursive: true, startAfter: 'n/z' })).toEqual([
        'n/é',
        'n/\uFFFD',
        'n/\u{1F600}/x',
        'n/\u{1F601}',
      ]);
      expect(await keys(b, 'n/', { recursive: true, startAfter: 'n/\uFFFD' })).toEqual([
        'n/\u{1F600}/x',
        'n/\u{1F601}',
      ]);
      expect(await keys(b, 'n/', { startAfter: 'n/é' })).toEqual(['n/\uFFFD', 'n/\u{1F600}/', 'n/\u{1F601}']);
    });

    test('resuming a listing from its last entry visits every entry once', async () => {
      const b = await opts.newBucket();
      await putAll(b, ['r/a', 'r/b/1', 'r/b/2', 'r/b0', 'r/c/d/e', 'r/c-', 'r/é', 'r/z']);
      for (const recursive of [false, true]) {
        const all = await keys(b, 'r/', { recursive });
        const seen: string[] = [];
        let after: string | undefined;
        for (;;) {
          const first: string | undefined = (
            await keys(b, 'r/', { recursive, ...(after ? { startAfter: after } : {}) })
          )[0];
          if (first === undefined) break;
          seen.push(first);
          after = first;
        }
        expect(seen).toEqual(all);
      }
    });

    test('listing more than one page, with and without startAfter', async () => {
      const b = await opts.newBucket();
      const n = opts.paginationKeys;
      const objects = Array.from({ length: n }, (_, i) => `many/${String(i).padStart(5, '0')}`);
      await putAll(b, objects, () => Buffer.alloc(0));
      const rec = await keys(b, 'many/', { recursive: true });
      expect(rec).toEqual(objects);
      const mid = objects[Math.floor(n / 3)] as string;
      expect(await keys(b, 'many/', { recursive: true, startAfter: mid })).toEqual(
        objects.slice(Math.floor(n / 3) + 1),
      );
      // Directories across pages: half the entries are prefixes.
      const mixed = Array.from(
        { length: 60 },
        (_, i) => `mix/${String(i).padStart(3, '0')}${i % 2 === 0 ? '/x' : ''}`,
      );
      await putAll(b, mixed, () => Buffer.alloc(0));
      expect(await keys(b, 'mix/')).toEqual(mixed.map((k) => k.replace(/\/x$/, '/')));
    });

    test('delete removes the object, a second delete is NOT_FOUND, no empty prefixes remain', async () => {
      const b = await opts.newBucket();
      await putAll(b, ['d/e/f', 'd/g', 'keep']);
      await b.delete('d/e/f');
      expect(await b.exists('d/e/f')).toBe(false);
      expect(await codeOf(b.delete('d/e/f'))).toBe('ERR_OBJSTORE_NOT_FOUND');
      expect(await keys(b, 'd/')).toEqual(['d/g']);
      await b.delete('d/g');
      expect(await keys(b, '')).toEqual(['keep']);
      expect(await keys(b, '', { recursive: true })).toEqual(['keep']);
    });

    test('deleteMany with 0, 1 and many keys, including missing ones', async () => {
      const b = await opts.newBucket();
      await b.deleteMany([]);
      await b.upload('one', Buffer.from('1'));
      await b.deleteMany(['one']);
      expect(await b.exists('one')).toBe(false);
      const many = Array.from({ length: 120 }, (_, i) => `m/${i % 3}/${i}`);
      await putAll(b, [...many, 'survivor']);
      await b.deleteMany([...many, 'm/missing', 'never/was', 'one']);
      expect(await keys(b, '', { recursive: true })).toEqual(['survivor']);
      expect(await keys(b, '')).toEqual(['survivor']);
    });

    test('uploadFile and downloadFile of a multi-MB file', async () => {
      const b = await opts.newBucket();
      await b.uploadFile('big/file', largeFile);
      expect((await b.attributes('big/file')).size).toBe(large.length);
      const out = join(localDir, 'downloaded.bin');
      await b.downloadFile('big/file', out);
      expect(sha256(await readFile(out))).toBe(sha256(large));
      expect(sha256(Buffer.from(await b.getRange('big/file', large.length - MIB, 2 * MIB)))).toBe(
        sha256(large.subarray(large.length - MIB)),
      );
      // Local trouble is a local error, never "object not found"; a missing object leaves local files alone.
      expect(await codeOf(b.downloadFile('big/file', join(localDir, 'no-such-dir', 'x')))).toBe(
        'ERR_OBJSTORE_PERMANENT',
      );
      const existing = join(localDir, 'existing.txt');
      await writeFile(existing, 'mine');
      expect(await codeOf(b.downloadFile('missing', existing))).toBe('ERR_OBJSTORE_NOT_FOUND');
      expect((await readFile(existing)).toString()).toBe('mine');
      const err = await codeOf(b.uploadFile('x', join(localDir, 'no-such-file')));
      expect(err).toBe('ERR_OBJSTORE_PERMANENT');
      expect(await b.exists('x')).toBe(false);
    });

    test('large uploads from a Buffer and from a stream of unknown size', async () => {
      const b = await opts.newBucket();
      await b.upload('buf', large);
      expect(sha256(await b.get('buf'))).toBe(sha256(large));
      const chunks = Array.from({ length: Math.ceil(large.length / 65536) }, (_, i) =>
        large.subarray(i * 65536, (i + 1) * 65536),
      );
      await b.upload('stream', Readable.from(chunks));
      expect((await b.attributes('stream')).size).toBe(large.length);
      await b.upload('sized-stream', Readable.from(chunks), large.length);
      expect(sha256(await drain(await b.getStream('sized-stream')))).toBe(sha256(large));
    });

    test('getStream reads the object and can be abandoned early', async () => {
      const b = await opts.newBucket();
      await b.upload('s', large);
      const s = await b.getStream('s');
      for await (const chunk of s) {
        expect((chunk as Buffer).length).toBeGreaterThan(0);
        break; // destroys the stream
      }
      expect(s.destroyed).toBe(true);
      expect((await drain(await b.getStream('s'))).length).toBe(large.length);
      await b.upload('e', Buffer.alloc(0));
      expect((await drain(await b.getStream('e'))).length).toBe(0);
    });

    test('concurrent writers to one key: readers see one whole version', async () => {
      const b = await opts.newBucket();
      const versions = Array.from({ length: 8 }, (_, i) => Buffer.alloc(200_000, i + 1));
      await Promise.all(versions.map((v) => b.upload('k', v)));
      const got = await b.get('k');
      expect(versions.some((v) => v.equals(got))).toBe(true);
      expect(await keys(b, '', { recursive: true })).toEqual(['k']);
    });

    test('instrumented wrapper counts one operation per call', async () => {
      const registry = new Registry();
      const b = new InstrumentedBucket(await opts.newBucket(), { registry });
      await b.upload('o', Buffer.from('0123456789'));
      b.resetCounts();
      expect([...(await b.getRange('o', 2, 3))]).toEqual([...Buffer.from('234')]);
      expect(b.operationCounts().get_range).toBe(1);
      expect(b.totalOperations()).toBe(1);
      await b.get('missing').catch(() => {});
      await listAll(b, '');
      const counts = b.operationCounts();
      expect(counts.get).toBe(1);
      expect(counts.iter).toBe(1);
      expect(b.failureCounts().get).toBe(0); // not-found is an answer, not a failure
      const text = await registry.metrics();
      expect(text).toMatch(
        /strata_objstore_bucket_operations_total\{bucket="[^"]+",operation="get_range"\} 1/,
      );
      expect(text).toMatch(/strata_objstore_bucket_operations_total\{bucket="[^"]+",operation="upload"\} 1/);
    });
  });
}
