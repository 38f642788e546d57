/** The planner/worker protocol: tenant-fair queue, leases, the planner gRPC service, the worker. */
export {
  planFromWire,
  planToWire,
  type AssignedPlan,
  type AssignedSource,
  type OutputDefaults,
  type OutputOptions,
} from './codec.js';
export {
  LeaseTable,
  requeueLeases,
  type EpochRelation,
  type FailureOutcome,
  type FailureReport,
  type Lease,
  type LeaseOptions,
  type LeaseProgress,
  type ParkedPlan,
  type RequeueHooks,
  type RequeueResult,
} from './leases.js';
export {
  PlanQueue,
  type Assignment,
  type QueueOptions,
  type QueueStats,
  type ReplaceResult,
} from './queue.js';
export { startPlannerServer, type PlannerServer, type PlannerServerOptions } from './server.js';
export {
  PlannerService,
  type LeadershipView,
  type PlanSource,
  type PlannerServiceOptions,
  type RequeueReason,
  type SchedulerEvents,
  type SchedulerStats,
} from './service.js';
export {
  createWorker,
  parseAddresses,
  type ExecuteContext,
  type ExecuteResult,
  type FailureClass,
  type PlanExecutor,
  type PlannerWorker,
  type ProgressUpdate,
  type Sleep,
  type StopMode,
  type WorkerOptions,
  type WorkerStats,
} from './worker.js';
