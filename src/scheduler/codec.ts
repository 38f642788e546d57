/**
 * Conversions between plans and the wire messages of strata.v1.Planner, with the validation of
 * everything that arrives from the other side. Malformed input throws a ConnectError with
 * Code.InvalidArgument, which ends the stream with that gRPC status.
 */
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  DedupMode as WireDedup,
  PlanKind as WireKind,
  RunningPlanSchema,
  type Complete,
  type Failed,
  type Init,
  type PlanAssignment,
  type Progress,
  type RunningPlan,
  type SourceBlock,
} from '../../gen/strata/v1/planner_pb.js';
import type { DedupMode } from '../tsdb/samples/dedup.js';
import { isNoCompactReason, type NoCompactReason } from '../tsdb/markers.js';
import type { ExecutablePlan, Plan, PlanFootprint, PlanKind, PlanSource } from '../plan/types.js';
import { isUlid } from '../tsdb/ulid.js';

/**
 * A plan as a worker receives it: the plan itself, the epoch of the leader that handed it out, and
 * which sharded planner that was ('' when unsharded).
 */
export type AssignedPlan = ExecutablePlan & { readonly epoch: number; readonly plannerId: string };

/** Limits on strings from the network: ids, tenants, reasons. */
export const MAX_ID_LENGTH = 1024;
export const MAX_REASON_LENGTH = 4096;

const DEDUP_TO_WIRE: Record<DedupMode, WireDedup> = {
  exact: WireDedup.EXACT,
  penalty: WireDedup.PENALTY,
};
const KIND_TO_WIRE: Record<PlanKind, WireKind> = {
  vertical: WireKind.VERTICAL,
  horizontal: WireKind.HORIZONTAL,
  downsample: WireKind.DOWNSAMPLE,
};

function invalid(msg: string): ConnectError {
  return new ConnectError(msg, Code.InvalidArgument);
}

/** A 64-bit wire integer as a JS number; InvalidArgument beyond 2^53. */
function num(what: string, v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw invalid(`${what}: ${v} is out of range`);
  }
  return Number(v);
}

function big(n: number): bigint {
  return BigInt(Math.trunc(n));
}

/**
 * Built as literal messages (every field, `$typeName` set) rather than through `create`, whose
 * reflective walk cost more than the rest of handing a plan out; plan-frame.test.ts checks the
 * result equals what `create` makes.
 */
export function planToWire(plan: Plan<PlanSource>, epoch: number, plannerId = ''): PlanAssignment {
  const sources: SourceBlock[] = plan.sources.map((b) => ({
    $typeName: 'strata.v1.SourceBlock',
    ulid: b.ulid,
    minTime: big(b.minTime),
    maxTime: big(b.maxTime),
    level: b.compaction.level,
  }));
  return {
    $typeName: 'strata.v1.PlanAssignment',
    id: plan.id,
    tenant: plan.tenant,
    groupKey: plan.groupKey,
    kind: KIND_TO_WIRE[plan.kind],
    minTime: big(plan.minTime),
    maxTime: big(plan.maxTime),
    sources,
    output: {
      $typeName: 'strata.v1.OutputOptions',
      dedup: DEDUP_TO_WIRE[plan.dedup],
      replicaLabels: [...plan.replicaLabels],
      resolution: big(plan.resolution),
      externalLabels: { ...plan.labels },
      maxSamplesPerChunk: plan.maxSamplesPerChunk,
      level: plan.outputLevel,
    },
    epoch: big(epoch),
    plannerId,
    nextInComplete: false,
  };
}

function dedupFromWire(d: WireDedup): DedupMode {
  switch (d) {
    case WireDedup.EXACT:
      return 'exact';
    case WireDedup.PENALTY:
      return 'penalty';
    case WireDedup.NONE:
      // An earlier planner's horizontal plan: nothing overlaps, any mode gives the same output.
      return 'exact';
    default:
      throw invalid(`plan has unknown dedup mode ${String(d)}`);
  }
}

function kindFromWire(k: WireKind): PlanKind {
  switch (k) {
    case WireKind.VERTICAL:
      return 'vertical';
    case WireKind.HORIZONTAL:
      return 'horizontal';
    case WireKind.DOWNSAMPLE:
      return 'downsample';
    default:
      throw invalid(`plan has unknown kind ${String(k)}`);
  }
}

function checkId(what: string, s: string): void {
  if (s.length === 0) throw invalid(`${what} is empty`);
  if (s.length > MAX_ID_LENGTH) throw invalid(`${what} is longer than ${MAX_ID_LENGTH} characters`);
}

function checkUlid(what: string, s: string): void {
  if (!isUlid(s)) throw invalid(`${what} "${s.slice(0, 64)}" is not a ULID`);
}

function range(what: string, min: bigint, max: bigint): [number, number] {
  const lo = num(`${what} min time`, min);
  const hi = num(`${what} max time`, max);
  if (lo >= hi) throw invalid(`${what}: empty time range [${lo}, ${hi})`);
  return [lo, hi];
}

function count(what: string, v: bigint): number {
  const n = num(what, v);
  if (n < 0) throw invalid(`${what} must not be negative, got ${n}`);
  return n;
}

/** Worker side: a validated, plain copy of a PLAN message. */
export function planFromWire(m: PlanAssignment): AssignedPlan {
  checkId('plan id', m.id);
  const [minTime, maxTime] = range(`plan ${m.id}`, m.minTime, m.maxTime);
  const epoch = count(`plan ${m.id} epoch`, m.epoch);
  if (m.sources.length === 0) throw invalid(`plan ${m.id} has no sources`);
  const sources = m.sources.map((s): PlanSource => {
    checkUlid(`plan ${m.id} source`, s.ulid);
    const [lo, hi] = range(`plan ${m.id} source ${s.ulid}`, s.minTime, s.maxTime);
    return { ulid: s.ulid, minTime: lo, maxTime: hi, compaction: { level: s.level } };
  });
  const o = m.output;
  if (o === undefined) throw invalid(`plan ${m.id} has no output options`);
  return {
    id: m.id,
    tenant: m.tenant,
    groupKey: m.groupKey,
    kind: kindFromWire(m.kind),
    minTime,
    maxTime,
    sources,
    dedup: dedupFromWire(o.dedup),
    replicaLabels: [...o.replicaLabels],
    resolution: count(`plan ${m.id} resolution`, o.resolution),
    labels: { ...o.externalLabels },
    maxSamplesPerChunk: o.maxSamplesPerChunk,
    outputLevel: o.level,
    epoch,
    plannerId: m.plannerId,
  };
}

/** Worker side: what INIT says about a plan still running. */
export function runningToWire(p: AssignedPlan): RunningPlan {
  return create(RunningPlanSchema, {
    planId: p.id,
    epoch: big(p.epoch),
    tenant: p.tenant,
    groupKey: p.groupKey,
    minTime: big(p.minTime),
    maxTime: big(p.maxTime),
    sourceUlids: p.sources.map((s) => s.ulid),
    plannerId: p.plannerId,
  });
}

/** A running plan from INIT, validated: only its footprint (what conflicts need) and epoch. */
export interface ReportedPlan extends PlanFootprint {
  readonly epoch: number;
  /** The sharded planner that handed it out ('' when unsharded). */
  readonly plannerId: string;
}

export interface ValidInit {
  readonly workerId: string;
  readonly capacity: number;
  readonly running: readonly ReportedPlan[];
}

/** Server side: INIT checks (ids, capacity, the running plans' shape). */
export function validateInit(m: Init, maxCapacity: number): ValidInit {
  checkId('worker id', m.workerId);
  if (m.capacity < 1 || m.capacity > maxCapacity) {
    throw invalid(`capacity must be between 1 and ${maxCapacity}, got ${m.capacity}`);
  }
  if (m.running.length > m.capacity) {
    throw invalid(`worker reports ${m.running.length} running plans but has capacity ${m.capacity}`);
  }
  const running = validateRunning(m.running);
  return { workerId: m.workerId, capacity: m.capacity, running };
}

/** Running plans from INIT or ADOPT, validated. */
export function validateRunning(list: readonly RunningPlan[]): ReportedPlan[] {
  const seen = new Set<string>();
  return list.map((r): ReportedPlan => {
    checkId('running plan id', r.planId);
    if (seen.has(r.planId)) throw invalid(`running plan ${r.planId} reported twice`);
    seen.add(r.planId);
    if (r.plannerId.length > MAX_ID_LENGTH)
      throw invalid(`planner id longer than ${MAX_ID_LENGTH} characters`);
    const epoch = count(`running plan ${r.planId} epoch`, r.epoch);
    const [minTime, maxTime] = range(`running plan ${r.planId}`, r.minTime, r.maxTime);
    if (r.sourceUlids.length === 0) throw invalid(`running plan ${r.planId} has no source blocks`);
    for (const u of r.sourceUlids) checkUlid(`running plan ${r.planId} source`, u);
    return {
      id: r.planId,
      epoch,
      plannerId: r.plannerId,
      tenant: r.tenant,
      groupKey: r.groupKey,
      minTime,
      maxTime,
      sources: r.sourceUlids.map((ulid) => ({ ulid })),
    };
  });
}

export interface ValidProgress {
  readonly planId: string;
  readonly epoch: number;
  readonly phase: string;
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

export function validateProgress(m: Progress): ValidProgress {
  checkId('plan id', m.planId);
  if (m.phase.length > MAX_ID_LENGTH) throw invalid(`phase name is longer than ${MAX_ID_LENGTH} characters`);
  return {
    planId: m.planId,
    epoch: count(`progress of ${m.planId}: epoch`, m.epoch),
    phase: m.phase,
    bytesDone: count('bytes_done', m.bytesDone),
    bytesTotal: count('bytes_total', m.bytesTotal),
  };
}

export interface ValidComplete {
  readonly planId: string;
  readonly epoch: number;
  readonly outputs: readonly string[];
}

export function validateComplete(m: Complete): ValidComplete {
  checkId('plan id', m.planId);
  for (const u of m.outputUlids) checkUlid(`output block of ${m.planId}`, u);
  return {
    planId: m.planId,
    epoch: count(`completion of ${m.planId}: epoch`, m.epoch),
    outputs: [...m.outputUlids],
  };
}

export interface ValidFailed {
  readonly planId: string;
  readonly epoch: number;
  readonly reason: string;
  readonly retryable: boolean;
  readonly failingBlock: string | undefined;
  readonly abandoned: boolean;
  readonly errorCode: string;
  /** The no-compact reason for `failingBlock`; undefined when no block is blamed. */
  readonly noCompactReason: NoCompactReason | undefined;
}

/** `sources`: the plan's sources when the stream holds it; a failing block must be one of them. */
export function validateFailed(
  m: Failed,
  sources: readonly { readonly ulid: string }[] | undefined,
): ValidFailed {
  checkId('plan id', m.planId);
  if (m.reason.length > MAX_REASON_LENGTH)
    throw invalid(`reason is longer than ${MAX_REASON_LENGTH} characters`);
  if (m.failingBlock !== '') {
    checkUlid(`failing block of ${m.planId}`, m.failingBlock);
    // Only a source of the plan may be marked no-compact because of it.
    if (sources !== undefined && !sources.some((b) => b.ulid === m.failingBlock)) {
      throw invalid(`failing block ${m.failingBlock} is not a source of plan ${m.planId}`);
    }
  }
  if (m.errorCode.length > MAX_ID_LENGTH)
    throw invalid(`error code is longer than ${MAX_ID_LENGTH} characters`);
  let noCompactReason: NoCompactReason | undefined;
  if (m.noCompactReason !== '') {
    if (m.failingBlock === '')
      throw invalid(`failure of ${m.planId} has a no-compact reason but no failing block`);
    if (!isNoCompactReason(m.noCompactReason)) {
      throw invalid(`failure of ${m.planId}: unknown no-compact reason "${m.noCompactReason.slice(0, 64)}"`);
    }
    noCompactReason = m.noCompactReason;
  }
  return {
    planId: m.planId,
    epoch: count(`failure of ${m.planId}: epoch`, m.epoch),
    reason: m.reason,
    retryable: m.retryable,
    failingBlock: m.failingBlock === '' ? undefined : m.failingBlock,
    abandoned: m.abandoned,
    errorCode: m.errorCode,
    noCompactReason,
  };
}
