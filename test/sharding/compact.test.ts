/**
 * `strata compact` sharded over a ring in a real 3-member etcd: three processes over a 12-tenant
 * bucket end exactly where one process ends; a fourth joining and one SIGKILLed mid-run change
 * nothing in the result; and no two processes ever work on one tenant at the same time (checked
 * from each plan's start and end lines, which name the tenant and the instance).
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
import {
  converged,
  expectNoConcurrentTenants,
  fixtureBucket,
  freshPrefix,
  referenceEndState,
  startShardedCompact,
  workIntervals,
  type WorkInterval,
} from './support.js';

let root = '';
let etcd: EtcdCluster;
let fx: HaFixture;
let want: Map<string, string[]>;

const TENANTS = Array.from({ length: 12 }, (_, i) => ({
  tenant: `t${String(i).padStart(2, '0')}`,
  kind: 'identical' as const,
}));

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-sharded-compact-'));
  [etcd, fx] = await Promise.all([
    startEtcd({ members: 3 }),
    haFixture({ windows: 4, series: 4, seed: 41, tenants: TENANTS }),
    ensureBuilt(),
  ]);
  // The reference: one unsharded process.
  want = await referenceEndState(root, fx);
}, 300_000);

afterAll(async () => {
  await etcd?.stop();
  if (root) await rm(root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

describe('strata compact sharded over a ring', () => {
  it('three processes end exactly where one does, never two on one tenant', async () => {
    const dir = join(root, 'three');
    const bucket = await fixtureBucket(dir, fx);
    const prefix = freshPrefix();
    const procs = ['c1', 'c2', 'c3'].map((id) =>
      startShardedCompact({
        bucketDir: dir,
        dataDir: join(root, `three-${id}`),
        endpoints: etcd.endpoints,
        prefix,
        id,
        // All three must be in the ring before any plans: on a loaded machine their start-ups
        // can differ by more than the default 1 s, and the first would do all the work.
        timings: { stabilityMin: '5s', stabilityMax: '20s' },
      }),
    );
    try {
      await converged(bucket, fx, want, procs);
    } finally {
      for (const p of procs) await stopOk(p);
      await bucket.close();
    }
    const intervals = procs.flatMap((p) => workIntervals(p.output()));
    expectNoConcurrentTenants(intervals);
    // The work was shared, and each plan named its instance.
    expect(new Set(intervals.map((w) => w.instance)).size).toBeGreaterThanOrEqual(2);
    for (const p of procs) {
      expect(logRecords(p.output()).some((r) => r.msg === 'ring is stable')).toBe(true);
    }
  }, 240_000);

  it('a fourth joins and one is SIGKILLed mid-run: the same end state, still never two on one tenant', async () => {
    const dir = join(root, 'churn');
    const bucket = await fixtureBucket(dir, fx);
    const prefix = freshPrefix();
    const start = (id: string): TrackedProcess =>
      startShardedCompact({
        bucketDir: dir,
        dataDir: join(root, `churn-${id}`),
        endpoints: etcd.endpoints,
        prefix,
        id,
        // c1..c3 all in the ring before any plans (as in the three-process test), so the victim
        // owns tenants and is caught mid-plan.
        timings: { stabilityMin: '5s', stabilityMax: '20s' },
      });
    const procs = ['c1', 'c2', 'c3'].map(start);
    const victim = procs[0]!;
    let diedAt = Infinity;
    try {
      // The victim mid-plan: it logged a start and no end yet.
      await waitFor(
        'c1 to start a plan',
        async () => (workIntervals(victim.output()).some((w) => w.end === Infinity) ? true : undefined),
        90_000,
        20,
      );
      procs.push(start('c4'));
      diedAt = Date.now();
      await victim.stop('SIGKILL', 1000);
      await converged(bucket, fx, want, procs);
    } finally {
      // The victim too, when the test failed before killing it.
      if (diedAt === Infinity) await victim.stop('SIGKILL', 1000);
      for (const p of procs.slice(1)) await stopOk(p);
      await bucket.close();
    }
    const intervals: WorkInterval[] = [
      ...workIntervals(victim.output(), diedAt),
      ...procs.slice(1).flatMap((p) => workIntervals(p.output())),
    ];
    expectNoConcurrentTenants(intervals);
    // The victim's unfinished plan was done again by whoever took its tenant.
    const open = workIntervals(victim.output(), diedAt).filter((w) => w.end === diedAt);
    expect(open.length).toBeGreaterThan(0);
    for (const w of open) {
      expect(
        intervals.some((x) => x.instance !== 'c1' && x.tenant === w.tenant && x.start >= diedAt),
        `tenant ${w.tenant} taken over`,
      ).toBe(true);
    }
  }, 240_000);
});
