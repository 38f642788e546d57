/**
 * Which blocks get a downsampled version (Thanos' downsampling pass, as a plan like any other):
 * a raw block spanning at least 40h gets a 5m version, a 5m block spanning at least 10d a 1h
 * version, unless the downsampled blocks of its stream already cover all its sources. Thanos
 * checks the span, not the age. Beyond Thanos: a block that its resolution's retention has passed
 * is downsampled whatever its span, so retention never waits forever for it (see retention.ts).
 */
import { blockLabels, blockResolution, groupKey, groupLabels, labelString } from '../tsdb/group-key.js';
import {
  DOWNSAMPLE_RANGE_1H_MS,
  DOWNSAMPLE_RANGE_5M_MS,
  RES_1H,
  RES_5M,
  RES_RAW,
} from '../tsdb/downsample/block.js';
import { planId } from './planner.js';
import type { Plan, PlanBlock, ResolvedPlanOptions } from './types.js';

/** Retention per resolution in ms; 0 keeps blocks forever (Thanos `--retention.resolution-*`). */
export interface RetentionPolicy {
  readonly raw: number;
  readonly fiveMinutes: number;
  readonly oneHour: number;
}

export const KEEP_FOREVER: RetentionPolicy = { raw: 0, fiveMinutes: 0, oneHour: 0 };

export function retentionOf(policy: RetentionPolicy, resolution: number): number {
  if (resolution === RES_RAW) return policy.raw;
  if (resolution === RES_5M) return policy.fiveMinutes;
  return policy.oneHour;
}

/** The next coarser resolution, or undefined for 1h (and unknown resolutions). */
export function coarserResolution(resolution: number): number | undefined {
  if (resolution === RES_RAW) return RES_5M;
  if (resolution === RES_5M) return RES_1H;
  return undefined;
}

/** Whether retention has passed for a block: `now > maxTime + retention` (retention > 0). */
export function retentionPassed(b: PlanBlock, policy: RetentionPolicy, nowMs: number): boolean {
  const keep = retentionOf(policy, blockResolution(b));
  return keep > 0 && nowMs > b.maxTime + keep;
}

/**
 * Whether a coarser resolution keeps data longer than `resolution` does: then data of this
 * resolution must reach it before retention may delete it.
 */
export function coarserKeepsLonger(policy: RetentionPolicy, resolution: number): boolean {
  const keep = retentionOf(policy, resolution);
  if (keep === 0) return false;
  for (let r = coarserResolution(resolution); r !== undefined; r = coarserResolution(r)) {
    const k = retentionOf(policy, r);
    if (k === 0 || k > keep) return true;
  }
  return false;
}

/**
 * Sources covered by downsampled blocks, per tenant and stream (the full external labels, as
 * Thanos keys its coverage), per resolution.
 */
export class DownsampleCoverage {
  private readonly covered = new Map<string, Set<string>>();

  constructor(blocks: readonly PlanBlock[]) {
    for (const b of blocks) {
      const res = blockResolution(b);
      if (res === RES_RAW) continue;
      const key = coverageKey(b, res);
      let set = this.covered.get(key);
      if (set === undefined) this.covered.set(key, (set = new Set()));
      for (const s of sourcesOf(b)) set.add(s);
    }
  }

  /** Whether blocks of `resolution` (of b's tenant and stream) hold every source of `b`. */
  covers(b: PlanBlock, resolution: number): boolean {
    const set = this.covered.get(coverageKey(b, resolution));
    if (set === undefined) return false;
    for (const s of sourcesOf(b)) if (!set.has(s)) return false;
    return true;
  }
}

function sourcesOf(b: PlanBlock): readonly string[] {
  return b.compaction.sources.length > 0 ? b.compaction.sources : [b.ulid];
}

function coverageKey(b: PlanBlock, resolution: number): string {
  return `${b.tenant}\n${resolution}\n${labelString(blockLabels(b))}`;
}

export interface DownsamplePlanningOptions {
  readonly retention: RetentionPolicy;
  readonly nowMs: number;
  /** Blocks with a no-downsample-mark.json. */
  readonly noDownsample: (tenant: string, ulid: string) => boolean;
  /** Blocks a compaction plan of this pass reads: their output is downsampled instead. */
  readonly compacting: ReadonlySet<string>;
}

/** Why a block is (not) to be downsampled now, for one block. */
export function downsampleTarget(
  b: PlanBlock,
  coverage: DownsampleCoverage,
  o: DownsamplePlanningOptions,
): number | undefined {
  const target = coarserResolution(blockResolution(b));
  if (target === undefined) return undefined;
  if (o.noDownsample(b.tenant, b.ulid) || o.compacting.has(`${b.tenant}/${b.ulid}`)) return undefined;
  if (coverage.covers(b, target)) return undefined;
  const minSpan = target === RES_5M ? DOWNSAMPLE_RANGE_5M_MS : DOWNSAMPLE_RANGE_1H_MS;
  if (b.maxTime - b.minTime >= minSpan) return target;
  // Too short to be worth it, unless retention is about to need its coarser copy.
  const res = blockResolution(b);
  return retentionPassed(b, o.retention, o.nowMs) && coarserKeepsLonger(o.retention, res)
    ? target
    : undefined;
}

/** A plan that writes `b`'s downsampled version: one source, the target resolution's group. */
export function makeDownsamplePlan(b: PlanBlock, target: number, opts: ResolvedPlanOptions): Plan {
  const labels = blockLabels(b);
  const key = groupKey(target, groupLabels(labels, opts.replicaLabels));
  return {
    id: planId(b.tenant, key, [b.ulid]),
    tenant: b.tenant,
    groupKey: key,
    resolution: target,
    labels,
    sources: [b],
    minTime: b.minTime,
    maxTime: b.maxTime,
    kind: 'downsample',
    // Thanos keeps the compaction section (level and sources) of the block it downsampled.
    outputLevel: b.compaction.level,
    dedup: opts.dedup,
    replicaLabels: opts.replicaLabels,
    maxSamplesPerChunk: 0,
    window: { minTime: b.minTime, maxTime: b.maxTime },
  };
}

/**
 * Every downsample plan due now among `blocks` (all synced blocks not marked for deletion,
 * no-compact ones included: Thanos downsamples those too).
 */
export function planDownsampling(
  blocks: readonly PlanBlock[],
  opts: ResolvedPlanOptions,
  o: DownsamplePlanningOptions,
): Plan[] {
  const coverage = new DownsampleCoverage(blocks);
  const plans: Plan[] = [];
  for (const b of blocks) {
    const target = downsampleTarget(b, coverage, o);
    if (target !== undefined) plans.push(makeDownsamplePlan(b, target, opts));
  }
  return plans;
}
