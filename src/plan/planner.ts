/**
 * Planning one group: Thanos' tsdbBasedPlanner (itself Prometheus' LeveledCompactor.plan without
 * the filesystem) plus its two planner filters, in two flavours:
 *
 * - planGroupFirst: exactly the one plan Thanos would pick next;
 * - planGroup: every plan that can run now without conflict, i.e. the plans planGroupFirst would
 *   pick over the next iterations whose inputs those iterations cannot change.
 *
 * Why planGroup converges to the same blocks as the one-plan loop: in a group without overlaps
 * a horizontal plan only reads the blocks inside its aligned bucket, plus `highTime`. A bucket
 * qualifies by `highTime` only if it ends before the newest candidate starts, and an output can
 * lower `highTime` only down to the start of the bucket holding that candidate, which such a
 * bucket also ends before (ranges nest). So a chosen plan stays valid as long as no other
 * pending plan can drop an output into its bucket, which is what the conflict check ensures.
 * Overlaps are resolved first and alone: a vertical output can swallow the newest block and move
 * everything. The property tests in converge.test.ts check the equivalence.
 */
import { compareStrings } from '../tsdb/labels.js';
import { stringsHash } from '../tsdb/labels-hash.js';
import { blockResolution } from '../tsdb/group-key.js';
import type {
  BlockedGroup,
  Group,
  GroupPlanResult,
  NoCompactRequest,
  Plan,
  PlanBlock,
  PlanKind,
  ResolvedPlanOptions,
  TimeWindow,
} from './types.js';

/** Blocks to merge, and the window their selection looked at (see Plan.window). */
interface Selected {
  readonly blocks: PlanBlock[];
  readonly window: TimeWindow;
}

/** Blocks of one aligned bucket `[start, start + range)`. */
interface RangePart {
  readonly start: number;
  readonly blocks: PlanBlock[];
}

/**
 * Prometheus' splitByRange over blocks sorted by minTime: consecutive blocks that fit entirely in
 * one bucket aligned to multiples of `range` (from 0; floor for negative times). Blocks that
 * straddle a bucket boundary are skipped: they are a multiple of the range or misaligned.
 */
function splitParts(blocks: readonly PlanBlock[], range: number): RangePart[] {
  const parts: RangePart[] = [];
  for (let i = 0; i < blocks.length;) {
    const t0 = range * Math.floor(blocks[i]!.minTime / range);
    if (blocks[i]!.maxTime > t0 + range) {
      i++;
      continue;
    }
    const part: PlanBlock[] = [];
    for (; i < blocks.length && blocks[i]!.maxTime <= t0 + range; i++) part.push(blocks[i]!);
    parts.push({ start: t0, blocks: part });
  }
  return parts;
}

/** Prometheus' splitByRange: e.g. [0-10, 10-20, 50-60, 90-100] by 30 → [0-10, 10-20], [50-60], [90-100]. */
export function splitByRange(blocksByMinTime: readonly PlanBlock[], range: number): PlanBlock[][] {
  return splitParts(blocksByMinTime, range).map((p) => p.blocks);
}

/**
 * Runs of overlapping blocks (Prometheus selectOverlappingDirs, generalised to every run): sweeping
 * by minTime, a block joins the run when it starts before the max end seen so far. Runs are
 * disjoint in time, so they can be merged independently. `firstOnly` gives Prometheus' answer.
 */
export function overlappingRuns(blocksByMinTime: readonly PlanBlock[], firstOnly = false): PlanBlock[][] {
  const runs: PlanBlock[][] = [];
  if (blocksByMinTime.length < 2) return runs;
  let run: PlanBlock[] = [];
  let maxt = blocksByMinTime[0]!.maxTime;
  for (let i = 1; i < blocksByMinTime.length; i++) {
    const b = blocksByMinTime[i]!;
    if (b.minTime < maxt) {
      if (run.length === 0) run.push(blocksByMinTime[i - 1]!);
      run.push(b);
    } else if (run.length > 0) {
      runs.push(run);
      if (firstOnly) return runs;
      run = [];
    }
    if (b.maxTime > maxt) maxt = b.maxTime;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/**
 * Thanos' no-compact handling inside a selected range: marked blocks stay in the part (so the
 * ranges and the newest-block rule are the same as without marks) but cut it, and only runs of
 * two or more unmarked blocks between cuts are compacted. Nothing is ever merged across a mark.
 */
function splitByExcluded(part: readonly PlanBlock[], excluded: (b: PlanBlock) => boolean): PlanBlock[][] {
  const out: PlanBlock[][] = [];
  let from = 0;
  for (let i = 0; i <= part.length; i++) {
    if (i < part.length && !excluded(part[i]!)) continue;
    if (i - from > 1) out.push(part.slice(from, i));
    from = i + 1;
  }
  return out;
}

/** Disjoint half-open intervals kept sorted, for "does this bucket touch a chosen plan". */
class Spans {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  intersects(min: number, max: number): boolean {
    // First span ending after `min`; it is the only candidate that can start before `max`.
    let lo = 0;
    let hi = this.ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ends[mid]! <= min) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.starts.length && this.starts[lo]! < max;
  }

  add(min: number, max: number): void {
    let i = 0;
    let hi = this.starts.length;
    while (i < hi) {
      const mid = (i + hi) >>> 1;
      if (this.starts[mid]! < min) i = mid + 1;
      else hi = mid;
    }
    this.starts.splice(i, 0, min);
    this.ends.splice(i, 0, max);
  }
}

/**
 * Thanos selectMetas over all blocks but the newest. `all` = false: the first qualifying run
 * (smallest range first, oldest bucket first), as Thanos. `all` = true: every qualifying run whose
 * bucket does not contain an already chosen (smaller-range) plan; those wait for the next pass.
 */
function selectLeveled(
  blocksByMinTime: readonly PlanBlock[],
  ranges: readonly number[],
  excluded: (b: PlanBlock) => boolean,
  all: boolean,
): Selected[] {
  if (ranges.length < 2 || blocksByMinTime.length < 2) return [];
  // The newest block (max minTime) is left out: it may still be joined by a same-size neighbour.
  // As upstream, highTime is then the minTime of the newest remaining block.
  const candidates = blocksByMinTime.slice(0, -1);
  const highTime = candidates[candidates.length - 1]!.minTime;
  const chosen: Selected[] = [];
  const spans = new Spans();
  for (const range of ranges.slice(1)) {
    for (const part of splitParts(candidates, range)) {
      const p = part.blocks;
      if (p.length < 2 || p.some((b) => b.compaction.failed === true)) continue;
      const mint = p[0]!.minTime;
      const maxt = p[p.length - 1]!.maxTime;
      // A full range (gaps allowed), or ending before the newest candidate starts.
      if (maxt - mint !== range && maxt > highTime) continue;
      const runs = splitByExcluded(p, excluded);
      if (runs.length === 0) continue;
      const window = { minTime: part.start, maxTime: part.start + range };
      if (!all) return [{ blocks: runs[0]!, window }];
      if (spans.intersects(part.start, part.start + range)) continue;
      for (const run of runs) {
        chosen.push({ blocks: run, window });
        spans.add(run[0]!.minTime, run[run.length - 1]!.maxTime);
      }
    }
  }
  return chosen;
}

/** `[min minTime, max maxTime)` of some blocks. */
function spanOf(blocks: readonly PlanBlock[]): TimeWindow {
  let minTime = Infinity;
  let maxTime = -Infinity;
  for (const b of blocks) {
    if (b.minTime < minTime) minTime = b.minTime;
    if (b.maxTime > maxTime) maxTime = b.maxTime;
  }
  return { minTime, maxTime };
}

export function blockIndexSize(b: PlanBlock): number {
  if (b.indexSizeBytes !== undefined) return b.indexSizeBytes;
  const f = b.thanos?.files?.find((x) => x.rel_path === 'index');
  return f?.size_bytes ?? 0;
}

/**
 * Thanos largeTotalIndexSizeFilter: summing index sizes in plan order, once the total reaches 85%
 * of the limit the biggest index seen so far is the block to exclude. Unknown sizes count as 0
 * (Thanos would ask the bucket; the caller can fill `indexSizeBytes` instead).
 */
function indexSizeVictim(sources: readonly PlanBlock[], limit: number): PlanBlock | undefined {
  if (limit <= 0) return undefined;
  const threshold = Math.trunc(limit * 0.85);
  let total = 0;
  let biggest: PlanBlock | undefined;
  let biggestSize = -Infinity;
  for (const b of sources) {
    const size = blockIndexSize(b);
    if (size > biggestSize) {
      biggestSize = size;
      biggest = b;
    }
    total += size;
    if (total >= threshold) return biggest;
  }
  return undefined;
}

/** `<tenant>/<groupKey>/<XXH64 of the sorted source ULIDs>`; '' tenant gives a leading '/'. */
export function planId(tenant: string, groupKey: string, ulids: readonly string[]): string {
  return `${tenant}/${groupKey}/${stringsHash([...ulids].sort(compareStrings))}`;
}

export function makePlan(
  group: Group,
  sources: readonly PlanBlock[],
  kind: PlanKind,
  opts: ResolvedPlanOptions,
  window?: TimeWindow,
): Plan {
  let minTime = Infinity;
  let maxTime = -Infinity;
  let level = 0;
  for (const b of sources) {
    if (b.minTime < minTime) minTime = b.minTime;
    if (b.maxTime > maxTime) maxTime = b.maxTime;
    if (b.compaction.level > level) level = b.compaction.level;
  }
  return {
    id: planId(
      group.tenant,
      group.key,
      sources.map((b) => b.ulid),
    ),
    tenant: group.tenant,
    groupKey: group.key,
    resolution: group.resolution,
    labels: group.labels,
    sources,
    minTime,
    maxTime,
    kind,
    outputLevel: level + 1,
    dedup: opts.dedup,
    replicaLabels: opts.replicaLabels,
    maxSamplesPerChunk: opts.maxSamplesPerChunk,
    window: window ?? { minTime, maxTime },
  };
}

function planGroupWith(group: Group, opts: ResolvedPlanOptions, all: boolean): GroupPlanResult {
  const markedNow = new Set<string>();
  const noCompact: NoCompactRequest[] = [];
  const excluded = (b: PlanBlock): boolean => b.noCompact || markedNow.has(b.ulid);
  const request = (b: PlanBlock, reason: NoCompactRequest['reason'], details: string): void => {
    markedNow.add(b.ulid);
    noCompact.push({ tenant: group.tenant, groupKey: group.key, ulid: b.ulid, reason, details });
  };
  if (group.blocks.length < 2) return { plans: [], noCompact };
  const anyMarked = group.blocks.some((b) => b.noCompact);
  // Each pass that marks a block re-plans without it; marks only grow, so this ends.
  for (;;) {
    const active = anyMarked || markedNow.size > 0 ? group.blocks.filter((b) => !excluded(b)) : group.blocks;
    const runs = overlappingRuns(active, !all && opts.verticalCompaction);
    if (runs.length > 0 && !opts.verticalCompaction) {
      // Thanos halts the whole compactor here; we only hold back this group.
      const blocked: BlockedGroup = {
        tenant: group.tenant,
        groupKey: group.key,
        labelString: group.labelString,
        reason: 'overlap-without-vertical-compaction',
        blocks: runs.flat().map((b) => b.ulid),
      };
      return { plans: [], noCompact, blocked };
    }
    const kind: PlanKind = runs.length > 0 ? 'vertical' : 'horizontal';
    const selected: Selected[] =
      runs.length > 0
        ? runs.map((r) => ({ blocks: r, window: spanOf(r) }))
        : selectLeveled(group.blocks, opts.ranges, excluded, all);
    let marked = false;
    for (const { blocks: sources } of selected) {
      const victim = indexSizeVictim(sources, opts.maxIndexSizeBytes);
      if (victim === undefined) continue;
      request(
        victim,
        'index-size-exceeding',
        `total index size of the compacted block could exceed ${opts.maxIndexSizeBytes} bytes with this block`,
      );
      marked = true;
    }
    if (marked) continue;
    if (kind === 'vertical') {
      // Downsampled chunks cannot be merged vertically (Thanos #6775): set those blocks aside.
      for (const b of selected.flatMap((s) => s.blocks)) {
        if (blockResolution(b) !== 0) {
          request(b, 'downsample-vertical-compaction', 'downsampled block overlaps others in its group');
          marked = true;
        }
      }
      if (marked) continue;
    }
    return { plans: selected.map((s) => makePlan(group, s.blocks, kind, opts, s.window)), noCompact };
  }
}

/** Every plan of this group that can run now: no shared block, no time overlap between them. */
export function planGroup(group: Group, opts: ResolvedPlanOptions): GroupPlanResult {
  return planGroupWith(group, opts, true);
}

/** At most one plan: the one Thanos' planner (with its index-size and downsample filters) returns. */
export function planGroupFirst(group: Group, opts: ResolvedPlanOptions): GroupPlanResult {
  return planGroupWith(group, opts, false);
}
