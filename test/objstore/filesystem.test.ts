import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { listAll } from '../../src/objstore/bucket.js';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { PrefixedBucket } from '../../src/objstore/prefixed.js';
import { registerConformanceTests } from './conformance.js';

let root = '';
let shared: FilesystemBucket;
let seq = 0;

/** Every temporary file or folder under dir, relative to it. */
async function temporaries(dir: string): Promise<string[]> {
  const all = await readdir(dir, { recursive: true }).catch(() => []);
  return all.filter((p) => p.split('/').some((s) => s.startsWith('.strata-tmp'))).sort();
}

async function until(cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 10));
  expect(await cond()).toBe(true);
}

async function age(path: string, seconds: number): Promise<void> {
  const t = Date.now() / 1000 - seconds;
  await utimes(path, t, t);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-fs-bucket-'));
  shared = new FilesystemBucket({ directory: join(root, 'conformance') });
});

afterAll(async () => {
  // Temp files of finished writes never stay behind.
  const leftovers = await temporaries(join(root, 'conformance'));
  await rm(root, { recursive: true, force: true });
  if (leftovers.length > 0) throw new Error(`temp files left behind: ${leftovers.join(', ')}`);
});

registerConformanceTests('filesystem', {
  newBucket: async () => new PrefixedBucket(shared, `test-${++seq}`, { closeInner: false }),
  paginationKeys: 1100,
  largeObjectBytes: 12 * 1024 * 1024,
});

const BLOCK = '01HF0000000000000000000000';

describe('FilesystemBucket temporary files', () => {
  test('a write in progress stays in its target folder: the bucket root shows only tenants', async () => {
    const dir = join(root, 'in-progress');
    const b = new FilesystemBucket({ directory: dir });
    await b.upload('tenant-a/markers/x', Buffer.from('x'));
    const body = new PassThrough();
    const done = b.upload(`tenant-a/${BLOCK}/index`, body);
    body.write(Buffer.alloc(1000, 1));
    await until(async () => (await temporaries(dir)).length === 1);
    // What Cortex/Mimir list as tenants (every top-level name) and Thanos as blocks (ULID folders).
    expect(await readdir(dir)).toEqual(['tenant-a']);
    const [tmp] = await temporaries(dir);
    expect(relative(join(dir, 'tenant-a', BLOCK), join(dir, tmp!))).toMatch(/^\.strata-tmp\.[0-9a-f-]{36}$/);
    expect((await listAll(b, '', { recursive: true })).map((e) => e.key)).toEqual(['tenant-a/markers/x']);
    expect((await listAll(b, 'tenant-a/')).map((e) => e.key)).toEqual(['tenant-a/markers/']);
    expect(await b.exists(`tenant-a/${BLOCK}/index`)).toBe(false);
    body.end(Buffer.alloc(24, 2));
    await done;
    expect((await b.get(`tenant-a/${BLOCK}/index`)).length).toBe(1024);
    expect(await temporaries(dir)).toEqual([]);
  });

  test('cleanupTemporary removes stale leftovers anywhere (and the legacy root folder), keeps fresh ones', async () => {
    const dir = join(root, 'leftovers');
    const b = new FilesystemBucket({ directory: dir });
    await b.upload(`t/${BLOCK}/meta.json`, Buffer.from('{}'));
    const files = {
      staleInBlock: join(dir, 't', BLOCK, '.strata-tmp.11111111-1111-4111-8111-111111111111'),
      freshInBlock: join(dir, 't', BLOCK, '.strata-tmp.22222222-2222-4222-8222-222222222222'),
      // A killed upload's only file: its folder goes with it.
      staleAlone: join(dir, 't', 'OTHER', 'chunks', '.strata-tmp.33333333-3333-4333-8333-333333333333'),
      staleLegacy: join(dir, '.strata-tmp', '44444444-4444-4444-8444-444444444444'),
      notOurs: join(dir, 't', BLOCK, '.strata-tmpfile'),
    };
    for (const p of Object.values(files)) {
      await mkdir(join(p, '..'), { recursive: true });
      await writeFile(p, 'killed mid-write');
      await age(p, 2 * 3600);
    }
    await age(files.freshInBlock, 60);
    expect((await listAll(b, '', { recursive: true })).map((e) => e.key)).toEqual([
      `t/${BLOCK}/.strata-tmpfile`,
      `t/${BLOCK}/meta.json`,
    ]);

    expect(await b.cleanupTemporary(3600_000)).toBe(3);
    expect(await temporaries(dir)).toEqual([
      `t/${BLOCK}/.strata-tmp.22222222-2222-4222-8222-222222222222`,
      `t/${BLOCK}/.strata-tmpfile`,
    ]);
    await expect(stat(join(dir, 't', 'OTHER'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(join(dir, '.strata-tmp'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(dir)).toEqual(['t']);
    expect(await b.cleanupTemporary(3600_000)).toBe(0);
    expect(await b.cleanupTemporary(0)).toBe(1);
    expect((await b.get(`t/${BLOCK}/meta.json`)).toString()).toBe('{}');
  });

  test('cleanupTemporary never removes this bucket’s own writes in progress, whatever the age', async () => {
    const dir = join(root, 'own-writes');
    const b = new FilesystemBucket({ directory: dir });
    const body = new PassThrough();
    const done = b.upload('t/obj', body);
    body.write(Buffer.alloc(100, 1));
    await until(async () => (await temporaries(dir)).length === 1);
    await age(join(dir, (await temporaries(dir))[0]!), 3600);
    expect(await b.cleanupTemporary(0)).toBe(0);
    // Another process (another bucket object) sees a stale file it may remove.
    const other = new FilesystemBucket({ directory: dir });
    expect(await other.cleanupTemporary(3600_000 * 2)).toBe(0);
    body.end(Buffer.alloc(24, 2));
    await done;
    expect((await b.get('t/obj')).length).toBe(124);
    expect(await temporaries(dir)).toEqual([]);
  });

  test('a temporary file removed under a write fails it as TRANSIENT, not NOT_FOUND', async () => {
    const dir = join(root, 'removed-under');
    const b = new FilesystemBucket({ directory: dir, fsync: false });
    const body = new PassThrough();
    const done = b.upload('t/obj', body).then(
      () => 'resolved',
      (err: unknown) => err,
    );
    body.write(Buffer.alloc(100, 1));
    await until(async () => (await temporaries(dir)).length === 1);
    const other = new FilesystemBucket({ directory: dir });
    expect(await other.cleanupTemporary(0)).toBe(1);
    body.end();
    expect(await done).toMatchObject({ code: 'ERR_OBJSTORE_TRANSIENT' });
    expect(await b.exists('t/obj')).toBe(false);
  });
});

describe('FilesystemBucket get', () => {
  test('objects around the first read (16 KiB) and many at once read back whole, each its own copy', async () => {
    const b = new FilesystemBucket({ directory: join(root, 'get-sizes') });
    const sizes = [0, 1, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 100_000];
    const bodies = sizes.map((n, i) => Buffer.alloc(n, i + 1));
    for (let i = 0; i < sizes.length; i++) await b.upload(`o/${i}`, bodies[i]!);
    // More gets at once than buffers are kept for reuse: none sees another's bytes.
    const got = await Promise.all(Array.from({ length: 100 }, (_, k) => b.get(`o/${k % sizes.length}`)));
    got.forEach((g, k) => expect(g.equals(bodies[k % sizes.length]!), `get ${k}`).toBe(true));
    // A returned buffer is not a view of a reused one: the next get leaves it as it was.
    const one = await b.get('o/1');
    await b.get('o/2');
    expect(one.equals(bodies[1]!)).toBe(true);
  });
});

describe('FilesystemBucket folder listings', () => {
  // Listings of up to 256 folders probe each by streaming it; longer ones read each whole.
  test.each([10, 300])(
    'a listing of %i folders shows exactly those holding an object after startAfter',
    async (n) => {
      const dir = join(root, `probes-${n}`);
      const b = new FilesystemBucket({ directory: dir });
      const name = (i: number): string => `p/f${String(i).padStart(3, '0')}`;
      for (let i = 0; i < n; i++) {
        const f = name(i);
        switch (i % 5) {
          case 0:
            await b.upload(`${f}/obj`, Buffer.from('x'));
            break;
          case 1:
            await b.upload(`${f}/a/b/obj`, Buffer.from('x'));
            break;
          case 2: // empty, and a temporary file only
            await mkdir(join(dir, f, 'empty'), { recursive: true });
            await writeFile(join(dir, f, '.strata-tmp.55555555-5555-4555-8555-555555555555'), 'x');
            break;
          case 3: // an empty folder before the one with the object
            await mkdir(join(dir, f, 'a'), { recursive: true });
            await b.upload(`${f}/z/obj`, Buffer.from('x'));
            break;
          default:
            await b.upload(`${f}/obj`, Buffer.from('x'));
            await b.upload(`${f}/m/obj`, Buffer.from('x'));
        }
      }
      // The recursive listing (no probes) is the oracle: a folder shows iff a key below it does.
      const all = (await listAll(b, 'p/', { recursive: true })).map((e) => e.key);
      for (const startAfter of [undefined, `${name(3)}/a`, `${name(4)}/m/`, `${name(5)}/obj`]) {
        const keys = all.filter((k) => startAfter === undefined || k > startAfter);
        const want = [...new Set(keys.map((k) => `${k.split('/').slice(0, 2).join('/')}/`))];
        const got = (await listAll(b, 'p/', startAfter === undefined ? {} : { startAfter })).map(
          (e) => e.key,
        );
        expect(got).toEqual(
          want.filter((k) => startAfter === undefined || k > startAfter || startAfter.startsWith(k)),
        );
      }
      expect(all.length).toBeGreaterThan(0);
    },
  );
});
