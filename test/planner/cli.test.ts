/**
 * `strata planner` and `strata worker` at the command line: bad flags are usage errors (exit
 * code 2, one `strata: ERR_INVALID_ARGUMENT: …` line naming the flag, nothing started), and a
 * worker stopped with `--on-stop abandon` in the middle of a plan exits 0 at once, tells the
 * planner, which re-queues the plan for another worker.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { assertNoLeakedProcesses, freePort, type TrackedProcess } from '../support/processes.js';
import { TWO_IDENTICAL_TENANTS, haFixture, type HaFixture } from '../compactor/fixtures.js';
import { filesystemObjstore, plannerArgs, runStrata, tail, workerArgs } from '../compactor/run.js';
import { ensureBuilt } from '../support/build.js';
import {
  records,
  startPlanner,
  startWorker,
  stopGracefully,
  stopOk,
  uploadFixture,
  waitForLog,
  withOutputs,
  type Planner,
} from './cluster.js';

let root = '';

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-planner-cli-'));
  await ensureBuilt();
}, 300_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

/** Runs a command that must be refused: exit 2, the error line matching `message`, nothing started. */
async function expectUsageError(args: readonly string[], message: RegExp): Promise<void> {
  const r = await runStrata(args, { timeoutMs: 30_000 });
  const errors = r.output.split('\n').filter((l) => l.startsWith('strata: '));
  expect(errors, r.output).toHaveLength(1);
  expect(errors[0], r.output).toMatch(/^strata: ERR_INVALID_ARGUMENT: /);
  expect(errors[0], r.output).toMatch(message);
  expect(r.code, r.output).toBe(2);
  expect(r.output).not.toMatch(/msg="strata (planner|worker) started"/);
}

describe('bad input at the command line', () => {
  const objstore = (): string => filesystemObjstore(join(root, 'bad-input-bucket'));
  const dataDir = (): string => join(root, 'bad-input-data');

  it('strata worker without --planner.address', async () => {
    await expectUsageError(
      ['worker', '--objstore.config', objstore(), '--data-dir', dataDir(), '--http-address', '127.0.0.1:0'],
      /--planner\.address is required/,
    );
  });

  it('strata worker --on-stop bogus', async () => {
    const args = workerArgs({
      objstore: objstore(),
      dataDir: dataDir(),
      id: 'w',
      plannerPorts: [await freePort()],
      extra: ['--on-stop', 'bogus'],
    });
    await expectUsageError(args, /--on-stop must be finish or abandon/);
  });

  it('strata worker --concurrency 0', async () => {
    const args = workerArgs({
      objstore: objstore(),
      dataDir: dataDir(),
      id: 'w',
      plannerPorts: [await freePort()],
      extra: ['--concurrency', '0'],
    });
    await expectUsageError(args, /--concurrency must be at least 1/);
  });

  for (const bad of ['nonsense', '127.0.0.1:99999', '127.0.0.1:http']) {
    it(`strata planner --grpc-address ${bad}`, async () => {
      const args = plannerArgs({
        objstore: objstore(),
        dataDir: dataDir(),
        grpcPort: await freePort(),
        extra: ['--grpc-address', bad],
      });
      await expectUsageError(args, new RegExp(`--grpc-address: .*"${bad.replace(/\./g, '\\.')}"`));
    });
  }

  it('strata planner --etcd.lease-ttl 1s', async () => {
    const args = plannerArgs({
      objstore: objstore(),
      dataDir: dataDir(),
      grpcPort: await freePort(),
      extra: ['--etcd.lease-ttl', '1s'],
    });
    await expectUsageError(args, /--etcd\.lease-ttl must be at least 2s/);
  });

  it('strata planner with retention shorter than the span downsampling needs, or both downsampling switches', async () => {
    const args = async (extra: string[]): Promise<string[]> =>
      plannerArgs({ objstore: objstore(), dataDir: dataDir(), grpcPort: await freePort(), extra });
    await expectUsageError(
      await args(['--downsampling.enable', '--retention.resolution-raw', '24h']),
      /--retention\.resolution-raw must be 0 or at least 40h/,
    );
    await expectUsageError(
      await args(['--downsampling.enable', '--retention.resolution-5m', '7d']),
      /--retention\.resolution-5m must be 0 or at least 10d/,
    );
    await expectUsageError(
      await args(['--downsampling.enable', '--downsampling.disable']),
      /--downsampling\.disable and --downsampling\.enable exclude each other/,
    );
  });

  it('strata planner --planner.max-failures 0', async () => {
    const args = plannerArgs({
      objstore: objstore(),
      dataDir: dataDir(),
      grpcPort: await freePort(),
      extra: ['--planner.max-failures', '0'],
    });
    await expectUsageError(args, /--planner\.max-failures must be at least 1/);
  });
});

describe('strata worker --on-stop abandon', () => {
  let fx: HaFixture;
  let bucket: FilesystemBucket | undefined;

  beforeAll(async () => {
    fx = await haFixture(TWO_IDENTICAL_TENANTS);
    bucket = new FilesystemBucket({ directory: join(root, 'abandon-bucket') });
    await uploadFixture(bucket, fx);
  }, 300_000);

  afterAll(async () => {
    await bucket?.close();
  });

  it('SIGTERM while a plan runs: exits 0 promptly, the planner re-queues the plan, another worker completes it', async () => {
    const objstore = filesystemObjstore(join(root, 'abandon-bucket'));
    const procs: TrackedProcess[] = [];
    let planner: Planner | undefined;
    try {
      planner = await startPlanner({
        objstore,
        dataDir: join(root, 'abandon-planner'),
        extra: ['--deduplication.func', 'penalty'],
      });
      procs.push(planner.proc);
      // Every step of this worker starts with a 2 s sleep: a plan takes > 10 s to finish.
      const leaving = await startWorker({
        planner,
        objstore,
        dataDir: join(root, 'abandon-wa'),
        id: 'wa',
        extra: ['--on-stop', 'abandon'],
        env: { STRATA_DEBUG_PHASE_DELAY_MS: '2000' },
      });
      procs.push(leaving);
      const plan = (await waitForLog(leaving, "'plan started'", (r) => r.msg === 'plan started')).plan!;

      const exit = await stopGracefully(leaving, 30_000);
      expect(exit.code, `exit of the abandoning worker:\n${tail(exit.output)}`).toBe(0);
      // Finishing would take another four 2 s steps at least; abandoning ends within the current one.
      expect(exit.ms, tail(exit.output)).toBeLessThan(20_000);
      const own = records(leaving);
      expect(
        own.some((r) => r.msg === 'plan abandoned' && r.plan === plan),
        `'plan abandoned' for ${plan}:\n${tail(exit.output)}`,
      ).toBe(true);
      expect(own.filter((r) => r.msg === 'compaction done')).toEqual([]);
      const steps = own.filter((r) => r.msg === 'debug: step').map((r) => r.step);
      expect(steps, 'it never uploaded or marked anything').not.toContain('upload');
      expect(steps).not.toContain('mark');
      expect(own.find((r) => r.msg === 'strata worker stopping')?.mode).toBe('abandon');

      await waitForLog(
        planner.proc,
        "'plan abandoned by its worker; re-queueing'",
        (r) => r.msg === 'plan abandoned by its worker; re-queueing' && r.plan === plan && r.worker === 'wa',
      );

      const taking = await startWorker({ planner, objstore, dataDir: join(root, 'abandon-wb'), id: 'wb' });
      procs.push(taking);
      await waitForLog(
        planner.proc,
        `'plan completed' of ${plan} by wb`,
        (r) => r.msg === 'plan completed' && r.plan === plan && r.worker === 'wb',
      );
      expect(records(taking).some((r) => r.msg === 'compaction done' && r.plan === plan)).toBe(true);
      // Nobody else completed it: the abandoning worker never reported it done.
      expect(records(planner.proc).filter((r) => r.msg === 'plan completed' && r.plan === plan)).toHaveLength(
        1,
      );

      await stopOk(taking);
      await stopOk(planner.proc);
    } catch (err) {
      throw withOutputs(err, procs);
    } finally {
      for (const p of procs) await p.stop('SIGKILL', 1000);
    }
  }, 150_000);
});
