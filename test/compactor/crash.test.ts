/**
 * Crash safety of `strata compact`: SIGKILL at random moments, restart, repeat; then one
 * uninterrupted run and the checks of ARCHITECTURE.md's "correctness rules that never bend".
 *
 * Each round starts from a fresh filesystem bucket (two tenants of identical HA replica pairs,
 * 12 × 2h windows) and kills the compactor in every step of a pass: most kills come at a random
 * point within the typical duration of a chosen step after its start (STRATA_DEBUG_KILL_AT: sync,
 * download, compact, cleanup of the work dir, the cleaner, the bucket index update; uploads right
 * after one of the output's files landed, marks right after a plan's first deletion mark landed),
 * some at a random time within about one plan's work after the first step.
 * After every kill, from the bucket alone: every input block's data is still in a complete block
 * without a deletion mark (nothing deleted before it was compacted into a block readers see); each
 * upload kill left a partial block. After the final run (--delete-delay 0s,
 * --partial-block-delete-delay 1s): no partial block, no marker, no sample lost and none twice
 * (each live block dumped on its own equals one replica's data), each input in exactly one live
 * block, the final levels of an uninterrupted run, a matching bucket index, no local work dirs.
 *
 * STRATA_CRASH_SEED=<n> replays a run (the seed is in every failure message).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { uploadBlock } from '../../src/block/upload.js';
import { simulate } from '../../src/plan/index.js';
import type { PlanBlock } from '../../src/plan/types.js';
import { readMetaFile } from '../../src/tsdb/meta.js';
import { prng } from '../support/openmetrics.js';
import { diffDumps } from '../support/dump.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { TWO_IDENTICAL_TENANTS, haFixture, type HaFixture } from './fixtures.js';
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
import { compactArgs, filesystemObjstore, parseLogfmt, runStrataOk, startStrata, tail } from './run.js';
import { ensureBuilt } from '../support/build.js';

const SEED = Number(process.env.STRATA_CRASH_SEED ?? Date.now() % 1_000_000);
const rnd = prng(SEED);
const ROUNDS = 2;
/** Steps the compactor announces with STRATA_DEBUG_PHASES=1, in pass order. */
const STEPS = ['sync', 'download', 'compact', 'upload', 'mark', 'cleanup', 'clean', 'index'] as const;
type Step = (typeof STEPS)[number];
/** The steps of one plan, in order. */
const PLAN_STEPS: readonly Step[] = ['sync', 'download', 'compact', 'upload', 'mark'];
/** One round's kills: every step, two random times; the cleaner and index last (end of a pass). */
const ROUND_TARGETS: readonly (Step | 'random')[] = [
  'sync',
  'download',
  'compact',
  'upload',
  'random',
  'mark',
  'upload',
  'download',
  'cleanup',
  'random',
  'clean',
  'index',
];

interface TrialResult {
  target: Step | 'random';
  /** The last step the compactor had announced when it was killed; undefined if not killed. */
  killedIn: Step | 'startup' | undefined;
  /** It finished (exit 0) before the kill came: no kill this trial. */
  finished: boolean;
  /** Blocks without meta.json right after the kill: without a deletion mark (mid-upload) or with. */
  partialUploads: number;
  partialDeletes: number;
  marked: number;
}

let root = '';
let fx: HaFixture;
const trials: TrialResult[] = [];
/** Observed durations (ms) of each step, from the step lines' timestamps, to aim kills inside. */
const durations = new Map<Step, number[]>();

function seeded(msg: string): string {
  return `${msg} (STRATA_CRASH_SEED=${SEED})`;
}

function isStep(s: string | undefined): s is Step {
  return (STEPS as readonly (string | undefined)[]).includes(s);
}

/** A typical duration of `step` so far (the median), or 20 ms before any was seen. */
function typicalMs(step: Step): number {
  const d = [...(durations.get(step) ?? [])].sort((a, b) => a - b);
  return d.length === 0 ? 20 : d[Math.floor(d.length / 2)]!;
}

/** Learns step durations from a run's output: a step lasts until the next log line. */
function learnDurations(output: string): void {
  let prev: { step: Step; at: number } | undefined;
  for (const line of output.split('\n')) {
    const rec = parseLogfmt(line);
    if (rec === undefined) continue;
    const at = Date.parse(rec.ts ?? '');
    if (prev) {
      const list = durations.get(prev.step) ?? [];
      list.push(at - prev.at);
      durations.set(prev.step, list.slice(-50));
    }
    prev = rec.msg === 'debug: step' && isStep(rec.step) ? { step: rec.step, at } : undefined;
  }
}

/**
 * The step a run was killed in, from its output: the last step announced, or for a kill aimed at
 * a plan's step (the `occurrence`-th start of `target`), the last step announced by that plan.
 * Plans overlap (--compact.plans-ahead), so the last step overall may be another plan's.
 */
function killedStep(output: string, target: Step | 'random', occurrence: number): Step | 'startup' {
  const recs = output
    .split('\n')
    .map(parseLogfmt)
    .filter((r) => r?.msg === 'debug: step');
  let plan: string | undefined;
  if (target !== 'random' && PLAN_STEPS.includes(target)) {
    const announced = target === 'upload' ? 'uploaded' : target === 'mark' ? 'marked' : target;
    const aimed = recs.filter((r) => r!.step === announced)[occurrence - 1];
    plan = aimed?.plan;
  }
  let last: Step | 'startup' = 'startup';
  for (const rec of recs) {
    if (plan !== undefined && rec!.plan !== plan) continue;
    if (rec!.step === 'uploaded') last = 'upload';
    else if (rec!.step === 'marked') last = 'mark';
    else if (isStep(rec!.step)) last = rec!.step;
  }
  return last;
}

/**
 * Runs strata compact and SIGKILLs it inside `target`: the process kills itself (no signal
 * latency) at a random point within the step's typical duration after its n-th start (n = 1 for
 * sync, random otherwise, STRATA_DEBUG_KILL_AT; uploads right after their n-th file); 'random' is
 * killed from here at a random time (within about one plan's work) after the first step.
 * Resolves once the process is gone.
 */
async function killTrial(args: readonly string[], target: Step | 'random'): Promise<TrialResult> {
  const env: Record<string, string> = { STRATA_DEBUG_PHASES: '1' };
  let occurrence = 1;
  if (target !== 'random') {
    // The first occurrence of a plan step: earlier trials have already moved the bucket on, so it
    // falls on a different plan each time. A later occurrence may never come once little work is
    // left, and the run that then completes leaves nothing for the round's remaining kills.
    occurrence = target === 'clean' ? 1 + Math.floor(rnd() * 2) : 1;
    // Upload: right after the n-th output file but meta.json lands, so the block is partial
    // (the window is a few ms on a local disk: too short to hit by timing); mark: right after the
    // n-th deletion mark lands, so a plan's sources are marked in part. Other steps anywhere
    // in their first 70% (a step may end early: the kill then lands in the next one).
    // The cleaner of a tenant with little to delete takes a few ms: kill at its start (the timer
    // fires while its first bucket call is in flight), or the kill lands in the index update.
    env.STRATA_DEBUG_KILL_AT =
      target === 'upload'
        ? `uploaded:${occurrence}:0`
        : target === 'mark'
          ? `marked:${occurrence}:0`
          : target === 'clean'
            ? `clean:${occurrence}:0`
            : `${target}:${occurrence}:${Math.floor(0.7 * rnd() * typicalMs(target))}`;
  }
  const p = startStrata(args, { env });
  let timer: NodeJS.Timeout | undefined;
  const kill = (): void => {
    if (p.exited()) return;
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  if (target === 'random') {
    // Within about one plan's work: a kill later than the whole run (on a fast machine the rest of
    // the bucket's work can take under 1.5 s) finishes the round's work and leaves nothing for
    // its remaining kills (seed 282033 did that twice per round).
    const window = Math.min(1500, 2 * PLAN_STEPS.reduce((sum, s) => sum + typicalMs(s), 0));
    p.child.stderr?.once('data', () => {
      timer = setTimeout(kill, Math.floor(rnd() * window));
    });
  }
  const guard = setTimeout(kill, 90_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    p.child.once('close', (c, s) => resolve([c, s])),
  );
  clearTimeout(timer);
  clearTimeout(guard);
  await p.stop('SIGKILL', 1000);
  learnDurations(p.output());
  if (signal !== 'SIGKILL' && code !== 0)
    throw new Error(seeded(`strata compact exited ${code ?? signal} before the kill:\n${tail(p.output())}`));
  const finished = signal !== 'SIGKILL';
  return {
    target,
    killedIn: finished ? undefined : killedStep(p.output(), target, occurrence),
    finished,
    partialUploads: 0,
    partialDeletes: 0,
    marked: 0,
  };
}

/**
 * The invariant that holds at every instant: each input block's data is in a complete block
 * without a deletion mark (the input itself or a block listing it in compaction.sources).
 */
function expectInputsCovered(states: readonly TenantState[], when: string): void {
  for (const t of fx.tenants) {
    const st = states.find((s) => s.tenant === t.tenant)!;
    const covered = new Set(liveBlocks(st).flatMap((b) => b.meta!.compaction.sources));
    const lost = t.blocks.map((b) => b.ulid).filter((id) => !covered.has(id));
    expect(lost, seeded(`${t.tenant}: inputs in no live block ${when}`)).toEqual([]);
  }
}

async function readAll(bucket: FilesystemBucket): Promise<TenantState[]> {
  const out: TenantState[] = [];
  for (const t of fx.tenants) out.push(await readTenant(bucket, t.tenant));
  return out;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-compactor-crash-'));
  [fx] = await Promise.all([haFixture(TWO_IDENTICAL_TENANTS), ensureBuilt()]);
}, 300_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

describe(`strata compact killed at random moments (seed ${SEED})`, () => {
  for (let round = 0; round < ROUNDS; round++) {
    it(`round ${round + 1}: ${ROUND_TARGETS.length} SIGKILLs, then a full run loses and duplicates nothing`, async () => {
      const dir = join(root, `bucket-${round}`);
      const dataDir = join(root, `data-${round}`);
      const bucket = new FilesystemBucket({ directory: dir });
      try {
        for (const t of fx.tenants) {
          for (const b of t.blocks) await uploadBlock(bucket, layout, t.tenant, b.dir);
        }
        const args = compactArgs({
          objstore: filesystemObjstore(dir),
          dataDir,
          extra: ['--partial-block-delete-delay', '1s'],
        });
        for (const target of ROUND_TARGETS) {
          const r = await killTrial(args, target);
          const states = await readAll(bucket);
          for (const s of states) {
            for (const b of partialBlocks(s)) {
              if (b.deletionMark) r.partialDeletes++;
              else r.partialUploads++;
            }
            r.marked += [...s.blocks.values()].filter((b) => b.deletionMark !== undefined).length;
          }
          trials.push(r);
          expectInputsCovered(states, `after a kill in ${r.killedIn ?? 'none'} (target ${target})`);
        }

        // Partial blocks of killed uploads must be older than the delay when the final run looks.
        await new Promise((res) => setTimeout(res, 1200));
        await runStrataOk(args);
        const states = await readAll(bucket);
        expectInputsCovered(states, 'after the final run');
        for (const t of fx.tenants) {
          const st = states.find((s) => s.tenant === t.tenant)!;
          const live = liveBlocks(st);
          expect(
            partialBlocks(st).map((b) => b.ulid),
            seeded(`${t.tenant}: partial blocks`),
          ).toEqual([]);
          expect(
            [...st.blocks.values()].filter((b) => b.deletionMark || b.noCompactMark).map((b) => b.ulid),
            seeded(`${t.tenant}: marked blocks left`),
          ).toEqual([]);
          expect(st.markerCopies, seeded(`${t.tenant}: markers/`)).toEqual([]);
          // Each input in exactly one live block: nothing visible twice.
          const sources = live.flatMap((b) => b.meta!.compaction.sources).sort();
          expect(sources, seeded(`${t.tenant}: sources of the live blocks`)).toEqual(
            t.blocks.map((b) => b.ulid).sort(),
          );
          // The same levels as an uninterrupted run.
          const inputs: PlanBlock[] = [];
          for (const b of t.blocks)
            inputs.push({ ...(await readMetaFile(b.dir)), tenant: t.tenant, noCompact: false });
          const want = simulate(inputs, { replicaLabels: ['replica'], dedup: 'penalty' })
            .blocks.map((b) => [b.minTime, b.maxTime, b.compaction.level])
            .sort((a, b) => a[0]! - b[0]!);
          expect(
            live.map((b) => [b.meta!.minTime, b.meta!.maxTime, b.meta!.compaction.level]),
            seeded(`${t.tenant}: final levels`),
          ).toEqual(want);
          const lines = await dumpBlocksSeparately(
            await downloadBlocks(
              bucket,
              t.tenant,
              live.map((b) => b.ulid),
              join(root, `dl-${round}`, t.tenant),
            ),
          );
          expect(duplicateSamples(lines), seeded(`${t.tenant}: samples stored twice`)).toEqual([]);
          expect(diffDumps(t.dumps.r1!, lines), seeded(`${t.tenant}: dump vs one replica`)).toBeUndefined();
          await expectBucketIndexMatches(bucket, st);
        }
        expect(await readdir(join(dataDir, 'compact')).catch(() => []), 'work dirs left').toEqual([]);
      } finally {
        await bucket.close();
      }
    }, 240_000);
  }

  it('the kills landed in every step, mid-upload and mid-deletion included', () => {
    const killed = trials.filter((t) => !t.finished);
    const summary = JSON.stringify(trials);
    expect(killed.length, seeded(`kills: ${summary}`)).toBeGreaterThanOrEqual(20);
    const stepsHit = new Set(killed.map((t) => t.killedIn));
    for (const s of ['sync', 'download', 'compact', 'upload', 'mark', 'clean'] as const)
      expect(stepsHit.has(s), seeded(`no kill during ${s}: ${summary}`)).toBe(true);
    // Upload kills come right after an output file other than meta.json landed (the `uploaded`
    // step), so each must have left a partial block behind (no timing involved).
    const midUpload = killed.filter((t) => t.target === 'upload');
    expect(midUpload.length, seeded(`kills mid-upload: ${summary}`)).toBeGreaterThanOrEqual(3);
    for (const t of midUpload) {
      expect(t.killedIn, seeded(`a mid-upload kill: ${summary}`)).toBe('upload');
      expect(t.partialUploads, seeded(`a mid-upload kill: ${summary}`)).toBeGreaterThan(0);
    }
    // Mark kills come right after a plan's first deletion mark landed (the `marked` step).
    const midMark = killed.filter((t) => t.target === 'mark');
    expect(midMark.length, seeded(`kills mid-mark: ${summary}`)).toBeGreaterThanOrEqual(2);
    for (const t of midMark) {
      expect(t.killedIn, seeded(`a mid-mark kill: ${summary}`)).toBe('mark');
      expect(t.marked, seeded(`a mid-mark kill: ${summary}`)).toBeGreaterThan(0);
    }
    console.log(`crash trials (seed ${SEED}): ${summary}`);
  });
});
