/**
 * Planning a whole bucket (all tenants): group, plan every group. Duplicates are not looked for
 * here: the fetcher's duplicate filter already hid them (and the compactor marks what it hid).
 */
import { groupBlocks } from './group.js';
import { resolvePlanOptions } from './options.js';
import { planGroup, planGroupFirst } from './planner.js';
import type {
  BlockedGroup,
  Group,
  GroupPlanResult,
  NoCompactRequest,
  Plan,
  PlanAllResult,
  PlanBlock,
  PlanOptions,
  ResolvedPlanOptions,
} from './types.js';

type GroupPlanner = (group: Group, opts: ResolvedPlanOptions) => GroupPlanResult;

function planWith(blocks: readonly PlanBlock[], options: PlanOptions, planner: GroupPlanner): PlanAllResult {
  const opts = resolvePlanOptions(options);
  const groups = groupBlocks(blocks, opts.replicaLabels);
  const plans: Plan[] = [];
  const noCompact: NoCompactRequest[] = [];
  const blocked: BlockedGroup[] = [];
  for (const g of groups) {
    const res = planner(g, opts);
    plans.push(...res.plans);
    noCompact.push(...res.noCompact);
    if (res.blocked) blocked.push(res.blocked);
  }
  return { plans, noCompact, blocked, groups: groups.length };
}

/**
 * Every plan that can run now, for all tenants and groups. Within a group the plans share no
 * block and do not overlap in time, so they can all run concurrently; plans of different groups
 * never interact. Re-run after some plans completed (with the re-synced blocks) to get the next
 * wave; plans that are still valid come back with the same ids. Order: tenant, group key, then
 * the order Thanos would pick them in (vertical first; smaller ranges, then older buckets first).
 */
export function planAll(blocks: readonly PlanBlock[], options: PlanOptions = {}): PlanAllResult {
  return planWith(blocks, options, planGroup);
}

/** Thanos' behaviour: at most one plan per group, the one its planner would pick. */
export function planFirst(blocks: readonly PlanBlock[], options: PlanOptions = {}): PlanAllResult {
  return planWith(blocks, options, planGroupFirst);
}
