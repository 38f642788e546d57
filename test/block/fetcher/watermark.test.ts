import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { multiTenantLayout } from '../../../src/block/layout.js';
import { MetaFetcher, Watermark } from '../../../src/block/fetcher/index.js';
import { readCheckpointFile } from '../../../src/block/fetcher/checkpoint.js';
import {
  H,
  T0,
  RecordingBucket,
  deferred,
  mkMeta,
  putBlock,
  tempBucket,
  ulidAt,
  type Deferred,
  type TempBucket,
} from './helpers.js';

describe('Watermark', () => {
  test('advances only over a fully completed prefix', () => {
    const w = new Watermark();
    for (const id of ['a', 'b', 'c', 'd', 'e']) w.add(id);
    w.complete('c');
    w.complete('e');
    expect(w.value).toBeUndefined();
    w.complete('a');
    expect(w.value).toBe('a');
    w.complete('b');
    expect(w.value).toBe('c');
    expect(w.isPending('d')).toBe(true);
    w.complete('d');
    expect(w.value).toBe('e');
    expect(w.backlog).toBe(0);
  });

  test('starts from a restored value and rejects out-of-order or unknown IDs', () => {
    const w = new Watermark('m');
    expect(w.value).toBe('m');
    expect(() => w.add('a')).toThrow(/added after/);
    w.add('n');
    expect(() => w.add('n')).toThrow(/added after/);
    expect(() => w.complete('z')).toThrow(/never added/);
  });

  test('never passes a pending ID, whatever the completion order (property)', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 3000 })
          .chain((n) =>
            fc.tuple(
              fc.constant(n),
              fc.shuffledSubarray([...Array(n).keys()], { minLength: 0, maxLength: n }),
            ),
          ),
        ([n, order]) => {
          const ids = [...Array(n).keys()].map((i) => `id${String(i).padStart(5, '0')}`);
          const w = new Watermark();
          for (const id of ids) w.add(id);
          const done = new Set<number>();
          let prefix = 0;
          for (const i of order) {
            w.complete(ids[i]!);
            done.add(i);
            while (done.has(prefix)) prefix++;
            expect(w.value).toBe(prefix === 0 ? undefined : ids[prefix - 1]);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('fetcher checkpoint with out-of-order reads', () => {
  const layout = multiTenantLayout();
  let tb: TempBucket;
  beforeEach(async () => {
    tb = await tempBucket();
  });
  afterEach(async () => {
    await tb.cleanup();
  });

  test('the checkpoint (in memory and on disk) never passes a pending meta.json read', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const id = ulidAt(T0 + i * H, i + 1);
      ids.push(id);
      await putBlock(tb.bucket, layout, 'tenant', mkMeta(id));
    }
    const rec = new RecordingBucket(tb.bucket);
    const held = new Map<string, Deferred>();
    rec.beforeGet = async (key) => {
      const id = key.split('/')[1]!;
      const d = deferred();
      held.set(id, d);
      await d.promise;
    };
    const f = new MetaFetcher(
      { bucket: rec, layout, now: () => T0 + 5000 * H },
      { cacheDir: tb.cacheDir, concurrency: 8, checkpointEveryReads: 1 },
    );
    const path = join(tb.cacheDir, 'checkpoint.json.gz');
    const syncing = f.sync();
    // Reads pass through the local cache (file system) first, so wait on real time, not ticks.
    const settle = async (): Promise<void> => {
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 5));
        await tick();
      }
    };
    while (held.size < 8) await new Promise((r) => setTimeout(r, 5));
    await settle();
    expect(held.size).toBe(8); // concurrency bound
    const afterIn = (): string | undefined => f.checkpoint().tenants.get('tenant')?.after;
    const check = async (): Promise<void> => {
      await settle();
      const known = [...f.checkpoint().tenants.get('tenant')!.known];
      const pending = ids.filter((id) => !known.includes(id));
      const firstPending = pending[0];
      const mem = afterIn();
      if (firstPending !== undefined && mem !== undefined) expect(mem < firstPending).toBe(true);
      const disk = (await readCheckpointFile(path).catch(() => undefined))?.tenants.get('tenant')?.after;
      if (firstPending !== undefined && disk !== undefined) expect(disk < firstPending).toBe(true);
    };
    // Finish reads out of order: 7, 3, 5, 1 first; the watermark must not move (0 pending).
    for (const i of [7, 3, 5, 1]) {
      held.get(ids[i]!)!.resolve();
      await check();
    }
    expect(afterIn()).toBeUndefined();
    held.get(ids[0]!)!.resolve();
    await check();
    expect(afterIn()).toBe(ids[1]);
    held.get(ids[2]!)!.resolve();
    await check();
    expect(afterIn()).toBe(ids[3]);
    // Slots freed: 8 and 9 started; finish 9 before 4, 6, 8.
    while (held.size < 10) await new Promise((r) => setTimeout(r, 5));
    held.get(ids[9]!)!.resolve();
    await check();
    expect(afterIn()).toBe(ids[3]);
    for (const i of [4, 6, 8]) {
      held.get(ids[i]!)!.resolve();
      await check();
    }
    const r = await syncing;
    expect(r.tenants.get('tenant')!.metas.size).toBe(10);
    expect(afterIn()).toBe(ids[9]);
    await f.close();
    expect((await readCheckpointFile(path))?.tenants.get('tenant')?.after).toBe(ids[9]);
  });

  test('a failed read holds the watermark until a later sync reads the block', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = ulidAt(T0 + i * H, i + 1);
      ids.push(id);
      await putBlock(tb.bucket, layout, 'tenant', mkMeta(id));
    }
    const rec = new RecordingBucket(tb.bucket);
    let fail = true;
    rec.beforeGet = async (key) => {
      if (fail && key.includes(ids[2]!)) throw new Error('503 slow down');
    };
    const f = new MetaFetcher({ bucket: rec, layout, now: () => T0 + 5000 * H }, { cacheDir: tb.cacheDir });
    const r1 = await f.sync();
    expect(r1.tenants.get('tenant')!.counts.failed).toBe(1);
    expect(r1.tenants.get('tenant')!.metas.size).toBe(4);
    expect(f.checkpoint().tenants.get('tenant')!.after).toBe(ids[1]);
    fail = false;
    rec.reset();
    const r2 = await f.sync();
    expect(r2.tenants.get('tenant')!.metas.size).toBe(5);
    expect(rec.metaGets()).toEqual([`tenant/${ids[2]}/meta.json`]);
    expect(rec.iters.find((c) => c.prefix === 'tenant/')?.options.startAfter).toBe(`tenant/${ids[1]}/`);
    expect(f.checkpoint().tenants.get('tenant')!.after).toBe(ids[4]);
    await f.close();
  });
});
