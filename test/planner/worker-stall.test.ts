/**
 * A `strata worker` that stalls in the middle of a plan (SIGSTOP: its stream stays open, it sends
 * no PROGRESS): the planner's lease (--planner.lease-timeout 5s) expires, the plan is re-queued and
 * completed by another worker. When the stalled worker wakes up (SIGCONT) it must not finish the
 * plan it lost: the planner cancels it, nothing of it reaches the bucket, and the bucket ends at
 * the final levels src/plan `simulate` predicts, with one replica's samples, each once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { simulate } from '../../src/plan/index.js';
import type { PlanBlock } from '../../src/plan/types.js';
import { readMetaFile } from '../../src/tsdb/meta.js';
import { diffDumps } from '../support/dump.js';
import { assertNoLeakedProcesses, type TrackedProcess } from '../support/processes.js';
import { TWO_IDENTICAL_TENANTS, haFixture, type HaFixture } from '../compactor/fixtures.js';
import { duplicateSamples, liveBlocks, partialBlocks } from '../compactor/inspect.js';
import { filesystemObjstore } from '../compactor/run.js';
import { ensureBuilt } from '../support/build.js';
import {
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

let root = '';
let fx: HaFixture;
const want = new Map<string, string[]>();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-planner-stall-'));
  [fx] = await Promise.all([haFixture(TWO_IDENTICAL_TENANTS), ensureBuilt()]);
  for (const t of fx.tenants) {
    const inputs: PlanBlock[] = [];
    for (const b of t.blocks)
      inputs.push({ ...(await readMetaFile(b.dir)), tenant: t.tenant, noCompact: false });
    const sim = simulate(inputs, { replicaLabels: ['replica'], dedup: 'penalty' });
    want.set(t.tenant, sim.blocks.map((b) => blockKey({ meta: b })).sort());
  }
}, 300_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

describe('a worker that stalls in the middle of a plan', () => {
  it('its lease expires, another worker completes the plan, the woken worker drops it', async () => {
    const dir = join(root, 'bucket');
    const bucket = new FilesystemBucket({ directory: dir });
    await uploadFixture(bucket, fx);
    const objstore = filesystemObjstore(dir);
    const procs: TrackedProcess[] = [];
    let planner: Planner | undefined;
    let stalled: TrackedProcess | undefined;
    try {
      planner = await startPlanner({
        objstore,
        dataDir: join(root, 'planner'),
        extra: ['--deduplication.func', 'penalty', '--planner.lease-timeout', '5s'],
      });
      procs.push(planner.proc);
      // Each step starts with a 1 s sleep: stopped right after 'plan started', it is mid-download.
      stalled = await startWorker({
        planner,
        objstore,
        dataDir: join(root, 'w1'),
        id: 'w1',
        env: { STRATA_DEBUG_PHASE_DELAY_MS: '1000' },
      });
      procs.push(stalled);
      const plan = (await waitForLog(stalled, "'plan started'", (r) => r.msg === 'plan started')).plan!;
      process.kill(stalled.pid, 'SIGSTOP');
      const stoppedAt = Date.now();

      await waitForLog(
        planner.proc,
        `'lease expired; re-queueing' for ${plan}`,
        (r) => r.msg === 'lease expired; re-queueing' && r.plan === plan && r.worker === 'w1',
      );
      expect(Date.now() - stoppedAt, 'the lease expired after about 5 s').toBeGreaterThanOrEqual(4000);

      const others: TrackedProcess[] = [];
      for (const id of ['w2', 'w3']) {
        const w = await startWorker({ planner, objstore, dataDir: join(root, id), id });
        procs.push(w);
        others.push(w);
      }
      const done = await waitForLog(
        planner.proc,
        `'plan completed' for ${plan}`,
        (r) => r.msg === 'plan completed' && r.plan === plan,
      );
      expect(['w2', 'w3']).toContain(done.worker);

      // Wake it up: it is told its plan is gone (on its stream, or when it reconnects) and drops it.
      process.kill(stalled.pid, 'SIGCONT');
      await waitForLog(
        stalled,
        `'plan cancelled by the planner' for ${plan}`,
        (r) => r.msg === 'plan cancelled by the planner' && r.plan === plan,
      );

      await waitForEndState(planner, bucket, fx, want);
      for (const w of [stalled, ...others]) await stopOk(w);
      await stopOk(planner.proc);

      // Completed once, by the worker that took it over; the woken worker never finished it.
      expect(
        records(planner.proc)
          .filter((r) => r.msg === 'plan completed' && r.plan === plan)
          .map((r) => r.worker),
      ).toEqual([done.worker]);
      expect(
        records(stalled).filter((r) => r.msg === 'compaction done' && r.plan === plan),
        'the woken worker compacted its lost plan',
      ).toEqual([]);
      expect(plansLogged(stalled, 'plan failed')).toEqual([]);

      const states = await readTenants(bucket, fx);
      for (const t of fx.tenants) {
        const st = states.get(t.tenant)!;
        const live = liveBlocks(st);
        expectSameBlocks(live.map(blockKey), want.get(t.tenant)!, `${t.tenant}: live blocks vs simulate`);
        expect(overlappingLive(st), `${t.tenant}: overlapping live blocks`).toEqual([]);
        expect(
          partialBlocks(st).map((b) => b.ulid),
          `${t.tenant}: partial blocks`,
        ).toEqual([]);
        expect([...st.blocks.keys()].sort(), `${t.tenant}: blocks other than the live ones`).toEqual(
          live.map((b) => b.ulid).sort(),
        );
        const got = await liveDump(bucket, st, join(root, 'dump'));
        expect(duplicateSamples(got), `${t.tenant}: samples stored twice`).toEqual([]);
        expect(diffDumps(t.dumps.r1!, got), `${t.tenant}: dump vs one replica`).toBeUndefined();
      }
    } catch (err) {
      throw withOutputs(err, procs);
    } finally {
      if (stalled && !stalled.exited()) process.kill(stalled.pid, 'SIGCONT');
      for (const p of procs) await p.stop('SIGKILL', 1000);
      await bucket.close();
    }
  }, 170_000);
});
