/** Pure compaction planning: grouping, duplicates, leveled and vertical plans. No I/O. */
export { compareBlocks, groupBlocks } from './group.js';
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
  Group,
  GroupPlanResult,
  NoCompactRequest,
  ExecutablePlan,
  Plan,
  PlanFootprint,
  PlanSource,
  PlanAllResult,
  PlanBlock,
  PlanKind,
  PlanOptions,
  ResolvedPlanOptions,
} from './types.js';
