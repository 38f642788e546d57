/**
 * Downsample plans through `strata planner` and two `strata worker`s: the same bucket content as
 * `strata compact --downsampling.enable` ends in the same live blocks (raw and 5m, by range,
 * resolution, level and sources), with the downsample plans run by the workers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { writeSynthBlocks } from '../../src/tsdb/synth/write.js';
import { ensureBuilt } from '../support/build.js';
import { assertNoLeakedProcesses, type TrackedProcess } from '../support/processes.js';
import { liveBlocks } from '../compactor/inspect.js';
import { compactArgs, filesystemObjstore, logRecords, runStrataOk } from '../compactor/run.js';
import {
  blockKey,
  readTenants,
  startPlanner,
  startWorker,
  stopOk,
  waitForEndState,
  withOutputs,
  type Planner,
  type TenantList,
} from './cluster.js';

const TWO_DAYS = 48 * 3_600_000;
const FIVE_MIN = 300_000;
const fx: TenantList = { tenants: ['alpha', 'beta'].map((tenant) => ({ tenant })) };
const DOWNSAMPLE = ['--downsampling.enable'];

let root = '';
let start = 0;

async function writeBucket(name: string): Promise<FilesystemBucket> {
  // Same seed: both buckets hold the same blocks (ULIDs included).
  await writeSynthBlocks({
    outDir: join(root, name),
    series: 5,
    hours: 52,
    seed: 3,
    startMs: start,
    tenants: fx.tenants.map((t) => t.tenant),
  });
  return new FilesystemBucket({ directory: join(root, name) });
}

let compactBucket: FilesystemBucket;
let plannerBucket: FilesystemBucket;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-planner-downsample-'));
  start = Math.floor((Date.now() - 10 * 24 * 3_600_000) / TWO_DAYS) * TWO_DAYS;
  [compactBucket, plannerBucket] = await Promise.all([writeBucket('a'), writeBucket('b'), ensureBuilt()]);
}, 300_000);

afterAll(async () => {
  await compactBucket?.close();
  await plannerBucket?.close();
  if (root) await rm(root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

describe('strata planner --downsampling.enable', () => {
  it('hands downsample plans to workers and ends where strata compact ends', async () => {
    await runStrataOk(
      compactArgs({
        objstore: filesystemObjstore(join(root, 'a')),
        dataDir: join(root, 'compact-data'),
        extra: DOWNSAMPLE,
      }),
    );
    const ref = await readTenants(compactBucket, fx);
    const want = new Map([...ref].map(([t, st]) => [t, liveBlocks(st).map(blockKey).sort()]));
    for (const [t, keys] of want) {
      expect(
        keys.filter((k) => k.includes(` r${FIVE_MIN} `)),
        `${t}: 5m blocks of strata compact`,
      ).toHaveLength(1);
    }

    const objstore = filesystemObjstore(join(root, 'b'));
    let planner: Planner | undefined;
    const workers: TrackedProcess[] = [];
    try {
      planner = await startPlanner({ objstore, dataDir: join(root, 'planner-data'), extra: DOWNSAMPLE });
      for (const id of ['w1', 'w2']) {
        workers.push(await startWorker({ planner, objstore, dataDir: join(root, `data-${id}`), id }));
      }
      await waitForEndState(planner, plannerBucket, fx, want);
      const got = await readTenants(plannerBucket, fx);
      for (const [t, st] of got) expect(liveBlocks(st).map(blockKey).sort(), t).toEqual(want.get(t));
      // The downsample plans ran on the workers: one per tenant, each reading one block.
      const downsampled = workers
        .flatMap((w) => logRecords(w.output()))
        .filter((r) => r.msg === 'compaction started' && r.kind === 'downsample');
      expect(downsampled.map((r) => r.tenant).sort()).toEqual(['alpha', 'beta']);
      expect(downsampled.every((r) => r.sources === '1')).toBe(true);
      for (const w of workers) await stopOk(w);
      await stopOk(planner.proc);
    } catch (err) {
      throw withOutputs(err, [...(planner ? [planner.proc] : []), ...workers]);
    } finally {
      for (const w of workers) await w.stop('SIGKILL', 1000);
      await planner?.proc.stop('SIGKILL', 1000);
    }
  }, 150_000);
});
