/**
 * Never halt for one bad block: a tenant of identical HA replica pairs (8 × 2h windows) where
 * r2's window-2 block has a flipped byte inside a chunk (CRC error) and a third replica's
 * window-5 block has two chunks of one series in reverse order in its index (written by hand).
 * One `strata compact` run must compact every good block, put a no-compact mark (in the block
 * AND the tenant markers/ copy) with reason `critical` on the corrupt block and
 * `block-index-out-of-order-chunk` on the out-of-order one, log a warning naming each, and exit 0.
 * A second run must not touch them again.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { uploadBlock } from '../../src/block/upload.js';
import { simulate } from '../../src/plan/index.js';
import type { PlanBlock } from '../../src/plan/types.js';
import { readMetaFile, writeMetaFile } from '../../src/tsdb/meta.js';
import { diffDumps } from '../support/dump.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { readBlockChunks, flipByte } from '../compact/helpers.js';
import { writeCraftedBlock, type CraftedChunk } from '../compact/crafted.js';
import { D0, TWO_HOURS, haFixture, windowOf, type HaTenant } from './fixtures.js';
import {
  downloadBlocks,
  dumpBlocksSeparately,
  duplicateSamples,
  layout,
  liveBlocks,
  readTenant,
  type TenantState,
} from './inspect.js';
import { compactArgs, filesystemObjstore, logRecords, runStrataOk, type ExitResult } from './run.js';
import { ensureBuilt } from '../support/build.js';

const TENANT = 'nh';
let root = '';
let bucket: FilesystemBucket;
let args: string[];
let t: HaTenant;
let corrupt = '';
let unordered = '';
let first: ExitResult;
let second: ExitResult;
let afterFirst: TenantState;
let afterSecond: TenantState;

/** Samples every 15 s from the start of window 5, value i, for i in [from, to). */
function chunk(from: number, to: number): CraftedChunk {
  const out: [number, number][] = [];
  for (let i = from; i < to; i++) out.push([D0 + 5 * TWO_HOURS + 15_000 * i, i]);
  return out;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-compactor-nohalt-'));
  const [fx] = await Promise.all([
    haFixture({ windows: 8, series: 6, seed: 61, tenants: [{ tenant: TENANT, kind: 'identical' }] }),
    ensureBuilt(),
  ]);
  t = fx.tenants[0]!;
  const dir = join(root, 'bucket');
  bucket = new FilesystemBucket({ directory: dir });

  // r2's window-2 block with one byte flipped inside the data of a chunk.
  const victim = t.blocks.find((b) => b.replica === 'r2' && windowOf(b.minTime) === 2)!;
  corrupt = victim.ulid;
  const broken = join(root, 'broken', corrupt);
  await cp(victim.dir, broken, { recursive: true });
  const c = (await readBlockChunks(broken))[1]!.chunks[0]!;
  await flipByte(join(broken, 'chunks', '000001'), (c.ref % 2 ** 32) + c.raw.length - 8);

  // A third replica's window-5 block whose index lists a series' chunks in reverse time order.
  const crafted = await writeCraftedBlock(join(root, 'crafted'), [
    { labels: { __name__: 'crafted_ok', job: 'x' }, chunks: [chunk(0, 60), chunk(60, 120)] },
    { labels: { __name__: 'crafted_unordered', job: 'x' }, chunks: [chunk(60, 120), chunk(0, 60)] },
  ]);
  unordered = crafted.ulid;
  const meta = await readMetaFile(crafted.dir);
  meta.thanos = {
    labels: { cluster: t.cluster, replica: 'r3' },
    downsample: { resolution: 0 },
    source: 'sidecar',
  };
  await writeMetaFile(crafted.dir, meta);

  for (const b of t.blocks) await uploadBlock(bucket, layout, TENANT, b.ulid === corrupt ? broken : b.dir);
  await uploadBlock(bucket, layout, TENANT, crafted.dir);

  args = compactArgs({ objstore: filesystemObjstore(dir), dataDir: join(root, 'data') });
  first = await runStrataOk(args);
  afterFirst = await readTenant(bucket, TENANT);
  second = await runStrataOk(args);
  afterSecond = await readTenant(bucket, TENANT);
}, 300_000);

afterAll(async () => {
  await bucket?.close();
  if (root) await rm(root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

describe('strata compact never halts for a bad block', () => {
  it('exits 0 and marks the corrupt block critical and the out-of-order one, in the block and markers/', async () => {
    expect(first.code).toBe(0);
    for (const [id, reason] of [
      [corrupt, 'critical'],
      [unordered, 'block-index-out-of-order-chunk'],
    ] as const) {
      const mark = afterFirst.blocks.get(id)?.noCompactMark;
      expect(mark, `${id}: no-compact-mark.json\n${first.output}`).toMatchObject({ id, version: 1, reason });
      expect(mark!.details, id).toContain(id);
      expect(afterFirst.markerCopies, id).toContain(`${id}-no-compact-mark.json`);
      const copy = JSON.parse(
        (await bucket.get(`${TENANT}/markers/${id}-no-compact-mark.json`)).toString('utf8'),
      ) as unknown;
      expect(copy, `${id}: markers/ copy`).toEqual(mark);
      expect(afterFirst.blocks.get(id)?.deletionMark, id).toBeUndefined();
    }
    expect(afterFirst.blocks.get(corrupt)!.noCompactMark!.details).toMatch(/checksum|crc/i);
    expect(afterFirst.blocks.get(unordered)!.noCompactMark!.details).toContain('crafted_unordered');
  });

  it('logs a warning naming each bad block and its reason', () => {
    const warns = logRecords(first.output).filter((r) => r.level === 'warn');
    for (const [id, reason] of [
      [corrupt, 'critical'],
      [unordered, 'block-index-out-of-order-chunk'],
    ] as const) {
      expect(
        warns.some((r) => r.block === id && r.reason === reason),
        `warn line for ${id}\n${first.output}`,
      ).toBe(true);
    }
  });

  it('compacts every good block as if the bad ones were not there', async () => {
    const live = liveBlocks(afterFirst);
    const good = live.filter((b) => b.ulid !== corrupt && b.ulid !== unordered);
    expect(live.map((b) => b.ulid)).toEqual(expect.arrayContaining([corrupt, unordered]));
    // Every good input is in exactly one compacted block.
    const goodInputs = t.blocks.map((b) => b.ulid).filter((id) => id !== corrupt);
    expect(good.flatMap((b) => b.meta!.compaction.sources).sort()).toEqual(goodInputs.sort());
    expect(good.every((b) => b.meta!.compaction.level >= 2)).toBe(true);
    // The planner's own answer with the two blocks flagged no-compact.
    const inputs: PlanBlock[] = [];
    for (const b of live.filter((x) => x.ulid === corrupt || x.ulid === unordered))
      inputs.push({ ...b.meta!, tenant: TENANT, noCompact: true });
    for (const b of t.blocks.filter((x) => x.ulid !== corrupt))
      inputs.push({ ...(await readMetaFile(b.dir)), tenant: TENANT, noCompact: false });
    const want = simulate(inputs, { replicaLabels: ['replica'] })
      .blocks.map((b) => [b.minTime, b.maxTime, b.compaction.level])
      .sort((a, b) => a[0]! - b[0]! || a[2]! - b[2]!);
    expect(
      live
        .map((b) => [b.meta!.minTime, b.meta!.maxTime, b.meta!.compaction.level])
        .sort((a, b) => a[0]! - b[0]! || a[2]! - b[2]!),
    ).toEqual(want);
    // By hand: windows 0-3 would make an 8h block, but like Thanos' planner the no-compact block
    // (window 2) splits its range, so 0-2 merge and 3 stays; 4-7 are the newest range, not full.
    expect(good.map((b) => [windowOf(b.meta!.minTime), windowOf(b.meta!.maxTime - 1)])).toEqual([
      [0, 2],
      [3, 3],
      [4, 4],
      [5, 5],
      [6, 6],
      [7, 7],
    ]);
    // The good blocks hold all of the data.
    const dirs = await downloadBlocks(
      bucket,
      TENANT,
      good.map((b) => b.ulid),
      join(root, 'dl'),
    );
    const lines = await dumpBlocksSeparately(dirs);
    expect(duplicateSamples(lines)).toEqual([]);
    expect(diffDumps(t.dumps.r1!, lines)).toBeUndefined();
  });

  it('a second run does not retry the bad blocks and changes nothing', () => {
    expect(second.code).toBe(0);
    const recs = logRecords(second.output);
    const pass = recs.find((r) => r.msg === 'compaction pass done');
    expect(pass, second.output).toMatchObject({ plans: '0', failed: '0', marked_no_compact: '0' });
    expect(
      recs.filter((r) => r.level === 'warn' || r.level === 'error'),
      second.output,
    ).toEqual([]);
    expect(second.output).not.toContain('compaction done');
    expect([...afterSecond.blocks.keys()].sort()).toEqual([...afterFirst.blocks.keys()].sort());
    for (const id of [corrupt, unordered]) {
      expect(afterSecond.blocks.get(id)?.noCompactMark, id).toEqual(afterFirst.blocks.get(id)?.noCompactMark);
    }
  });
});
