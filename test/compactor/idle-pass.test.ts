/**
 * An idle pass costs what changed: with nothing to compact and nothing changed, a pass (in the
 * same process or after a restart) writes nothing to the bucket (no bucket index) and nothing to
 * the fetcher's checkpoint, and skips the temporary-file sweep; a new block, a new deletion mark,
 * a deleted block or an index about to go stale for Cortex/Mimir queriers rewrites exactly the
 * indexes concerned.
 */
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { BucketIndexKeeper } from '../../src/block/bucket-index-keeper.js';
import { readBucketIndex, writeBucketIndex } from '../../src/block/bucket-index.js';
import { markForDeletion } from '../../src/block/delete.js';
import { MetaFetcher, defaultCompactorFilters } from '../../src/block/fetcher/index.js';
import { multiTenantLayout } from '../../src/block/layout.js';
import { Compactor } from '../../src/compactor/compactor.js';
import { compactorMetrics } from '../../src/compactor/metrics.js';
import type { UploadBody } from '../../src/objstore/bucket.js';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { ForwardingBucket } from '../../src/objstore/forwarding.js';
import { nopLogger } from '../../src/util/logger.js';
import { H, mkMeta, putBlock, ulidAt } from '../block/fetcher/helpers.js';

const D14 = 14 * 24 * H;
/** A multiple of 14 days: every block below is a whole top-level range, nothing to compact. */
const DAY0 = 1_699_488_000_000;
const REFRESH = 15 * 60_000;
const TENANTS = ['team-a', 'team-b', 'team-c'];
const layout = multiTenantLayout();

/** Counts what a pass writes to the bucket, and the temporary-file sweeps. */
class WriteCountingBucket extends ForwardingBucket {
  readonly uploads: string[] = [];
  readonly deletes: string[] = [];
  sweeps = 0;

  override upload(key: string, body: UploadBody, size?: number): Promise<void> {
    this.uploads.push(key);
    return super.upload(key, body, size);
  }

  override delete(key: string): Promise<void> {
    this.deletes.push(key);
    return super.delete(key);
  }

  override deleteMany(keys: readonly string[]): Promise<void> {
    this.deletes.push(...keys);
    return super.deleteMany(keys);
  }

  override cleanupTemporary(olderThanMs: number): Promise<number> {
    this.sweeps++;
    return super.cleanupTemporary(olderThanMs);
  }

  reset(): void {
    this.uploads.length = 0;
    this.deletes.length = 0;
    this.sweeps = 0;
  }
}

let dir = '';
let bucket: WriteCountingBucket;
let clock = 0;
const now = (): number => clock;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-idle-'));
  bucket = new WriteCountingBucket(new FilesystemBucket({ directory: join(dir, 'bucket'), fsync: false }));
  clock = Date.now();
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `id`: a ULID minted now, as a new upload's is (default: minted when its range ended). */
function topBlock(tenant: number, i: number, id?: string): ReturnType<typeof mkMeta> {
  const min = DAY0 - (i + 1) * D14;
  return mkMeta(id ?? ulidAt(min + D14 + H, tenant * 100 + i), {
    minTime: min,
    maxTime: min + D14,
    level: 4,
    source: 'compactor',
    labels: { cluster: 'eu1' },
  });
}

interface Process {
  compactor: Compactor;
  fetcher: MetaFetcher;
  keeper: BucketIndexKeeper;
}

/** One `strata compact` process over the same data dir (what openSyncStack and compact.ts wire). */
function start(deleteDelayMs = 48 * H): Process {
  const fetcher = new MetaFetcher(
    { bucket, layout, registry: new Registry(), now },
    { cacheDir: join(dir, 'data', 'meta-sync'), filters: defaultCompactorFilters({ consistencyDelayMs: 0 }) },
  );
  const keeper = new BucketIndexKeeper(bucket, layout, { refreshMs: REFRESH });
  const compactor = new Compactor(
    {
      dataDir: join(dir, 'data'),
      concurrency: 1,
      deleteDelayMs,
      partialDelayMs: 48 * H,
      plan: { replicaLabels: [], dedup: 'exact', ranges: [2 * H, 8 * H, 48 * H, 14 * 24 * H] },
    },
    {
      bucket,
      layout,
      syncer: fetcher,
      logger: nopLogger,
      metrics: compactorMetrics(new Registry()),
      now,
      writeBucketIndex: async (t, changed) => {
        await keeper.update(t, now(), changed);
      },
    },
  );
  return { compactor, fetcher, keeper };
}

const indexKeys = (tenants: readonly string[]): string[] => tenants.map((t) => layout.bucketIndexKey(t));

describe('an idle pass', () => {
  test('writes nothing when nothing changed, and exactly what changed otherwise', async () => {
    await mkdir(join(dir, 'data'), { recursive: true });
    for (let t = 0; t < TENANTS.length; t++) {
      for (let i = 0; i < 4; i++) await putBlock(bucket, layout, TENANTS[t]!, topBlock(t, i));
    }
    bucket.reset();

    // Cold: every index is built, the checkpoint written, the bucket swept.
    let p = start();
    let s = await p.compactor.runPass();
    expect(s.plansDone).toBe(0);
    expect(bucket.uploads.sort()).toEqual(indexKeys(TENANTS).sort());
    expect(bucket.sweeps).toBe(1);
    await p.fetcher.flushCheckpoint();
    expect(p.fetcher.checkpointWrites).toBe(1);

    // Idle, same process: nothing written, nothing swept.
    bucket.reset();
    clock += 60_000;
    s = await p.compactor.runPass();
    expect(bucket.uploads).toEqual([]);
    expect(bucket.deletes).toEqual([]);
    expect(bucket.sweeps).toBe(0);
    await p.fetcher.close();
    expect(p.fetcher.checkpointWrites).toBe(1);

    // Idle after a restart: the indexes in the bucket are compared, not rewritten; the
    // checkpoint on disk is kept as it is (even on close).
    const cp = join(dir, 'data', 'meta-sync', 'checkpoint.json.gz');
    const cpBefore = (await stat(cp)).mtimeMs;
    bucket.reset();
    clock += 60_000;
    p = start();
    await p.compactor.runPass();
    expect(bucket.uploads).toEqual([]);
    expect(bucket.sweeps).toBe(0);
    await p.fetcher.close();
    expect(p.fetcher.checkpointWrites).toBe(0);
    expect(p.fetcher.metasFileWrites).toBe(0);
    expect((await stat(cp)).mtimeMs).toBe(cpBefore);

    // A new block in team-b: its index only.
    p = start();
    await p.compactor.runPass();
    bucket.reset();
    const added = topBlock(1, 10, ulidAt(clock, 999));
    await putBlock(bucket, layout, 'team-b', added);
    bucket.reset();
    clock += 60_000;
    await p.compactor.runPass();
    expect(bucket.uploads).toEqual(indexKeys(['team-b']));
    expect((await readBucketIndex(bucket, layout, 'team-b'))?.blocks.map((b) => b.blockId)).toContain(
      added.ulid,
    );

    // A deletion mark in team-c (the cleaner waits for the delete delay): its index only.
    const marked = topBlock(2, 0).ulid;
    await markForDeletion(bucket, layout, 'team-c', marked, 'test', clock);
    bucket.reset();
    clock += 60_000;
    await p.compactor.runPass();
    expect(bucket.uploads).toEqual(indexKeys(['team-c']));
    const c = await readBucketIndex(bucket, layout, 'team-c');
    expect(c?.blockDeletionMarks.map((m) => m.blockId)).toEqual([marked]);

    // Nothing for a while, then the indexes near Cortex/Mimir's max-stale-period: all rewritten,
    // with a fresh updated_at.
    bucket.reset();
    clock += REFRESH - 5 * 60_000; // team-a was written 4 min ago, team-c 0 min ago
    await p.compactor.runPass();
    expect(bucket.uploads).toEqual([]);
    clock += 5 * 60_000;
    await p.compactor.runPass();
    expect(bucket.uploads.sort()).toEqual(indexKeys(TENANTS).sort());
    expect((await readBucketIndex(bucket, layout, 'team-a'))?.updatedAt).toBe(Math.floor(clock / 1000));
    await p.fetcher.close();

    // The cleaner deletes the marked block (delete delay over): team-c's index drops it, and the
    // next pass (which sees the deletion) writes nothing.
    p = start(0);
    bucket.reset();
    clock += 60_000;
    const del = await p.compactor.runPass();
    expect(del.deletedMarked).toBe(1);
    expect(bucket.uploads).toEqual(indexKeys(['team-c']));
    const after = await readBucketIndex(bucket, layout, 'team-c');
    expect(after?.blocks.map((b) => b.blockId)).not.toContain(marked);
    expect(after?.blockDeletionMarks).toEqual([]);
    bucket.reset();
    clock += 60_000;
    await p.compactor.runPass();
    expect(bucket.uploads).toEqual([]);
    await p.fetcher.close();
  });
});

describe('the bucket index keeper after a restart', () => {
  test('rewrites an index that is corrupt, stale or out of date, and only those', async () => {
    await mkdir(join(dir, 'data'), { recursive: true });
    for (let t = 0; t < TENANTS.length; t++) {
      for (let i = 0; i < 3; i++) await putBlock(bucket, layout, TENANTS[t]!, topBlock(t, i));
    }
    let p = start();
    await p.compactor.runPass();
    await p.fetcher.close();
    // While no compactor ran: team-a's index got corrupted, team-b's is 20 minutes old (a
    // restart after a long stop), team-c's is fine.
    await bucket.upload(layout.bucketIndexKey('team-a'), Buffer.from('not gzip'));
    clock += 20 * 60_000;
    const c = await readBucketIndex(bucket, layout, 'team-c');
    await writeBucketIndex(bucket, layout, 'team-c', { ...c!, updatedAt: Math.floor(clock / 1000) - 60 });
    bucket.reset();
    p = start();
    await p.compactor.runPass();
    expect(bucket.uploads.sort()).toEqual(indexKeys(['team-a', 'team-b']).sort());
    expect((await readBucketIndex(bucket, layout, 'team-a'))?.blocks).toHaveLength(3);
    await p.fetcher.close();
  });
});
