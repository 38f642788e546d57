/**
 * A bad block gets the same no-compact mark whether `strata compact` or a `strata planner` with
 * `strata worker`s meets it, and everything else compacts alike. Four kinds of bad block in one
 * tenant of identical HA replica pairs: a chunk with a flipped byte (CRC), a crafted third replica
 * whose index lists a series' chunks out of order, a block whose chunk segment is missing from the
 * bucket, and one whose chunk segment has the wrong size (both found while downloading, and retried
 * forever before the failure classification looked through the download error's cause).
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { uploadBlock } from '../../src/block/upload.js';
import { readMetaFile, writeMetaFile } from '../../src/tsdb/meta.js';
import { assertNoLeakedProcesses, waitFor, type TrackedProcess } from '../support/processes.js';
import { ensureBuilt } from '../support/build.js';
import { readBlockChunks, flipByte } from '../compact/helpers.js';
import { writeCraftedBlock, type CraftedChunk } from '../compact/crafted.js';
import { D0, TWO_HOURS, haFixture, windowOf, type HaTenant } from './fixtures.js';
import { layout, liveBlocks, partialBlocks, readTenant, type TenantState } from './inspect.js';
import { compactArgs, filesystemObjstore, runStrataOk, tail } from './run.js';
import { blockKey, plannerStatus, startPlanner, startWorker, stopOk } from '../planner/cluster.js';

const TENANT = 'bad';
let root = '';
let t: HaTenant;
const expected = new Map<string, string>();
let compactState: TenantState;
let plannerState: TenantState;
let plannerLog = '';

/** Samples every 15 s from the start of window 2, value i, for i in [from, to). */
function chunk(from: number, to: number): CraftedChunk {
  const out: [number, number][] = [];
  for (let i = from; i < to; i++) out.push([D0 + 2 * TWO_HOURS + 15_000 * i, i]);
  return out;
}

/** A bucket with the fixture and the four bad blocks, uploaded and then damaged. */
async function makeBucket(dir: string, corruptDir: string, craftedDir: string): Promise<FilesystemBucket> {
  const bucket = new FilesystemBucket({ directory: dir });
  for (const b of t.blocks) {
    const corrupt = expected.get(b.ulid) === 'critical' && windowOf(b.minTime) === 1;
    await uploadBlock(bucket, layout, TENANT, corrupt ? corruptDir : b.dir);
  }
  await uploadBlock(bucket, layout, TENANT, craftedDir);
  const [missing, short] = [2, 3].map((w) =>
    t.blocks.find((b) => b.replica === 'r2' && windowOf(b.minTime) === w)!,
  );
  await bucket.delete(layout.blockFile(TENANT, missing!.ulid, 'chunks/000001'));
  await bucket.upload(layout.blockFile(TENANT, short!.ulid, 'chunks/000001'), Buffer.from('short'));
  return bucket;
}

function marks(st: TenantState): Map<string, string> {
  const out = new Map<string, string>();
  for (const [id, b] of st.blocks) if (b.noCompactMark) out.set(id, b.noCompactMark.reason);
  return out;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-bad-modes-'));
  const [fx] = await Promise.all([
    haFixture({ windows: 4, series: 6, seed: 77, tenants: [{ tenant: TENANT, kind: 'identical' }] }),
    ensureBuilt(),
  ]);
  t = fx.tenants[0]!;
  const r2 = (w: number): string =>
    t.blocks.find((b) => b.replica === 'r2' && windowOf(b.minTime) === w)!.ulid;

  const victim = t.blocks.find((b) => b.ulid === r2(1))!;
  const corruptDir = join(root, 'broken', victim.ulid);
  await cp(victim.dir, corruptDir, { recursive: true });
  const c = (await readBlockChunks(corruptDir))[1]!.chunks[0]!;
  await flipByte(join(corruptDir, 'chunks', '000001'), (c.ref % 2 ** 32) + c.raw.length - 8);

  const crafted = await writeCraftedBlock(join(root, 'crafted'), [
    { labels: { __name__: 'crafted_unordered', job: 'x' }, chunks: [chunk(60, 120), chunk(0, 60)] },
  ]);
  const meta = await readMetaFile(crafted.dir);
  meta.thanos = {
    labels: { cluster: t.cluster, replica: 'r3' },
    downsample: { resolution: 0 },
    source: 'sidecar',
  };
  await writeMetaFile(crafted.dir, meta);

  expected.set(r2(1), 'critical');
  expected.set(crafted.ulid, 'block-index-out-of-order-chunk');
  expected.set(r2(2), 'critical');
  expected.set(r2(3), 'critical');

  // strata compact, once.
  const a = await makeBucket(join(root, 'a'), corruptDir, crafted.dir);
  await runStrataOk(
    compactArgs({ objstore: filesystemObjstore(join(root, 'a')), dataDir: join(root, 'data-a') }),
  );
  compactState = await readTenant(a, TENANT);
  await a.close();

  // strata planner and two workers, until the bucket is quiet with every bad block marked.
  const b = await makeBucket(join(root, 'b'), corruptDir, crafted.dir);
  const objstore = filesystemObjstore(join(root, 'b'));
  const planner = await startPlanner({ objstore, dataDir: join(root, 'data-p') });
  const workers: TrackedProcess[] = [];
  try {
    for (const id of ['w1', 'w2']) {
      workers.push(await startWorker({ planner, objstore, dataDir: join(root, `data-${id}`), id }));
    }
    await waitFor(
      'the planner to mark every bad block and finish the rest',
      async () => {
        const s = await plannerStatus(planner);
        const st = await readTenant(b, TENANT);
        const done =
          s.pending === 0 &&
          s.running === 0 &&
          marks(st).size === expected.size &&
          partialBlocks(st).length === 0 &&
          [...st.blocks.values()].every((x) => x.deletionMark === undefined);
        return done ? st : undefined;
      },
      120_000,
      500,
    ).then((st) => {
      plannerState = st;
    });
  } catch (err) {
    throw new Error(`${String(err)}\n--- planner:\n${tail(planner.proc.output())}`);
  } finally {
    plannerLog = planner.proc.output();
    for (const w of workers) await stopOk(w);
    await stopOk(planner.proc);
    await b.close();
  }
}, 300_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

describe('a bad block is marked alike by strata compact and by the planner with workers', () => {
  it('strata compact marks each bad block with its reason', () => {
    expect(marks(compactState)).toEqual(expected);
  });

  it('the planner writes the same marks (reason from the worker, not always critical)', () => {
    expect(marks(plannerState), tail(plannerLog)).toEqual(expected);
    // Details are the error itself (local paths differ between the processes), naming the block.
    for (const [id] of expected) {
      expect(plannerState.blocks.get(id)!.noCompactMark!.details, id).toContain(id);
      expect(compactState.blocks.get(id)!.noCompactMark!.details, id).toContain(id);
    }
  });

  it('everything else ends up in the same blocks in both modes', () => {
    const keys = (st: TenantState): string[] => liveBlocks(st).map(blockKey).sort();
    expect(keys(plannerState)).toEqual(keys(compactState));
  });
});
