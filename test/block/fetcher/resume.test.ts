import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'vitest';
import { multiTenantLayout } from '../../../src/block/layout.js';
import { MetaFetcher } from '../../../src/block/fetcher/index.js';
import { seededRandom } from '../../../src/tsdb/ulid.js';
import { assertNoLeakedProcesses, startProcess } from '../../support/processes.js';
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
const NOW = T0 + 5000 * H;
const TENANTS = ['alpha', 'beta', 'gamma'];
const PER_TENANT = 60;
const N = TENANTS.length * PER_TENANT;

let tb: TempBucket;

beforeEach(async () => {
  tb = await tempBucket();
  let seq = 0;
  for (const t of TENANTS) {
    for (let i = 0; i < PER_TENANT; i++) {
      const id = ulidAt(T0 + i * H, ++seq);
      await putBlock(tb.bucket, layout, t, mkMeta(id));
    }
  }
});

afterEach(async () => {
  await tb.cleanup();
});

afterAll(async () => {
  await assertNoLeakedProcesses();
});

async function uninterrupted(): Promise<string[]> {
  const f = new MetaFetcher({ bucket: tb.bucket, layout, now: () => NOW }, { cacheDir: join(tb.dir, 'ref') });
  const r = await f.sync();
  await f.close();
  return blockSet(r.tenants);
}

describe('a sync killed at a random point resumes', () => {
  test('abort after K reads, restart: same block set, few reads redone', async () => {
    const expected = await uninterrupted();
    expect(expected).toHaveLength(N);
    const rnd = seededRandom(42);
    for (let round = 0; round < 6; round++) {
      const k = 1 + Math.floor(rnd() * (N - 2));
      const cacheDir = join(tb.dir, `cache-${round}`);
      const first = new RecordingBucket(tb.bucket);
      const ac = new AbortController();
      let done = 0;
      const readA = new Set<string>();
      first.beforeGet = async (key) => {
        // Some latency so reads overlap and finish out of order.
        await new Promise((r) => setTimeout(r, 1 + Math.floor(rnd() * 3)));
        if (key.endsWith('/meta.json') && !ac.signal.aborted) {
          readA.add(key);
          if (++done === k) queueMicrotask(() => ac.abort());
        }
      };
      const a = new MetaFetcher(
        { bucket: first, layout, now: () => NOW, registry: new Registry() },
        { cacheDir, concurrency: 8, tenantConcurrency: 2, checkpointEveryReads: 10 },
      );
      await expect(a.sync({ signal: ac.signal })).rejects.toThrow();
      // No close(): a killed process writes nothing more.
      const second = new RecordingBucket(tb.bucket);
      const b = new MetaFetcher(
        { bucket: second, layout, now: () => NOW, registry: new Registry() },
        { cacheDir, concurrency: 8 },
      );
      const r = await b.sync();
      expect(blockSet(r.tenants)).toEqual(expected);
      const redone = second.metaGets().filter((key) => readA.has(key)).length;
      // Only reads in flight at the kill are redone (at most the concurrency).
      expect(redone).toBeLessThanOrEqual(8);
      expect(readA.size + second.metaGets().length - redone).toBe(N);
      await b.close();
    }
  });

  test('a corrupt checkpoint is skipped and counted; the meta cache still saves the reads', async () => {
    const cacheDir = join(tb.dir, 'cache');
    const a = new MetaFetcher({ bucket: tb.bucket, layout, now: () => NOW }, { cacheDir });
    const expected = blockSet((await a.sync()).tenants);
    await a.close();
    await writeFile(join(cacheDir, 'checkpoint.json.gz'), 'not gzip at all');
    const registry = new Registry();
    const rec = new RecordingBucket(tb.bucket);
    const b = new MetaFetcher({ bucket: rec, layout, now: () => NOW, registry }, { cacheDir });
    const r = await b.sync();
    expect(blockSet(r.tenants)).toEqual(expected);
    expect(rec.metaGets()).toHaveLength(0);
    expect(r.stats.cacheHits).toBe(N);
    expect(await registry.getSingleMetricAsString('strata_blocks_meta_bad_input_total')).toMatch(
      /kind="bad-checkpoint"} 1/,
    );
    await b.close();
  });

  test('a child process SIGKILLed mid-sync: the restarted sync ends with the same blocks', async () => {
    const expected = await uninterrupted();
    const cacheDir = join(tb.dir, 'killed');
    const child = startProcess('fetcher-child', process.execPath, [
      'node_modules/vite-node/vite-node.mjs',
      'test/block/fetcher/child-sync.ts',
      tb.bucket.directory,
      cacheDir,
    ]);
    // Wait for a few checkpoints, then kill without warning.
    const deadline = Date.now() + 60_000;
    while (!/checkpoints=[3-9]/.test(child.output()) && Date.now() < deadline) {
      if (child.exited()) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(child.exited()).toBe(false);
    await child.stop('SIGKILL', 1000);
    const rec = new RecordingBucket(tb.bucket);
    const f = new MetaFetcher({ bucket: rec, layout, now: () => NOW }, { cacheDir });
    const r = await f.sync();
    expect(blockSet(r.tenants)).toEqual(expected);
    // The child read a part of the blocks: they come from the checkpoint and the meta cache.
    expect(rec.metaGets().length).toBeLessThan(N);
    await f.close();
  }, 120_000);
});
