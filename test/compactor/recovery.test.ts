/**
 * Every state a crash of `strata compact` can leave, made by hand (deterministic, unlike the
 * random kills of crash.test.ts), then one run must repair all of them without losing a sample:
 *
 *   window 0  output uploaded, neither source marked (killed between upload and mark)
 *   window 1  output uploaded, one source with a block-level deletion mark but no markers/ copy
 *             (killed between the two writes of a mark), the other source unmarked
 *   window 2  an output without meta.json (killed mid-upload), an hour old
 *   window 3  compacted and marked; one source half hard-deleted (meta.json gone, the rest and the
 *             marks still there), the other gone except its markers/ copy
 *   window 4, 5  untouched replica pairs
 */
import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { uploadBlock } from '../../src/block/upload.js';
import { markForDeletion } from '../../src/block/delete.js';
import { formatMarker, newDeletionMark } from '../../src/tsdb/markers.js';
import { compactBlocks } from '../../src/tsdb/compact/compact.js';
import { ulidSource } from '../../src/tsdb/ulid.js';
import { diffDumps } from '../support/dump.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { haFixture, windowOf, type FixtureBlock, type HaTenant } from './fixtures.js';
import {
  downloadBlocks,
  dumpBlocksSeparately,
  duplicateSamples,
  expectBucketIndexMatches,
  layout,
  liveBlocks,
  partialBlocks,
  readTenant,
  type TenantState,
} from './inspect.js';
import { compactArgs, filesystemObjstore, runStrataOk } from './run.js';
import { ensureBuilt } from '../support/build.js';

const TENANT = 'rec';
let root = '';
let bucket: FilesystemBucket;
let t: HaTenant;
let st: TenantState;
let before: TenantState;
let output = '';
const made: Record<string, string> = {};

function pair(w: number): [FixtureBlock, FixtureBlock] {
  const bs = t.blocks
    .filter((b) => windowOf(b.minTime) === w)
    .sort((a, b) => a.replica.localeCompare(b.replica));
  expect(bs.map((b) => b.replica)).toEqual(['r1', 'r2']);
  return [bs[0]!, bs[1]!];
}

/** compactBlocks of a window's replica pair, as the compactor's output would be. */
async function compactPair(w: number, ulid?: string): Promise<string> {
  const [a, b] = pair(w);
  const res = await compactBlocks([a.dir, b.dir], join(root, `out-${w}`), {
    dedup: 'penalty',
    replicaLabels: ['replica'],
    ...(ulid !== undefined ? { ulid } : {}),
  });
  return res.dir!;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-compactor-recovery-'));
  const [fx] = await Promise.all([
    haFixture({ windows: 6, series: 6, seed: 41, tenants: [{ tenant: TENANT, kind: 'identical' }] }),
    ensureBuilt(),
  ]);
  t = fx.tenants[0]!;
  const dir = join(root, 'bucket');
  bucket = new FilesystemBucket({ directory: dir });
  for (const b of t.blocks) await uploadBlock(bucket, layout, TENANT, b.dir);
  const now = Date.now();

  // Window 0: output uploaded, sources unmarked.
  const out0 = await compactPair(0);
  await uploadBlock(bucket, layout, TENANT, out0);
  made.out0 = out0.slice(-26);

  // Window 1: output uploaded; r1's mark written to the block only.
  const out1 = await compactPair(1);
  await uploadBlock(bucket, layout, TENANT, out1);
  const [r1w1] = pair(1);
  await bucket.upload(
    layout.deletionMarkKey(TENANT, r1w1.ulid),
    Buffer.from(formatMarker(newDeletionMark(r1w1.ulid, now, 'compacted'))),
  );
  made.halfMarked = r1w1.ulid;

  // Window 2: the output's chunks and index, no meta.json, an hour old (its ULID too: a real
  // output's ULID is made before its upload starts).
  const out2 = await compactPair(2, ulidSource()(now - 3600_000));
  const id2 = out2.slice(-26);
  await bucket.uploadFile(layout.blockFile(TENANT, id2, 'chunks/000001'), join(out2, 'chunks/000001'));
  await bucket.uploadFile(layout.blockFile(TENANT, id2, 'index'), join(out2, 'index'));
  const hourAgo = new Date(now - 3600_000);
  for (const rel of ['chunks/000001', 'index'])
    await utimes(join(dir, layout.blockFile(TENANT, id2, rel)), hourAgo, hourAgo);
  made.partial = id2;

  // Window 3: compacted and marked; r1 half deleted, r2 deleted but for its markers/ copy.
  const out3 = await compactPair(3);
  await uploadBlock(bucket, layout, TENANT, out3);
  const [r1w3, r2w3] = pair(3);
  for (const b of [r1w3, r2w3]) await markForDeletion(bucket, layout, TENANT, b.ulid, 'compacted', now);
  await bucket.delete(layout.metaKey(TENANT, r1w3.ulid));
  for await (const e of bucket.iter(layout.blockPrefix(TENANT, r2w3.ulid), { recursive: true }))
    await bucket.delete(e.key);
  made.halfDeleted = r1w3.ulid;
  made.orphanCopy = r2w3.ulid;

  before = await readTenant(bucket, TENANT);
  const r = await runStrataOk(
    compactArgs({
      objstore: filesystemObjstore(dir),
      dataDir: join(root, 'data'),
      extra: ['--partial-block-delete-delay', '30m', '--deduplication.func', 'penalty'],
    }),
  );
  output = r.output;
  st = await readTenant(bucket, TENANT);
}, 300_000);

afterAll(async () => {
  await bucket?.close();
  if (root) await rm(root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

describe('strata compact repairs every state a crash leaves', () => {
  it('the crafted states are what they claim to be', () => {
    expect(before.blocks.get(made.halfMarked!)?.deletionMark).toBeDefined();
    expect(before.markerCopies).not.toContain(`${made.halfMarked}-deletion-mark.json`);
    expect(before.blocks.get(made.partial!)?.meta).toBeUndefined();
    expect(before.blocks.get(made.halfDeleted!)?.meta).toBeUndefined();
    expect(before.blocks.get(made.orphanCopy!)).toBeUndefined();
    expect(before.markerCopies).toContain(`${made.orphanCopy}-deletion-mark.json`);
  });

  it('deletes the unmarked and half-marked duplicates, the partial output, the half-deleted block and the orphan marker', () => {
    expect(
      partialBlocks(st).map((b) => b.ulid),
      `${JSON.stringify(made)}\n${output}`,
    ).toEqual([]);
    expect(
      [...st.blocks.values()].filter((b) => b.deletionMark || b.noCompactMark).map((b) => b.ulid),
      output,
    ).toEqual([]);
    expect(st.markerCopies).toEqual([]);
    for (const id of Object.values(made)) expect(st.blocks.has(id), id).toBe(false);
  });

  it('keeps every input in exactly one live block, at the expected levels', () => {
    const live = liveBlocks(st);
    expect(live.flatMap((b) => b.meta!.compaction.sources).sort()).toEqual(
      t.blocks.map((b) => b.ulid).sort(),
    );
    expect(live.map((b) => [windowOf(b.meta!.minTime), windowOf(b.meta!.maxTime - 1)])).toEqual([
      [0, 3],
      [4, 4],
      [5, 5],
    ]);
  });

  it('loses no sample and stores none twice', async () => {
    const dirs = await downloadBlocks(
      bucket,
      TENANT,
      liveBlocks(st).map((b) => b.ulid),
      join(root, 'dl'),
    );
    const lines = await dumpBlocksSeparately(dirs);
    expect(duplicateSamples(lines)).toEqual([]);
    expect(diffDumps(t.dumps.r1!, lines)).toBeUndefined();
  });

  it('leaves a bucket index that matches the bucket', async () => {
    await expectBucketIndexMatches(bucket, st);
  });
});
