/**
 * Two `strata planner` replicas in one etcd election and three `strata worker`s given both
 * addresses, over a fresh copy of the HA fixture bucket; and the checks every planner HA test
 * ends with: the run reaches the reference end state, nothing is left half done, no plan ran
 * twice at once under different epochs, no block was compacted twice.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { assertNoLeakedProcesses, waitFor, type TrackedProcess } from '../support/processes.js';
import { startEtcd, type EtcdCluster } from '../services/etcd.js';
import { diffDumps } from '../support/dump.js';
import { logRecords } from '../compactor/run.js';
import {
  compactedTwice,
  crossEpochConflicts,
  endState,
  fixtureBucket,
  LONG_MS,
  outputs,
  planRuns,
  ports,
  reference,
  startPlanner,
  sampleLeaders,
  startWorker,
  tempRoot,
  notSoleLeader,
  uniquePrefix,
  waitConverged,
  waitForLines,
  waitForSingleLeader,
  type LeaderSample,
  type PlanRun,
  type Reference,
  type Replica,
  type Status,
  type TestBucket,
} from './ha-support.js';

export const WORKERS = 3;

export interface Suite {
  etcd(): EtcdCluster;
  ref(): Reference;
  /** A fresh scratch dir, removed after the file. */
  root(name: string): Promise<string>;
}

/**
 * The file's hooks: a three-member etcd and the reference end state before its tests (in
 * parallel); afterwards etcd stopped, scratch dirs removed, no process left behind.
 */
export function haSuite(name: string): Suite {
  let etcd: EtcdCluster | undefined;
  let ref: Reference | undefined;
  const roots: string[] = [];
  const root = async (n: string): Promise<string> => {
    const r = await tempRoot(n);
    roots.push(r);
    return r;
  };
  beforeAll(async () => {
    const [e, r] = await Promise.all([startEtcd({ members: 3 }), root(`${name}-ref`).then(reference)]);
    etcd = e;
    ref = r;
    expect(ref.plans, 'plans of the reference run').toBeGreaterThanOrEqual(6);
  }, 240_000);
  afterAll(async () => {
    await etcd?.stop();
    for (const r of roots) await rm(r, { recursive: true, force: true });
    await assertNoLeakedProcesses();
  });
  return {
    etcd: () => etcd!,
    ref: () => ref!,
    root,
  };
}

/** Some plans done, not all: a third of what the reference run executed. */
export function midRun(ref: Reference): number {
  return Math.max(2, Math.floor(ref.plans / 3));
}

/** Runs of `epoch` that were running at `at` (started before, ended after). */
export function runningAt(runs: readonly PlanRun[], epoch: number, at: number): PlanRun[] {
  return runs.filter((r) => r.epoch === epoch && r.start < at && (r.end ?? Infinity) > at);
}

export interface PlannerCluster {
  readonly bucket: TestBucket;
  readonly planners: readonly Replica[];
  readonly workers: readonly { id: string; proc: TrackedProcess }[];
  /** Every process, named, for diagnostics. */
  all(): { name: string; proc: TrackedProcess }[];
  diagnostics(): string;
  /** The plan runs in the workers' logs so far. */
  runs(): PlanRun[];
  /** 'compaction done' lines of all workers so far. */
  plansDone(): number;
  /** Status samples of both replicas, taken every 100 ms until stop(). */
  readonly samples: readonly LeaderSample[];
  /** Waits for exactly one leader and returns it with its status. */
  leader(): Promise<{ leader: Replica; status: Status }>;
  other(r: Replica): Replica;
  /**
   * Stops the status sampling, thaws a frozen replica, SIGTERMs every process still running by
   * PID (workers first: they finish what they run and report it), SIGKILL after a grace period.
   */
  stopProcesses(): Promise<void>;
  /** stopProcesses(), then closes the bucket. */
  stop(): Promise<void>;
}

export async function startPlannerCluster(
  root: string,
  name: string,
  ref: Reference,
  endpoints: readonly string[],
): Promise<PlannerCluster> {
  const bucket = await fixtureBucket(root, 'bucket', ref.fx);
  const prefix = uniquePrefix(name);
  const [g1, h1, g2, h2] = await ports(4);
  const planners = [
    startPlanner({
      name: 'planner-a',
      objstore: bucket.objstore,
      dataDir: join(root, 'planner-a'),
      grpcPort: g1!,
      httpPort: h1!,
      endpoints,
      prefix,
    }),
    startPlanner({
      name: 'planner-b',
      objstore: bucket.objstore,
      dataDir: join(root, 'planner-b'),
      grpcPort: g2!,
      httpPort: h2!,
      endpoints,
      prefix,
    }),
  ];
  const workers = Array.from({ length: WORKERS }, (_, i) => {
    const id = `worker-${i + 1}`;
    return {
      id,
      proc: startWorker({
        id,
        objstore: bucket.objstore,
        dataDir: join(root, id),
        plannerPorts: [g1!, g2!],
      }),
    };
  });
  const all = (): { name: string; proc: TrackedProcess }[] => [
    ...planners,
    ...workers.map((w) => ({ name: w.id, proc: w.proc })),
  ];
  const sampler = sampleLeaders(planners);
  const diagnostics = (): string => outputs(all());
  const stopProcesses = async (): Promise<void> => {
    await sampler.stop();
    for (const p of planners) {
      if (!p.proc.exited()) {
        try {
          process.kill(p.proc.pid, 'SIGCONT');
        } catch {
          /* gone */
        }
      }
    }
    await Promise.all(workers.map((w) => w.proc.stop('SIGTERM', 30_000)));
    await Promise.all(planners.map((p) => p.proc.stop('SIGTERM', 10_000)));
  };
  return {
    bucket,
    planners,
    workers,
    all,
    diagnostics,
    runs: () => planRuns(workers.map((w) => ({ id: w.id, output: w.proc.output() }))),
    plansDone: () =>
      workers.reduce(
        (n, w) => n + logRecords(w.proc.output()).filter((r) => r.msg === 'compaction done').length,
        0,
      ),
    samples: sampler.samples,
    leader: () => waitForSingleLeader(planners),
    other: (r) => planners.find((p) => p !== r)!,
    stopProcesses,
    async stop(): Promise<void> {
      await stopProcesses();
      await bucket.bucket.close();
    },
  };
}

/**
 * Waits until `n` plans are done (some of the run, not all of it) and every worker is in the
 * middle of a plan, so a failure now catches plans running.
 */
export async function waitForMidRun(c: PlannerCluster, n: number): Promise<void> {
  await waitFor(
    `${n} 'compaction done' lines and all ${WORKERS} workers busy`,
    () => {
      const runs = c.runs();
      const done = runs.filter((r) => r.outcome === 'completed').length;
      const busy = new Set(runs.filter((r) => r.end === undefined).map((r) => r.worker)).size;
      return Promise.resolve(done >= n && busy === WORKERS ? true : undefined);
    },
    LONG_MS,
    20,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${c.diagnostics()}`);
  });
}

/**
 * Until now, since `from` (the election), every status sample both replicas answered showed
 * `leader` as the only leader.
 */
export function expectSoleLeader(c: PlannerCluster, leader: Replica, from: number): void {
  const samples = c.samples.filter((s) => s.at >= from && s.answered.length > 1);
  expect(samples.length, 'status samples with both replicas answering').toBeGreaterThan(3);
  expect(notSoleLeader(c.samples, leader.name, from, Date.now()), 'samples with another leader').toEqual([]);
}

/** Waits for a 'plan started' line with an epoch above `epoch`; returns its epoch. */
export async function waitForNewerEpochPlan(c: PlannerCluster, epoch: number): Promise<number> {
  await waitForLines(
    `a plan started with an epoch above ${epoch}`,
    c.workers.map((w) => w.proc),
    (r) => r.msg === 'plan started' && Number(r.epoch) > epoch,
    1,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${c.diagnostics()}`);
  });
  return Math.max(...c.runs().map((r) => r.epoch));
}

/**
 * The run reaches the reference end state; then everything is stopped and the bucket checked
 * again (nothing a late run might add), live blocks and data both, no partial upload left; every
 * worker exited 0 and every run ended; and the workers' logs show no cross-epoch conflict and no
 * block compacted twice. Returns the runs.
 */
export async function expectReferenceEndState(
  c: PlannerCluster,
  ref: Reference,
  root: string,
  what: string,
  tl?: { lap(what: string): void },
): Promise<PlanRun[]> {
  await waitConverged(c.bucket, ref, what, () => c.diagnostics());
  tl?.lap('converged');
  await c.stopProcesses();
  tl?.lap('stopped');
  for (const w of c.workers) {
    expect(w.proc.child.exitCode, `${w.id} exit code\n${c.diagnostics()}`).toBe(0);
  }
  const end = await endState(c.bucket.bucket, ref.fx, join(root, 'scratch'));
  tl?.lap('end state read');
  for (const t of ref.fx.tenants) {
    expect(end.shapes.get(t.tenant), `${what}: ${t.tenant} live blocks vs strata compact`).toEqual(
      ref.end.shapes.get(t.tenant),
    );
    expect(
      diffDumps(ref.end.dumps.get(t.tenant)!, end.dumps.get(t.tenant)!),
      `${what}: ${t.tenant} data vs strata compact`,
    ).toBeUndefined();
    expect(end.strayPartials.get(t.tenant), `${what}: ${t.tenant} partial uploads left`).toEqual([]);
  }
  const runs = c.runs();
  expect(
    runs.filter((r) => r.end === undefined).map((r) => r.plan),
    `${what}: runs without an end`,
  ).toEqual([]);
  expect(crossEpochConflicts(runs), `${what}: plans sharing a source under different epochs`).toEqual([]);
  expect(compactedTwice(runs), `${what}: blocks compacted twice`).toEqual([]);
  return runs;
}
