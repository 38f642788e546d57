/**
 * Waiting for a stable ring at start (Cortex's wait-stability flags): instances started 1 s apart
 * compact nothing until the ring has stayed the same for the minimum; when the ring never settles
 * they start anyway once the maximum ran out.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type EtcdCluster } from '../services/etcd.js';
import { ensureBuilt } from '../support/build.js';
import { assertNoLeakedProcesses, waitFor, type TrackedProcess } from '../support/processes.js';
import { haFixture, type HaFixture } from '../compactor/fixtures.js';
import { logRecords } from '../compactor/run.js';
import { stopOk } from '../planner/cluster.js';
import { Closer, etcdKv, lifecycler } from '../ring/support.js';
import { fixtureBucket, freshPrefix, startShardedCompact, type RingTimings } from './support.js';

let root = '';
let etcd: EtcdCluster;
let fx: HaFixture;
const closer = new Closer();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-ring-stability-'));
  [etcd, fx] = await Promise.all([
    startEtcd(),
    haFixture({
      windows: 2,
      series: 2,
      seed: 53,
      tenants: Array.from({ length: 4 }, (_, i) => ({ tenant: `s${i}`, kind: 'identical' as const })),
    }),
    ensureBuilt(),
  ]);
}, 300_000);

afterAll(async () => {
  await closer.closeAll();
  await etcd?.stop();
  if (root) await rm(root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

/** ts of the first record of `p` with message `msg`. */
function firstAt(p: TrackedProcess, msg: string): number | undefined {
  const r = logRecords(p.output()).find((x) => x.msg === msg);
  return r === undefined ? undefined : Date.parse(r.ts!);
}

describe('waiting for a stable ring at start', () => {
  it('instances started 1 s apart compact nothing before the ring stood still for the minimum', async () => {
    const dir = join(root, 'apart');
    const bucket = await fixtureBucket(dir, fx);
    const prefix = freshPrefix();
    // c2 starts 1 s after c1 is ACTIVE; 5 s leaves c2 4 s to boot and join on a loaded machine.
    const timings: RingTimings = { stabilityMin: '5s', stabilityMax: '30s' };
    const start = (id: string): TrackedProcess =>
      startShardedCompact({
        bucketDir: dir,
        dataDir: join(root, id),
        endpoints: etcd.endpoints,
        prefix,
        id,
        timings,
      });
    const c1 = start('c1');
    let c2: TrackedProcess | undefined;
    try {
      await waitFor('c1 to join', async () => firstAt(c1, 'ring: instance ACTIVE'), 30_000, 100);
      await new Promise((r) => setTimeout(r, 1000));
      c2 = start('c2');
      // Either may own none of the four tenants, so: both stable, and compaction under way.
      await waitFor(
        'both stable and compacting',
        async () =>
          firstAt(c1, 'ring is stable') &&
          firstAt(c2!, 'ring is stable') &&
          (firstAt(c1, 'compaction started') ?? firstAt(c2!, 'compaction started'))
            ? true
            : undefined,
        60_000,
        200,
      );
      const joined = firstAt(c2, 'ring: instance ACTIVE')!;
      for (const p of [c1, c2]) {
        const stable = firstAt(p, 'ring is stable')!;
        expect(stable - joined, `${p.name}: stable 5 s after the last join`).toBeGreaterThanOrEqual(4900);
        expect(firstAt(p, 'compaction started') ?? Infinity).toBeGreaterThanOrEqual(stable);
      }
    } finally {
      await stopOk(c1);
      if (c2 !== undefined) await stopOk(c2);
      await bucket.close();
    }
  }, 120_000);

  it('a ring that never settles: the instance starts once the maximum ran out', async () => {
    const dir = join(root, 'churn');
    const bucket = await fixtureBucket(dir, fx);
    const prefix = freshPrefix();
    const ringKey = `${prefix}compactor`;
    // Another member joins and leaves over and over.
    let churning = true;
    const churn = (async () => {
      const kv = etcdKv(closer, etcd.endpoints);
      for (let i = 0; churning; i++) {
        const l = lifecycler(closer, { kv, ringKey, instanceId: `flapper-${i}`, numTokens: 16 });
        await l.start();
        await new Promise((r) => setTimeout(r, 700));
        await l.stop();
      }
    })();
    const c = startShardedCompact({
      bucketDir: dir,
      dataDir: join(root, 'churn-c'),
      endpoints: etcd.endpoints,
      prefix,
      id: 'c',
      timings: { stabilityMin: '2s', stabilityMax: '6s' },
    });
    try {
      await waitFor(
        'c to compact',
        async () => (firstAt(c, 'compaction started') ? true : undefined),
        60_000,
        200,
      );
      const gaveUp = logRecords(c.output()).find((r) => r.msg === 'ring did not settle; starting anyway');
      expect(gaveUp, 'logged that the ring did not settle').toBeDefined();
      expect(Number(gaveUp!.waited_ms)).toBeGreaterThanOrEqual(5500);
      expect(firstAt(c, 'ring is stable')).toBeUndefined();
    } finally {
      churning = false;
      await churn;
      await stopOk(c);
      await bucket.close();
    }
  }, 120_000);
});
