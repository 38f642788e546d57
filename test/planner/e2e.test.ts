/**
 * `strata planner` with three `strata worker`s against `strata compact` on the same input: two
 * filesystem buckets with identical content (the HA fixture of test/compactor: two tenants of
 * replica pairs over 2.5 days, penalty dedup on `replica`). The distributed run must end where
 * the single process ends: per tenant the same live blocks (range, level, sources) and the same
 * samples, everything compacted cleaned up, and the work spread over the workers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { diffDumps } from '../support/dump.js';
import { assertNoLeakedProcesses, type TrackedProcess } from '../support/processes.js';
import { haFixture, type HaFixture } from '../compactor/fixtures.js';
import { duplicateSamples, expectBucketIndexMatches, liveBlocks } from '../compactor/inspect.js';
import { compactArgs, filesystemObjstore, runStrataOk, tail } from '../compactor/run.js';
import { ensureBuilt } from '../support/build.js';
import {
  blockKey,
  compactionsLogged,
  expectSameBlocks,
  liveDump,
  metricValue,
  plannerMetrics,
  plannerStatus,
  plansLogged,
  readTenants,
  records,
  startPlanner,
  startWorker,
  stopOk,
  uploadFixture,
  waitForEndState,
  withOutputs,
  type Planner,
  type PlannerStatus,
} from './cluster.js';

/** As scenario.ts runs strata compact: penalty dedup on the replica label. */
const DEDUP = ['--deduplication.func', 'penalty'];

let root = '';
let fx: HaFixture;
let compactBucket: FilesystemBucket | undefined;
let plannerBucket: FilesystemBucket | undefined;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-planner-e2e-'));
  compactBucket = new FilesystemBucket({ directory: join(root, 'bucket-compact') });
  plannerBucket = new FilesystemBucket({ directory: join(root, 'bucket-planner') });
  [fx] = await Promise.all([haFixture(), ensureBuilt()]);
  await uploadFixture(compactBucket, fx);
  await uploadFixture(plannerBucket, fx);
}, 300_000);

afterAll(async () => {
  await compactBucket?.close();
  await plannerBucket?.close();
  if (root) await rm(root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

describe('strata planner and strata worker', () => {
  it('a planner and three workers compact a multi-tenant bucket to the same end state as strata compact', async () => {
    const compactDir = join(root, 'bucket-compact');
    const plannerDir = join(root, 'bucket-planner');

    // The reference: one strata compact pass.
    const ref = await runStrataOk(
      compactArgs({
        objstore: filesystemObjstore(compactDir),
        dataDir: join(root, 'compact-data'),
        extra: [...DEDUP, '--compact.concurrency', '2', '--log.level', 'info'],
      }),
    );
    const refStates = await readTenants(compactBucket!, fx);
    const want = new Map([...refStates].map(([t, st]) => [t, liveBlocks(st).map(blockKey).sort()]));
    for (const [t, keys] of want) expect(keys.length, `${t}: live blocks after strata compact`).toBe(4);

    // The same bucket content, compacted by a planner and three workers.
    const objstore = filesystemObjstore(plannerDir);
    let planner: Planner | undefined;
    const workers: TrackedProcess[] = [];
    let status: PlannerStatus;
    let metrics: string;
    try {
      planner = await startPlanner({ objstore, dataDir: join(root, 'planner-data'), extra: DEDUP });
      for (const id of ['w1', 'w2', 'w3']) {
        workers.push(
          await startWorker({
            planner,
            objstore,
            dataDir: join(root, `data-${id}`),
            id,
            extra: ['--concurrency', '2'],
          }),
        );
      }
      await waitForEndState(planner, plannerBucket!, fx, want);
      status = await plannerStatus(planner);
      metrics = await plannerMetrics(planner);
      for (const w of workers) await stopOk(w);
      await stopOk(planner.proc);
    } catch (err) {
      throw withOutputs(err, [...(planner ? [planner.proc] : []), ...workers]);
    } finally {
      for (const w of workers) await w.stop('SIGKILL', 1000);
      await planner?.proc.stop('SIGKILL', 1000);
    }

    // Status and metrics of the leader (a planner without etcd always leads).
    expect(status.leader, JSON.stringify(status)).toBe(true);
    expect(status.pending).toBe(0);
    expect(status.running).toBe(0);
    expect(status.workers.map((w) => w.worker).sort(), JSON.stringify(status.workers)).toEqual([
      'w1',
      'w2',
      'w3',
    ]);
    expect(metricValue(metrics, 'strata_planner_leader'), metrics).toBe(1);
    expect(metricValue(metrics, 'strata_planner_plans_total{event="completed"}'), metrics).toBeGreaterThan(0);
    expect(metrics).toMatch(/^strata_planner_plan_wait_seconds_count \d+/m);
    expect(metrics).toMatch(/^strata_planner_plan_run_seconds_count\{outcome="completed"\} \d+/m);
    expect(metricValue(metrics, 'strata_planner_plan_wait_seconds_count'), metrics).toBeGreaterThan(0);

    // The work was spread, and every plan a worker started was completed (nothing failed).
    const started = workers.map((w) => plansLogged(w, 'plan started'));
    const busy = started.filter((p) => p.length > 0).length;
    expect(
      busy,
      `workers that started plans: ${JSON.stringify(started.map((p) => p.length))}`,
    ).toBeGreaterThanOrEqual(2);
    const completed = new Set(plansLogged(planner!.proc, 'plan completed'));
    for (const id of started.flat()) expect(completed.has(id), `plan ${id} completed`).toBe(true);
    expect(metricValue(metrics, 'strata_planner_plans_total{event="completed"}')).toBe(completed.size);
    // --concurrency 2: every compaction of a worker ran on a compaction thread (a core per plan):
    // at least those that completed, at most those that started (downsampling runs in-process).
    const onThreads = workers.map((w) =>
      Number(records(w).find((r) => r.msg === 'strata worker stopped')?.compactions_on_threads),
    );
    for (const [i, w] of workers.entries()) {
      const begun = records(w).filter((r) => r.msg === 'compaction started' && r.kind !== 'downsample');
      const compactions = new Set(begun.map((r) => r.plan));
      const done = records(w).filter((r) => r.msg === 'compaction done' && compactions.has(r.plan)).length;
      expect(onThreads[i], w.name).toBeGreaterThanOrEqual(done);
      expect(onThreads[i], w.name).toBeLessThanOrEqual(begun.length);
    }
    expect(onThreads.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    for (const w of workers) {
      expect(plansLogged(w, 'plan failed'), `${w.name} ${w.pid}: failed plans:\n${tail(w.output())}`).toEqual(
        [],
      );
    }

    // The same end state as strata compact: live blocks, samples, a clean bucket.
    const states = await readTenants(plannerBucket!, fx);
    for (const t of fx.tenants) {
      const st = states.get(t.tenant)!;
      const refState = refStates.get(t.tenant)!;
      // On a mismatch, both chains of compactions (sources -> output) say where they parted.
      const chains = () =>
        [
          'strata compact:',
          ...compactionsLogged(ref.output, t.tenant),
          'workers:',
          ...workers.flatMap((w) => compactionsLogged(w.output(), t.tenant)),
        ].join('\n');
      expectSameBlocks(
        liveBlocks(st).map(blockKey),
        want.get(t.tenant)!,
        `${t.tenant}: live blocks vs strata compact`,
        chains,
      );
      expect([...st.blocks.keys()].sort(), `${t.tenant}: only live blocks left`).toEqual(
        liveBlocks(st)
          .map((b) => b.ulid)
          .sort(),
      );
      expect(st.markerCopies, `${t.tenant}: markers/`).toEqual([]);
      expect(st.other, `${t.tenant}: other objects`).toEqual([]);
      for (const b of liveBlocks(st)) {
        expect(b.meta!.thanos?.labels, `${t.tenant}/${b.ulid} labels`).toEqual({ cluster: t.cluster });
        expect(b.meta!.thanos?.source, `${t.tenant}/${b.ulid} source`).toBe('compactor');
      }
      await expectBucketIndexMatches(plannerBucket!, st);

      const got = await liveDump(plannerBucket!, st, join(root, 'dump-planner'));
      const wantDump = await liveDump(compactBucket!, refState, join(root, 'dump-compact'));
      expect(duplicateSamples(got), `${t.tenant}: samples stored twice`).toEqual([]);
      expect(diffDumps(wantDump, got), `${t.tenant}: dump vs strata compact`).toBeUndefined();
      expect(got.length, `${t.tenant}: samples`).toBe(wantDump.length);
      if (t.kind === 'identical')
        expect(diffDumps(t.dumps.r1!, got), `${t.tenant}: dump vs r1`).toBeUndefined();
    }
  }, 170_000);
});
