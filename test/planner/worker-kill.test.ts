/**
 * A `strata worker` SIGKILLed in the middle of a plan (it kills itself inside a known step:
 * STRATA_DEBUG_KILL_AT, see src/compactor/debug.ts). The planner notices (the stream closes; the
 * lease would expire after --planner.lease-timeout otherwise) and re-queues the plan; another
 * worker completes it; the bucket ends exactly where `strata compact` leaves the same input:
 * the same live blocks (range, level, sources), no overlapping live blocks, no sample twice, one
 * replica's samples exactly, nothing partial or marked left.
 *
 * Input: two tenants of identical HA replica pairs over 12 × 2h windows (the fixture of
 * test/compactor/crash.test.ts), so the expected samples are one replica's dump.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { diffDumps } from '../support/dump.js';
import { assertNoLeakedProcesses, type TrackedProcess } from '../support/processes.js';
import { TWO_IDENTICAL_TENANTS, haFixture, type HaFixture } from '../compactor/fixtures.js';
import { duplicateSamples, liveBlocks, partialBlocks, readTenant } from '../compactor/inspect.js';
import { compactArgs, filesystemObjstore, runStrataOk, tail, waitExit } from '../compactor/run.js';
import { ensureBuilt } from '../support/build.js';
import {
  WAIT_MS,
  blockKey,
  expectSameBlocks,
  liveDump,
  overlappingLive,
  plansLogged,
  readTenants,
  records,
  startPlanner,
  startWorker,
  stopOk,
  uploadFixture,
  waitForEndState,
  waitForLog,
  withOutputs,
  type Planner,
} from './cluster.js';

const DEDUP = ['--deduplication.func', 'penalty'];

let root = '';
let fx: HaFixture;
/** strata compact's result on the same input: live blocks per tenant and their dump. */
const wantBlocks = new Map<string, string[]>();
const wantDumps = new Map<string, string[]>();
const buckets: FilesystemBucket[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-planner-kill-'));
  [fx] = await Promise.all([haFixture(TWO_IDENTICAL_TENANTS), ensureBuilt()]);
  const dir = join(root, 'reference-bucket');
  const bucket = new FilesystemBucket({ directory: dir });
  buckets.push(bucket);
  await uploadFixture(bucket, fx);
  await runStrataOk(
    compactArgs({ objstore: filesystemObjstore(dir), dataDir: join(root, 'reference-data'), extra: DEDUP }),
  );
  for (const t of fx.tenants) {
    const st = await readTenant(bucket, t.tenant);
    wantBlocks.set(t.tenant, liveBlocks(st).map(blockKey).sort());
    wantDumps.set(t.tenant, await liveDump(bucket, st, join(root, 'reference-dump')));
  }
}, 300_000);

afterAll(async () => {
  for (const b of buckets) await b.close();
  if (root) await rm(root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

interface KillRun {
  planner: Planner;
  killed: TrackedProcess;
  /** The plan the killed worker was running. */
  plan: string;
  others: TrackedProcess[];
  bucket: FilesystemBucket;
}

/**
 * A planner and three workers on a fresh copy of the input; the first worker (started alone, so
 * it certainly gets a plan) runs with `killEnv` and dies in its first plan; then two more.
 * `afterKill` runs once the killed worker is gone, before the others start.
 */
async function runWithKill(
  name: string,
  o: { plannerExtra: string[]; killEnv: Record<string, string>; afterKill?: (r: KillRun) => Promise<void> },
  check: (r: KillRun) => void | Promise<void>,
): Promise<void> {
  const dir = join(root, `bucket-${name}`);
  const bucket = new FilesystemBucket({ directory: dir });
  buckets.push(bucket);
  await uploadFixture(bucket, fx);
  const objstore = filesystemObjstore(dir);
  const procs: TrackedProcess[] = [];
  let planner: Planner | undefined;
  try {
    planner = await startPlanner({
      objstore,
      dataDir: join(root, `${name}-planner-data`),
      extra: [...DEDUP, ...o.plannerExtra],
    });
    procs.push(planner.proc);
    const killed = await startWorker({
      planner,
      objstore,
      dataDir: join(root, `${name}-data-w1`),
      id: 'w1',
      env: o.killEnv,
    });
    procs.push(killed);
    const startedLine = await waitForLog(killed, "'plan started'", (r) => r.msg === 'plan started');
    const plan = startedLine.plan!;
    const exit = await waitExit(killed, WAIT_MS);
    expect(exit.signal, `the worker killed itself in its first plan:\n${tail(exit.output)}`).toBe('SIGKILL');
    // It never finished a plan: the one it started is the one it was killed in.
    expect(plansLogged(killed, 'plan started'), tail(exit.output)).toEqual([plan]);
    expect(records(killed).filter((r) => r.msg === 'compaction done')).toEqual([]);
    const run: KillRun = { planner, killed, plan, others: [], bucket };
    await o.afterKill?.(run);

    for (const id of ['w2', 'w3']) {
      const w = await startWorker({ planner, objstore, dataDir: join(root, `${name}-data-${id}`), id });
      procs.push(w);
      run.others.push(w);
    }
    await waitForEndState(planner, bucket, fx, wantBlocks);
    for (const w of run.others) await stopOk(w);
    await stopOk(planner.proc);

    // The planner took the plan back from the dead worker and another worker completed it.
    const requeued = records(planner.proc).some(
      (r) =>
        (r.msg === 'worker stream closed with plans running; re-queueing' &&
          (r.plans ?? '').includes(plan)) ||
        (r.msg === 'lease expired; re-queueing' && r.plan === plan),
    );
    expect(requeued, `the planner re-queued ${plan}:\n${tail(planner.proc.output())}`).toBe(true);
    const done = records(planner.proc).filter((r) => r.msg === 'plan completed' && r.plan === plan);
    expect(
      done.map((r) => r.worker),
      `completions of ${plan}:\n${tail(planner.proc.output())}`,
    ).toHaveLength(1);
    expect(['w2', 'w3']).toContain(done[0]!.worker);
    const by = run.others[['w2', 'w3'].indexOf(done[0]!.worker!)]!;
    expect(
      records(by).some((r) => r.msg === 'compaction done' && r.plan === plan),
      `${done[0]!.worker} logged 'compaction done' for ${plan}`,
    ).toBe(true);

    await expectEndState(bucket, name);
    await check(run);
  } catch (err) {
    throw withOutputs(err, procs);
  } finally {
    for (const p of procs) await p.stop('SIGKILL', 1000);
  }
}

/** What the bucket must hold at the end: strata compact's result, and nothing else. */
async function expectEndState(bucket: FilesystemBucket, name: string): Promise<void> {
  const states = await readTenants(bucket, fx);
  for (const t of fx.tenants) {
    const st = states.get(t.tenant)!;
    const live = liveBlocks(st);
    expectSameBlocks(
      live.map(blockKey),
      wantBlocks.get(t.tenant)!,
      `${t.tenant}: live blocks vs strata compact`,
    );
    expect(overlappingLive(st), `${t.tenant}: overlapping live blocks`).toEqual([]);
    expect(
      partialBlocks(st).map((b) => b.ulid),
      `${t.tenant}: partial blocks`,
    ).toEqual([]);
    expect([...st.blocks.keys()].sort(), `${t.tenant}: blocks other than the live ones`).toEqual(
      live.map((b) => b.ulid).sort(),
    );
    expect(st.markerCopies, `${t.tenant}: markers/`).toEqual([]);
    // Each input in exactly one live block.
    expect(live.flatMap((b) => b.meta!.compaction.sources).sort(), `${t.tenant}: sources`).toEqual(
      t.blocks.map((b) => b.ulid).sort(),
    );
    const got = await liveDump(bucket, st, join(root, `dump-${name}`));
    expect(duplicateSamples(got), `${t.tenant}: samples stored twice`).toEqual([]);
    expect(diffDumps(t.dumps.r1!, got), `${t.tenant}: dump vs one replica`).toBeUndefined();
    expect(diffDumps(wantDumps.get(t.tenant)!, got), `${t.tenant}: dump vs strata compact`).toBeUndefined();
  }
}

describe('a worker SIGKILLed in the middle of a plan', () => {
  it('killed while compacting: the plan is re-queued, completed by another worker, the end state is strata compact’s', async () => {
    await runWithKill(
      'kill-compact',
      {
        plannerExtra: ['--planner.lease-timeout', '5s'],
        // Each step of the killed worker starts with a 1 s sleep, so the kill 50 ms into its
        // first compact step lands inside that step, whatever the machine's speed.
        killEnv: { STRATA_DEBUG_KILL_AT: 'compact:1:50', STRATA_DEBUG_PHASE_DELAY_MS: '1000' },
      },
      (r) => {
        const steps = records(r.killed)
          .filter((x) => x.msg === 'debug: step')
          .map((x) => x.step);
        // Killed before its upload: nothing of it reached the bucket (expectEndState: no partial block).
        expect(steps, tail(r.killed.output())).toEqual(['download', 'compact']);
      },
    );
  }, 170_000);

  it('killed mid-upload: the partial output is removed by the cleaner and never counted', async () => {
    const seen = new Set<string>();
    await runWithKill(
      'kill-upload',
      {
        plannerExtra: ['--planner.lease-timeout', '5s', '--partial-block-delete-delay', '1s'],
        // Killed right after the first file of its output landed: the output has no meta.json.
        killEnv: { STRATA_DEBUG_KILL_AT: 'uploaded:1:0' },
        afterKill: async (r) => {
          for (const t of fx.tenants) {
            for (const b of partialBlocks(await readTenant(r.bucket, t.tenant)))
              seen.add(`${t.tenant}/${b.ulid}`);
          }
        },
      },
      async (r) => {
        const steps = records(r.killed)
          .filter((x) => x.msg === 'debug: step')
          .map((x) => x.step);
        expect(steps.at(-1), tail(r.killed.output())).toBe('uploaded');
        // The cleaner deleted it (it may have been faster than the look right after the kill).
        const cleaned = records(r.planner.proc)
          .filter((x) => x.msg === 'cleanup done')
          .reduce((n, x) => n + Number(x.deleted_partial ?? 0), 0);
        expect(
          cleaned,
          `partial blocks deleted by the planner's cleaner (seen: ${[...seen].join(' ')})`,
        ).toBeGreaterThanOrEqual(Math.max(1, seen.size));
        console.log(
          `partial outputs seen right after the kill: ${seen.size}; partial blocks deleted by the cleaner: ${cleaned}`,
        );
        // Never counted: no plan read it, no live block lists it, it is gone.
        const ids = [...seen].map((s) => s.slice(s.indexOf('/') + 1));
        for (const w of [r.killed, ...r.others]) {
          for (const line of records(w).filter((x) => x.msg === 'plan started')) {
            for (const id of ids)
              expect(line.sources ?? '', `${w.name} plan ${line.plan ?? ''}`).not.toContain(id);
          }
        }
        const states = await readTenants(r.bucket, fx);
        for (const s of seen) {
          const [tenant, id] = s.split('/') as [string, string];
          const st = states.get(tenant)!;
          expect(st.blocks.has(id), `${s} still in the bucket`).toBe(false);
          expect(liveBlocks(st).flatMap((b) => b.meta!.compaction.sources)).not.toContain(id);
        }
      },
    );
  }, 170_000);
});
