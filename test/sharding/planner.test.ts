/**
 * Sharded planners: two `strata planner`s on a ring (both active, each planning the tenants it
 * owns) and three `strata worker`s that find them in the ring and take plans from both end where
 * `strata compact` ends; a planner SIGKILLed mid-run: its tenants move to the other, the plans its
 * workers were running are handed over (ADOPT), and the run still ends exactly there.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type EtcdCluster } from '../services/etcd.js';
import { ensureBuilt } from '../support/build.js';
import { assertNoLeakedProcesses, waitFor, type TrackedProcess } from '../support/processes.js';
import { haFixture, type HaFixture } from '../compactor/fixtures.js';
import { filesystemObjstore, logRecords, startStrata } from '../compactor/run.js';
import { plannerStatus, startPlanner, stopOk, type Planner } from '../planner/cluster.js';
import {
  converged,
  fixtureBucket,
  freshPrefix,
  referenceEndState,
  ringFlags,
  type RingTimings,
} from './support.js';

let root = '';
let etcd: EtcdCluster;
let fx: HaFixture;
let want: Map<string, string[]>;

// Tokens are random: with 8 tenants one of two planners owned none in about 1 run in 128.
const TENANTS = Array.from({ length: 12 }, (_, i) => ({ tenant: `p${i}`, kind: 'identical' as const }));

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-sharded-planner-'));
  [etcd, fx] = await Promise.all([
    startEtcd({ members: 3 }),
    haFixture({ windows: 4, series: 4, seed: 43, tenants: TENANTS }),
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

function worker(dir: string, prefix: string, id: string, env?: Record<string, string>): TrackedProcess {
  return startStrata(
    [
      'worker',
      '--sharding-ring.store',
      'etcd',
      '--sharding-ring.etcd.endpoints',
      etcd.endpoints.join(','),
      '--sharding-ring.prefix',
      prefix,
      '--sharding-ring.heartbeat-timeout',
      '3s',
      '--objstore.config',
      filesystemObjstore(dir),
      '--data-dir',
      join(root, `${id}-data`),
      '--worker-id',
      id,
      '--http-address',
      '127.0.0.1:0',
      '--heartbeat-interval',
      '500ms',
      '--concurrency',
      '2',
    ],
    env ? { env } : {},
  );
}

async function planners(
  dir: string,
  prefix: string,
  ids: readonly string[],
  grace: string,
  timings?: RingTimings,
): Promise<Planner[]> {
  const out: Planner[] = [];
  for (const id of ids) {
    out.push(
      await startPlanner({
        objstore: filesystemObjstore(dir),
        dataDir: join(root, `${dir.split('/').pop()}-${id}`),
        extra: [...ringFlags(etcd.endpoints, prefix, id, timings), '--planner.grace-period', grace],
      }),
    );
  }
  return out;
}

describe('sharded planners with workers', () => {
  it('two planners and three workers end where strata compact ends; both planners hand out plans', async () => {
    const dir = join(root, 'two');
    const bucket = await fixtureBucket(dir, fx);
    const prefix = freshPrefix();
    // Both planners must be in the ring before either plans: on a loaded machine the second can
    // start more than the default 1 s of stability after the first, which then plans everything.
    const ps = await planners(dir, prefix, ['p1', 'p2'], '0s', { stabilityMin: '5s', stabilityMax: '20s' });
    const ws = ['w1', 'w2', 'w3'].map((id) => worker(dir, prefix, id));
    const procs = [...ps.map((p) => p.proc), ...ws];
    try {
      await converged(bucket, fx, want, procs);
      // Each planner planned only its own tenants, and each handed plans out.
      const owned = await Promise.all(
        ps.map(async (p) => (await plannerStatus(p)) as unknown as { ring: { tenants_held: string[] } }),
      );
      const [a, b] = owned.map((s) => new Set(s.ring.tenants_held));
      for (const t of a!) expect(b!.has(t), `tenant ${t} held by both planners`).toBe(false);
    } finally {
      for (const w of ws) await stopOk(w);
      for (const p of ps) await stopOk(p.proc);
      await bucket.close();
    }
    const byPlanner = (p: Planner): number =>
      logRecords(p.proc.output()).filter((r) => r.msg === 'plan completed').length;
    expect(byPlanner(ps[0]!)).toBeGreaterThan(0);
    expect(byPlanner(ps[1]!)).toBeGreaterThan(0);
  }, 240_000);

  it('a planner SIGKILLed mid-run: its tenants and running plans move to the other; the end state is exact', async () => {
    const dir = join(root, 'kill');
    const bucket = await fixtureBucket(dir, fx);
    const prefix = freshPrefix();
    const ps = await planners(dir, prefix, ['p1', 'p2'], '2s');
    // Slow steps: the killed planner's plans are still running on the workers when it dies.
    const ws = ['w1', 'w2', 'w3'].map((id) =>
      worker(dir, prefix, id, { STRATA_DEBUG_PHASE_DELAY_MS: '1500' }),
    );
    const procs = [...ps.map((p) => p.proc), ...ws];
    const [victim, survivor] = ps as [Planner, Planner];
    try {
      await waitFor(
        'p1 to have a plan running',
        async () => ((await plannerStatus(victim)).running > 0 ? true : undefined),
        60_000,
        20,
      );
      await victim.proc.stop('SIGKILL', 1000);
      await converged(bucket, fx, want, procs);
    } finally {
      for (const w of ws) await stopOk(w);
      await stopOk(survivor.proc);
      await bucket.close();
    }
    // Plans p1 had handed out were handed over to the survivor and finished there.
    const handed = ws.flatMap((w) =>
      logRecords(w.output()).filter(
        (r) => r.msg === 'handing plans of a planner that left to the owner of their tenants',
      ),
    );
    expect(handed.length, 'workers handed orphaned plans over').toBeGreaterThan(0);
    const adopted = logRecords(survivor.proc.output()).filter(
      (r) => r.msg === 'adopted plans of a planner that left',
    );
    expect(
      adopted.some((r) => Number(r.adopted) > 0),
      'the survivor adopted them',
    ).toBe(true);
  }, 240_000);
});
