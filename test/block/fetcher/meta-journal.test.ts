/**
 * The meta journal: records survive a reopen, a torn or bit-flipped tail costs only the records
 * from the damage on, and released generations are gone. Without checkpoints there is no journal.
 */
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { MetaFetcher } from '../../../src/block/fetcher/index.js';
import { MetaJournal } from '../../../src/block/fetcher/meta-journal.js';
import { multiTenantLayout } from '../../../src/block/layout.js';
import { nopLogger } from '../../../src/util/logger.js';
import { H, RecordingBucket, T0, mkMeta, putBlock, tempBucket, ulidAt } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'journal-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const body = (i: number): Buffer => Buffer.from(`{"ulid":"B${i}","pad":"${'x'.repeat(i % 50)}"}`);

function write(n: number, tenant = 'tenant-ü'): MetaJournal {
  const j = new MetaJournal(dir, nopLogger);
  for (let i = 0; i < n; i++) j.append(tenant, `B${i}`, body(i));
  j.close();
  return j;
}

describe('meta journal', () => {
  test('records come back in order, across generations', async () => {
    write(5);
    write(3, '');
    const got = await new MetaJournal(dir, nopLogger).load();
    expect(got.map((r) => [r.tenant, r.id, r.bytes.toString()])).toStrictEqual([
      ...Array.from({ length: 5 }, (_, i) => ['tenant-ü', `B${i}`, body(i).toString()]),
      ...Array.from({ length: 3 }, (_, i) => ['', `B${i}`, body(i).toString()]),
    ]);
  });

  test('a torn tail and a flipped byte lose only the records from the damage on', async () => {
    write(10);
    const [name] = await readdir(dir);
    const path = join(dir, name!);
    const full = await readFile(path);
    await truncate(path, full.length - 3);
    expect(await new MetaJournal(dir, nopLogger).load()).toHaveLength(9);
    const flipped = Buffer.from(full);
    flipped[Math.floor(full.length / 2)]! ^= 0x01;
    await writeFile(path, flipped);
    const got = await new MetaJournal(dir, nopLogger).load();
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThan(10);
    got.forEach((r, i) => expect(r.bytes.toString()).toBe(body(i).toString()));
  });

  test('rotate then release deletes the covered generations only', async () => {
    const j = new MetaJournal(dir, nopLogger);
    j.append('t', 'A', body(1));
    const covered = j.rotate();
    j.append('t', 'B', body(2));
    await j.release(covered);
    j.close();
    const got = await new MetaJournal(dir, nopLogger).load();
    expect(got.map((r) => r.id)).toStrictEqual(['B']);
    expect(await readdir(dir)).toHaveLength(1);
  });
});

describe('without checkpoints', () => {
  test('no journal: a restart finds the metas in the file-per-block cache, as before', async () => {
    const tb = await tempBucket();
    try {
      const layout = multiTenantLayout();
      const ids = Array.from({ length: 12 }, (_, i) => ulidAt(T0 + i * H, i + 1));
      for (const id of ids) await putBlock(tb.bucket, layout, 'alpha', mkMeta(id));
      const opts = { cacheDir: tb.cacheDir, checkpoint: false };
      const a = new MetaFetcher({ bucket: tb.bucket, layout, now: () => T0 + 100 * H }, opts);
      await a.sync();
      await a.close();
      expect(a.journalAppends).toBe(0);
      const rec = new RecordingBucket(tb.bucket);
      const b = new MetaFetcher({ bucket: rec, layout, now: () => T0 + 100 * H }, opts);
      const r = await b.sync();
      await b.close();
      expect(rec.metaGets()).toEqual([]);
      expect(r.stats.cacheHits).toBe(ids.length);
      expect([...r.tenants.get('alpha')!.metas.keys()].sort()).toStrictEqual([...ids].sort());
    } finally {
      await tb.cleanup();
    }
  });
});
