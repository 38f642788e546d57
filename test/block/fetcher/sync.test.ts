import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { Registry } from 'prom-client';
import { buildBucketIndex, writeBucketIndex } from '../../../src/block/bucket-index.js';
import { deleteBlock, markForDeletion } from '../../../src/block/delete.js';
import { multiTenantLayout, singleTenantLayout } from '../../../src/block/layout.js';
import { MetaFetcher, type MetaFetcherOptions } from '../../../src/block/fetcher/index.js';
import { readCheckpointFile } from '../../../src/block/fetcher/checkpoint.js';
import { join } from 'node:path';
import {
  H,
  T0,
  RecordingBucket,
  blockSet,
  mkMeta,
  putBlock,
  tempBucket,
  ulidAt,
  type TempBucket,
} from './helpers.js';

const layout = multiTenantLayout();
const TENANTS = ['team-a', 'team-b', 'team-c'];
const NOW = T0 + 2000 * H;

let tb: TempBucket;
let rec: RecordingBucket;

beforeEach(async () => {
  tb = await tempBucket();
  rec = new RecordingBucket(tb.bucket);
});

afterEach(async () => {
  await tb.cleanup();
});

async function seed(perTenant: number): Promise<Map<string, string[]>> {
  const ids = new Map<string, string[]>();
  let seq = 0;
  for (const t of TENANTS) {
    const list: string[] = [];
    for (let i = 0; i < perTenant; i++) {
      const id = ulidAt(T0 + i * 2 * H, ++seq);
      await putBlock(tb.bucket, layout, t, mkMeta(id, { minTime: T0 + i * 2 * H }));
      list.push(id);
    }
    ids.set(t, list);
  }
  return ids;
}

function fetcher(options: MetaFetcherOptions = {}, now = (): number => NOW): MetaFetcher {
  return new MetaFetcher(
    { bucket: rec, layout, registry: new Registry(), now },
    { cacheDir: tb.cacheDir, ...options },
  );
}

describe('fetcher sync (filesystem bucket)', () => {
  test('a repeated sync reads no known meta.json and lists with startAfter', async () => {
    const ids = await seed(20);
    const f = fetcher();
    const r1 = await f.sync();
    expect([...r1.tenants.keys()]).toEqual(TENANTS);
    for (const t of TENANTS) {
      expect([...r1.tenants.get(t)!.metas.keys()].sort()).toEqual(ids.get(t));
      expect(r1.tenants.get(t)!.counts.loaded).toBe(20);
      expect(r1.tenants.get(t)!.discovery).toBe('full');
    }
    expect(rec.metaGets()).toHaveLength(60);
    expect(r1.stats.metaReads).toBe(60);
    expect(r1.stats.requests.get).toBe(60);
    // Tenant discovery and one listing per tenant: no tenant has a markers/ folder to list.
    expect(r1.stats.requests.iter).toBe(1 + TENANTS.length);

    rec.reset();
    const r2 = await f.sync();
    expect(blockSet(r2.tenants)).toEqual(blockSet(r1.tenants));
    expect(rec.metaGets()).toHaveLength(0);
    expect(r2.stats.requests.get).toBe(0);
    for (const t of TENANTS) {
      const last = ids.get(t)!.at(-1)!;
      const call = rec.iters.find((c) => c.prefix === `${t}/`);
      expect(call?.options.startAfter).toBe(`${t}/${last}/`);
      expect(r2.tenants.get(t)!.discovery).toBe('tail');
    }

    // One new block: one meta.json read, same number of listings.
    const fresh = ulidAt(T0 + 500 * H, 9999);
    await putBlock(tb.bucket, layout, 'team-b', mkMeta(fresh));
    rec.reset();
    const r3 = await f.sync();
    expect(rec.metaGets()).toEqual([`team-b/${fresh}/meta.json`]);
    expect(r3.stats.requests.get).toBe(1);
    expect(r3.stats.requests.iter).toBe(1 + TENANTS.length);
    expect(r3.tenants.get('team-b')!.metas.has(fresh)).toBe(true);
    // Results share the fetcher's maps copy-on-write: earlier results never change.
    expect(r2.tenants.get('team-b')!.metas.has(fresh)).toBe(false);
    expect(r2.tenants.get('team-b')!.metas.size).toBe(20);
    // A sync that changes nothing writes no checkpoint.
    await f.flushCheckpoint(); // r3's changes are written in the background
    const writes = f.checkpointWrites;
    await f.sync();
    expect(f.checkpointWrites).toBe(writes);
    await f.close();

    // The checkpoint on disk names every block and the watermark.
    const cp = await readCheckpointFile(join(tb.cacheDir, 'checkpoint.json.gz'));
    expect(cp?.tenants.get('team-b')?.after).toBe(fresh);
    expect(cp?.tenants.get('team-b')?.known).toHaveLength(21);
  });

  test("a tenant's markers/ folder is listed once its listing shows one, alongside it while it lasts", async () => {
    const ids = await seed(4);
    const f = fetcher();
    await f.sync();
    const markersListings = (): number => rec.iters.filter((c) => c.prefix === 'team-b/markers/').length;
    // A deletion mark (in the block and as the tenant's copy) appears between two tail syncs.
    const victim = ids.get('team-b')![0]!;
    await markForDeletion(tb.bucket, layout, 'team-b', victim, 'test', NOW);
    rec.reset();
    const r1 = await f.sync();
    expect(r1.tenants.get('team-b')!.discovery).toBe('tail');
    expect([...r1.tenants.get('team-b')!.deletionMarks.keys()]).toEqual([victim]);
    expect(markersListings()).toBe(1);
    expect(r1.stats.requests.iter).toBe(1 + TENANTS.length + 1);
    // Known now: listed again (alongside the blocks), the mark still there.
    rec.reset();
    const r2 = await f.sync();
    expect([...r2.tenants.get('team-b')!.deletionMarks.keys()]).toEqual([victim]);
    expect(markersListings()).toBe(1);
    // The folder goes (block deleted): the mark goes with it, and the next sync lists no markers/.
    await deleteBlock(tb.bucket, layout, 'team-b', victim);
    rec.reset();
    const r3 = await f.sync();
    expect(r3.tenants.get('team-b')!.deletionMarks.size).toBe(0);
    expect(markersListings()).toBe(1);
    rec.reset();
    const r4 = await f.sync();
    expect(r4.tenants.get('team-b')!.deletionMarks.size).toBe(0);
    expect(markersListings()).toBe(0);
    // A restart lists it when the listing shows it, from the first sync.
    await markForDeletion(tb.bucket, layout, 'team-b', ids.get('team-b')![1]!, 'test', NOW);
    await f.close();
    rec.reset();
    const g = fetcher();
    const r5 = await g.sync();
    expect([...r5.tenants.get('team-b')!.deletionMarks.keys()]).toEqual([ids.get('team-b')![1]]);
    expect(markersListings()).toBe(1);
    await g.close();
  });

  test('a restarted fetcher reads nothing it read before', async () => {
    await seed(10);
    const f1 = fetcher();
    const r1 = await f1.sync();
    await f1.close();
    rec.reset();
    const f2 = fetcher();
    const r2 = await f2.sync();
    expect(blockSet(r2.tenants)).toEqual(blockSet(r1.tenants));
    expect(rec.metaGets()).toHaveLength(0);
    expect(r2.tenants.get('team-a')!.discovery).toBe('tail');
    await f2.close();
  });

  test('without checkpoints every sync lists everything, but known metas are still not re-read', async () => {
    await seed(5);
    const f = fetcher({ checkpoint: false });
    await f.sync();
    rec.reset();
    const r = await f.sync();
    expect(rec.iters.every((c) => c.options.startAfter === undefined)).toBe(true);
    expect(rec.metaGets()).toHaveLength(0);
    expect(r.tenants.get('team-a')!.discovery).toBe('full');
    await f.close();
  });

  test('blocks deleted through the cleaner path disappear at the next sync', async () => {
    const ids = await seed(6);
    const f = fetcher();
    const victim = ids.get('team-a')![2]!;
    await markForDeletion(tb.bucket, layout, 'team-a', victim, 'compacted', NOW);
    const r1 = await f.sync();
    expect(r1.tenants.get('team-a')!.deletionMarks.has(victim)).toBe(true);
    expect(r1.tenants.get('team-a')!.metas.has(victim)).toBe(true); // no filter configured
    await deleteBlock(tb.bucket, layout, 'team-a', victim);
    rec.reset();
    const r2 = await f.sync();
    expect(r2.tenants.get('team-a')!.discovery).toBe('tail');
    expect(r2.tenants.get('team-a')!.metas.has(victim)).toBe(false);
    expect(r2.stats.dropped).toBe(1);
    // One exists() settles it; no listing of the whole tenant.
    expect(r2.stats.requests.exists).toBe(1);
    expect([...f.checkpoint().tenants.get('team-a')!.known]).not.toContain(victim);
    await f.close();
  });

  test('blocks deleted without a mark disappear at the next full listing', async () => {
    const ids = await seed(6);
    const f = fetcher({ fullListEvery: 3 });
    await f.sync(); // full (first)
    const victim = ids.get('team-c')![0]!;
    await deleteBlock(tb.bucket, layout, 'team-c', victim);
    const r2 = await f.sync(); // tail: not seen yet
    expect(r2.tenants.get('team-c')!.discovery).toBe('tail');
    expect(r2.tenants.get('team-c')!.metas.has(victim)).toBe(true);
    await f.sync(); // tail
    const r4 = await f.sync(); // third since the full one: full
    expect(r4.tenants.get('team-c')!.discovery).toBe('full');
    expect(r4.tenants.get('team-c')!.metas.has(victim)).toBe(false);
    expect([...f.checkpoint().tenants.get('team-c')!.known]).not.toContain(victim);
    await f.close();
  });

  test('late uploads with old ULIDs: caught by the relist window or the next full listing', async () => {
    await seed(4);
    let now = NOW;
    const f = fetcher({ fullListEvery: 3, relistWindowMs: 10 * H }, () => now);
    await f.sync();
    // Minted 5h before "now", uploaded after the newest block: inside the 10h window.
    const recent = ulidAt(now - 5 * H, 1);
    const newer = ulidAt(now - 1 * H, 2);
    await putBlock(tb.bucket, layout, 'team-a', mkMeta(newer));
    await f.sync();
    await putBlock(tb.bucket, layout, 'team-a', mkMeta(recent));
    const r = await f.sync();
    expect(r.tenants.get('team-a')!.metas.has(recent)).toBe(true);
    // An old ULID (outside the window, below the watermark) waits for the full listing.
    const old = ulidAt(T0 - 100 * H, 3);
    await putBlock(tb.bucket, layout, 'team-a', mkMeta(old));
    now += H;
    const r2 = await f.sync();
    expect(r2.tenants.get('team-a')!.discovery).toBe('full');
    expect(r2.tenants.get('team-a')!.metas.has(old)).toBe(true);
    await f.close();
  });

  test('the bucket index replaces full listings: late uploads and deletions', async () => {
    const ids = await seed(5);
    for (const t of TENANTS)
      await writeBucketIndex(
        tb.bucket,
        layout,
        t,
        (await buildBucketIndex(tb.bucket, layout, t, { nowMs: NOW })).index,
      );
    const f = fetcher({ bucketIndex: true, fullListEvery: 1000 });
    const r1 = await f.sync();
    expect(r1.tenants.get('team-a')!.discovery).toBe('bucket-index');
    expect(r1.tenants.get('team-a')!.metas.size).toBe(5);
    const late = ulidAt(T0 - 10 * H, 77);
    await putBlock(tb.bucket, layout, 'team-a', mkMeta(late));
    const victim = ids.get('team-a')![1]!;
    await deleteBlock(tb.bucket, layout, 'team-a', victim);
    await writeBucketIndex(
      tb.bucket,
      layout,
      'team-a',
      (await buildBucketIndex(tb.bucket, layout, 'team-a', { nowMs: NOW })).index,
    );
    rec.reset();
    const r2 = await f.sync();
    const a = r2.tenants.get('team-a')!;
    expect(a.discovery).toBe('bucket-index');
    expect(a.metas.has(late)).toBe(true);
    expect(a.metas.has(victim)).toBe(false);
    expect(rec.metaGets()).toEqual([`team-a/${late}/meta.json`]);
    await f.close();
  });

  test('a stale bucket index falls back to listing', async () => {
    await seed(2);
    await writeBucketIndex(
      tb.bucket,
      layout,
      'team-a',
      (await buildBucketIndex(tb.bucket, layout, 'team-a', { nowMs: NOW - 5 * H })).index,
    );
    const f = fetcher({ bucketIndex: { maxStalenessMs: H } });
    const r = await f.sync();
    expect(r.tenants.get('team-a')!.discovery).toBe('full');
    expect(r.tenants.get('team-a')!.metas.size).toBe(2);
    await f.close();
  });

  test('tenants that disappear are forgotten', async () => {
    const ids = await seed(2);
    const f = fetcher();
    await f.sync();
    for (const id of ids.get('team-b')!) await deleteBlock(tb.bucket, layout, 'team-b', id);
    const r = await f.sync();
    expect([...r.tenants.keys()]).toEqual(['team-a', 'team-c']);
    expect(f.checkpoint().tenants.has('team-b')).toBe(false);
    await f.close();
  });

  test('single-tenant layout: recursive listing finds partial folders and block-level marks', async () => {
    const single = singleTenantLayout();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = ulidAt(T0 + i * H, i + 1);
      ids.push(id);
      await putBlock(tb.bucket, single, '', mkMeta(id));
    }
    const partial = ulidAt(T0 + 10 * H, 50);
    await tb.bucket.upload(single.indexKey('', partial), Buffer.from('x'));
    await markForDeletion(tb.bucket, single, '', ids[0]!, '', NOW);
    const f = new MetaFetcher({ bucket: rec, layout: single, now: () => NOW }, { cacheDir: tb.cacheDir });
    const r = await f.sync();
    const t = r.tenants.get('')!;
    expect(t.metas.size).toBe(5);
    expect(t.partial.get(partial)?.reason).toBe('no-meta-json');
    expect(t.deletionMarks.has(ids[0]!)).toBe(true);
    // The listing said the partial folder has no meta.json: no GET for it.
    expect(rec.metaGets()).toHaveLength(5);
    await f.close();
  });
});
