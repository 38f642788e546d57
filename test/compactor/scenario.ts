/**
 * The end-to-end scenario, run against any bucket (filesystem, S3): a multi-tenant bucket of
 * promtool blocks from HA replica pairs over 2.5 days is compacted by one `strata compact` run
 * (child process, no --wait, penalty dedup on the `replica` label), then checked:
 *
 * - exit 0; the live blocks are the planner's final levels: by hand, windows [0, 24) as one 2d
 *   block, [24, 28) as one 8h block and the two newest 2h windows alone; and block for block
 *   (range, level, compaction.sources) what src/plan `simulate` predicts from the input metas;
 * - no partial block, no marker left (delete delay 0), outputs carry the group labels without
 *   `replica` and source `compactor`;
 * - the identical-replica tenant's data, dumped one live block at a time by promtool, equals one
 *   replica's dump exactly (nothing lost, nothing twice);
 * - the offset-replica tenant: no sample twice, every sample one of a replica's, r1's data exactly
 *   wherever r1 has no gap or is alone, r1's gap filled from r2, replicas never interleaved;
 * - the tenant bucket index lists exactly the blocks and deletion marks in the bucket.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Bucket } from '../../src/objstore/bucket.js';
import { uploadBlock } from '../../src/block/upload.js';
import { forEachLimit } from '../../src/block/concurrency.js';
import { simulate } from '../../src/plan/index.js';
import type { PlanBlock } from '../../src/plan/types.js';
import { readMetaFile } from '../../src/tsdb/meta.js';
import { diffDumps, parseDumpLine } from '../support/dump.js';
import { D0, OFFSET_MS, TWO_HOURS, haFixture, windowOf, type HaFixture, type HaTenant } from './fixtures.js';
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
import { compactArgs, runStrata, tail, type ExitResult } from './run.js';
import { ensureBuilt } from '../support/build.js';

export interface ScenarioTarget {
  /** Where the test uploads the inputs and inspects the result. */
  bucket: Bucket;
  /** Inline objstore YAML for the child process: the same place as `bucket`. */
  objstore: string;
}

/** Live block spans as [first window, last window], by hand for 30 windows from D0. */
const EXPECTED_SPANS: readonly [number, number][] = [
  [0, 23],
  [24, 27],
  [28, 28],
  [29, 29],
];

interface Point {
  t: number;
  v: string;
}

function bySeries(lines: readonly string[]): Map<string, Point[]> {
  const m = new Map<string, Point[]>();
  for (const l of lines) {
    const p = parseDumpLine(l);
    const list = m.get(p.labels);
    if (list) list.push({ t: p.t, v: p.value });
    else m.set(p.labels, [{ t: p.t, v: p.value }]);
  }
  return m;
}

/** What simulate() says the tenant ends with: [minTime, maxTime, level, sources] per block. */
async function simulatedFinal(t: HaTenant): Promise<[number, number, number, string][]> {
  const blocks: PlanBlock[] = [];
  for (const b of t.blocks)
    blocks.push({ ...(await readMetaFile(b.dir)), tenant: t.tenant, noCompact: false });
  const sim = simulate(blocks, { replicaLabels: ['replica'], dedup: 'penalty' });
  return sim.blocks
    .map((b): [number, number, number, string] => [
      b.minTime,
      b.maxTime,
      b.compaction.level,
      [...b.compaction.sources].sort().join(','),
    ])
    .sort((a, b) => a[0] - b[0]);
}

/** Checks the penalty dedup of the offset tenant (see HaTenant). */
function expectPenaltyDedup(t: HaTenant, out: Map<string, Point[]>): void {
  const r1 = bySeries(t.dumps.r1!);
  const r2 = bySeries(t.dumps.r2!);
  expect([...out.keys()].sort(), `${t.tenant}: series`).toEqual([...r1.keys()].sort());
  const gapFrom = t.gapFrom!;
  const gapTo = t.gapTo!;
  const gapWindowStart = D0 + windowOf(gapFrom) * TWO_HOURS;
  const gapWindowEnd = gapWindowStart + TWO_HOURS;
  const outsideGapWindow = (p: Point): boolean => p.t < gapWindowStart || p.t >= gapWindowEnd;
  for (const [k, pts] of out) {
    const a = r1.get(k)!;
    const b = r2.get(k) ?? [];
    // r1 is earlier at every chunk group's start and has no gap outside its gap window: the
    // penalty algorithm stays on r1 there, so the output is r1's data exactly.
    expect(pts.filter(outsideGapWindow), `${t.tenant} ${k}: outside the gap window`).toEqual(
      a.filter(outsideGapWindow),
    );
    const aAt = new Map(a.map((p) => [p.t, p.v]));
    const bAt = new Map(b.map((p) => [p.t, p.v]));
    const inWindow = pts.filter((p) => !outsideGapWindow(p));
    let prev: Point | undefined;
    let prevReplica = '';
    let switches = 0;
    for (const p of inWindow) {
      const replica = aAt.get(p.t) === p.v ? 'r1' : bAt.get(p.t) === p.v ? 'r2' : '';
      expect(replica, `${t.tenant} ${k} ${p.t} ${p.v}: not a sample of either replica`).not.toBe('');
      if (prev) {
        // Interleaved replicas would put samples OFFSET_MS apart.
        expect(p.t - prev.t, `${t.tenant} ${k}: samples at ${prev.t} and ${p.t}`).toBeGreaterThanOrEqual(
          t.intervalMs / 2,
        );
        expect(p.t - prev.t, `${t.tenant} ${k}: hole after ${prev.t}`).toBeLessThanOrEqual(
          2 * t.intervalMs + OFFSET_MS,
        );
        if (replica !== prevReplica) switches++;
      }
      prev = p;
      prevReplica = replica;
    }
    // The gap is filled from r2.
    const inGap = inWindow.filter((p) => p.t >= gapFrom && p.t < gapTo);
    expect(inGap.length, `${t.tenant} ${k}: samples in r1's gap`).toBeGreaterThanOrEqual(
      (gapTo - gapFrom) / t.intervalMs - 3,
    );
    for (const p of inGap) expect(bAt.get(p.t), `${t.tenant} ${k} ${p.t}: from r2`).toBe(p.v);
    // One switch to r2 at the gap, at most one back at the next chunk group.
    expect(switches, `${t.tenant} ${k}: replica switches`).toBeGreaterThanOrEqual(1);
    expect(switches, `${t.tenant} ${k}: replica switches`).toBeLessThanOrEqual(2);
  }
}

/** Registers the scenario's tests under `name`; `target()` is called once, in beforeAll. */
export function describeCompactionScenario(name: string, target: () => ScenarioTarget): void {
  describe(name, () => {
    let fx: HaFixture;
    let run: ExitResult;
    const states = new Map<string, TenantState>();
    const dumps = new Map<string, string[]>();

    beforeAll(async () => {
      const { bucket, objstore } = target();
      const [fixture] = await Promise.all([haFixture(), ensureBuilt()]);
      fx = fixture;
      const uploads = fx.tenants.flatMap((t) => t.blocks.map((b) => ({ tenant: t.tenant, dir: b.dir })));
      await forEachLimit(uploads, 6, async (u) => {
        await uploadBlock(bucket, layout, u.tenant, u.dir);
      });
      const work = await mkdtemp(join(tmpdir(), 'strata-compactor-e2e-'));
      try {
        run = await runStrata(
          compactArgs({
            objstore,
            dataDir: join(work, 'data'),
            extra: ['--deduplication.func', 'penalty', '--compact.concurrency', '2'],
          }),
        );
        if (run.code !== 0) throw new Error(`strata compact exited ${run.code}:\n${tail(run.output)}`);
        for (const t of fx.tenants) {
          const st = await readTenant(bucket, t.tenant);
          states.set(t.tenant, st);
          const dirs = await downloadBlocks(
            bucket,
            t.tenant,
            liveBlocks(st).map((b) => b.ulid),
            join(work, 'live', t.tenant),
          );
          dumps.set(t.tenant, await dumpBlocksSeparately(dirs));
        }
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    }, 300_000);

    it('exits 0 and leaves the final levels: one 2d block, one 8h block, the two newest 2h blocks', async () => {
      expect(run.code).toBe(0);
      expect(fx.windows).toBe(30);
      for (const t of fx.tenants) {
        const st = states.get(t.tenant)!;
        const live = liveBlocks(st);
        expect(
          live.map((b) => [windowOf(b.meta!.minTime), windowOf(b.meta!.maxTime - 1)]),
          `${t.tenant}: live block spans (2h windows)`,
        ).toEqual(EXPECTED_SPANS);
        expect(
          live.map((b): [number, number, number, string] => [
            b.meta!.minTime,
            b.meta!.maxTime,
            b.meta!.compaction.level,
            [...b.meta!.compaction.sources].sort().join(','),
          ]),
          `${t.tenant}: live blocks vs src/plan simulate`,
        ).toEqual(await simulatedFinal(t));
        // Every input is a source of exactly one live block.
        const sources = live.flatMap((b) => b.meta!.compaction.sources).sort();
        expect(sources, `${t.tenant}: sources of the live blocks`).toEqual(
          t.blocks.map((b) => b.ulid).sort(),
        );
        for (const b of live) {
          expect(b.meta!.thanos?.labels, `${t.tenant}/${b.ulid} labels`).toEqual({ cluster: t.cluster });
          expect(b.meta!.thanos?.source, `${t.tenant}/${b.ulid} source`).toBe('compactor');
        }
      }
    });

    it('deletes every compacted input and leaves no partial block, marker or stray object', () => {
      for (const t of fx.tenants) {
        const st = states.get(t.tenant)!;
        expect(
          partialBlocks(st).map((b) => b.ulid),
          `${t.tenant}: partial blocks`,
        ).toEqual([]);
        expect([...st.blocks.keys()].sort(), `${t.tenant}: blocks`).toEqual(
          liveBlocks(st)
            .map((b) => b.ulid)
            .sort(),
        );
        expect(st.markerCopies, `${t.tenant}: markers/`).toEqual([]);
        expect(st.other, `${t.tenant}: other objects`).toEqual([]);
      }
    });

    it('identical replicas: the live blocks hold exactly one replica’s samples, each once', () => {
      for (const t of fx.tenants.filter((x) => x.kind === 'identical')) {
        const got = dumps.get(t.tenant)!;
        expect(duplicateSamples(got), `${t.tenant}: samples stored twice`).toEqual([]);
        const diff = diffDumps(t.dumps.r1!, got);
        expect(diff, `${t.tenant}: dump of the live blocks vs r1`).toBeUndefined();
        expect(got.length).toBe(t.dumps.r1!.length);
      }
    });

    it('offset replicas: penalty dedup fills the gap, never interleaves, keeps r1 elsewhere', () => {
      for (const t of fx.tenants.filter((x) => x.kind === 'offset')) {
        const got = dumps.get(t.tenant)!;
        expect(duplicateSamples(got), `${t.tenant}: samples stored twice`).toEqual([]);
        expectPenaltyDedup(t, bySeries(got));
      }
    });

    it('the bucket index of each tenant matches the bucket', async () => {
      for (const t of fx.tenants) await expectBucketIndexMatches(target().bucket, states.get(t.tenant)!);
    });
  });
}
