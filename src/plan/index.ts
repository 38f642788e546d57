/** Pure compaction planning: grouping, duplicates, leveled and vertical plans. No I/O. */
export { findDuplicates, type DuplicateSplit } from './duplicates.js';
export {
  DEDUPED_LABEL_VALUE,
  blockLabels,
  blockResolution,
  compareBlocks,
  groupBlocks,
  groupKey,
  groupLabels,
} from './group.js';
export { labelsHash, stringsHash, xxhash64Decimal, xxhash64Hex } from './hash.js';
export { DEFAULT_MAX_INDEX_SIZE_BYTES, DEFAULT_RANGES, resolvePlanOptions } from './options.js';
export { planAll, planFirst } from './plan-all.js';
export {
  blockIndexSize,
  makePlan,
  overlappingRuns,
  planGroup,
  planGroupFirst,
  planId,
  splitByRange,
} from './planner.js';
export { compareForPriority, plansConflict } from './priority.js';
export {
  applyPlans,
  compactionProgress,
  simulate,
  simulateGroup,
  simulateOutput,
  type GroupSimulation,
  type Simulation,
  type SimulationMode,
  type TenantProgress,
} from './simulate.js';
export type {
  BlockedGroup,
  DedupMode,
  DuplicateBlock,
  Group,
  GroupPlanResult,
  NoCompactReason,
  NoCompactRequest,
  Plan,
  PlanAllResult,
  PlanBlock,
  PlanKind,
  PlanOptions,
  ResolvedPlanOptions,
} from './types.js';
