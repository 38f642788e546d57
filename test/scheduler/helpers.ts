/**
 * Fakes for the pure-logic edges of the scheduler (PlanSource, LeadershipView, PlanExecutor) and
 * a hand-driven gRPC client. The transport is always real: HTTP/2 on 127.0.0.1.
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node';
import {
  Planner,
  type PlannerMessage,
  type RunningPlanSchema,
  type WorkerMessageSchema,
} from '../../gen/strata/v1/planner_pb.js';
import { mkBlock, ulidOf } from '../support/plan-fixtures.js';
import { planId } from '../../src/plan/index.js';
import type { Plan, PlanFootprint } from '../../src/plan/index.js';
import type { NoCompactReason } from '../../src/tsdb/markers.js';
import { Channel } from '../../src/scheduler/channel.js';
import type { Logger } from '../../src/util/logger.js';
import type { AssignedPlan } from '../../src/scheduler/codec.js';
import {
  startPlannerServer,
  type PlannerServer,
  type PlannerServerOptions,
} from '../../src/scheduler/server.js';
import type { LeadershipView } from '../../src/scheduler/leadership-gate.js';
import type { PlanSource } from '../../src/scheduler/passes.js';
import { plansByTenant, type PlanSet } from '../../src/scheduler/queue.js';
import { createWorker, type PlannerWorker, type WorkerOptions } from '../../src/scheduler/worker.js';
import type { ExecuteContext, ExecuteResult, PlanExecutor } from '../../src/scheduler/worker-runs.js';

let blockSeq = 1;

export interface TestPlanSpec {
  readonly tenant: string;
  readonly group?: string;
  readonly min?: number;
  readonly max?: number;
  readonly level?: number;
  /** Source ULIDs; default two fresh ones. */
  readonly sources?: readonly string[];
}

/** A horizontal plan of two (or the given) level-`level` blocks. */
export function testPlan(spec: TestPlanSpec): Plan {
  const min = spec.min ?? 0;
  const max = spec.max ?? min + 7_200_000;
  const level = spec.level ?? 1;
  const ulids = spec.sources ?? [ulidOf(1_000_000 + blockSeq++), ulidOf(1_000_000 + blockSeq++)];
  const groupKey = spec.group ?? '0@123';
  const sources = ulids.map((u, i) =>
    mkBlock({
      id: u,
      min: min + Math.floor(((max - min) * i) / ulids.length),
      max: min + Math.floor(((max - min) * (i + 1)) / ulids.length),
      level,
      tenant: spec.tenant,
    }),
  );
  return {
    id: planId(spec.tenant, groupKey, ulids),
    tenant: spec.tenant,
    groupKey,
    resolution: 0,
    labels: { cluster: 'eu1' },
    sources,
    minTime: min,
    maxTime: max,
    kind: 'horizontal',
    outputLevel: level + 1,
    dedup: 'exact',
    replicaLabels: [],
    maxSamplesPerChunk: 0,
  };
}

export function freshUlid(): string {
  return ulidOf(2_000_000 + blockSeq++);
}

/** A bucket in memory: plans until completed or parked. */
export class FakeSource implements PlanSource {
  plans: Plan[];
  readonly completed: { plan: PlanFootprint; outputs: readonly string[] }[] = [];
  readonly parked: {
    plan: PlanFootprint;
    failingBlock: string | undefined;
    noCompactReason: NoCompactReason | undefined;
    reason: string;
  }[] = [];
  readonly consumed = new Set<string>();
  exists: (plan: PlanFootprint) => boolean = (p) => p.sources.every((b) => !this.consumed.has(b.ulid));
  passes = 0;

  constructor(plans: readonly Plan[] = []) {
    this.plans = [...plans];
  }

  async nextPlans(): Promise<PlanSet> {
    this.passes++;
    return plansByTenant(
      this.plans.filter(
        (p) =>
          !this.completed.some((c) => c.plan.id === p.id) &&
          !this.parked.some((x) => x.plan.id === p.id) &&
          p.sources.every((b) => !this.consumed.has(b.ulid)),
      ),
    );
  }

  async onComplete(plan: PlanFootprint, outputs: readonly string[]): Promise<void> {
    this.completed.push({ plan, outputs });
    for (const b of plan.sources) this.consumed.add(b.ulid);
  }

  async onParked(
    plan: PlanFootprint,
    failingBlock: string | undefined,
    noCompactReason: NoCompactReason | undefined,
    reason: string,
  ): Promise<void> {
    this.parked.push({ plan, failingBlock, noCompactReason, reason });
  }

  async sourcesExist(plan: PlanFootprint): Promise<boolean> {
    return this.exists(plan);
  }
}

export class FakeLeadership implements LeadershipView {
  constructor(
    public leader = true,
    public term = 1,
    public address: string | undefined = undefined,
  ) {}

  isLeader(): boolean {
    return this.leader;
  }

  epoch(): number {
    return this.term;
  }

  leaderAddress(): string | undefined {
    return this.address;
  }
}

export type Behaviour = (plan: AssignedPlan, ctx: ExecuteContext) => Promise<ExecuteResult>;

/** Records every plan it is given; what it does is up to `behaviour`. */
export class FakeExecutor implements PlanExecutor {
  readonly started: AssignedPlan[] = [];
  readonly finished: AssignedPlan[] = [];

  constructor(private readonly behaviour: Behaviour = async () => ({ outputs: [freshUlid()] })) {}

  async execute(plan: AssignedPlan, ctx: ExecuteContext): Promise<ExecuteResult> {
    this.started.push(plan);
    const res = await this.behaviour(plan, ctx);
    this.finished.push(plan);
    return res;
  }
}

export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      },
      { once: true },
    );
  });
}

/** Waits until `cond` holds (polling), or fails with `what`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

/** Short timers for tests. */
export const FAST: Partial<PlannerServerOptions> = {
  graceMs: 0,
  tickMs: 20,
  leaseTimeoutMs: 15_000, // tests of expiry set their own; a loaded CI machine can stall 2 s
  replanDelayMs: 0,
  replanIntervalMs: 60_000,
  noPlanRetryMs: 30,
  retryDelayMs: 0,
};

/** Starts servers and workers and stops all of them in `cleanup`. */
export class Harness {
  private readonly servers: PlannerServer[] = [];
  private readonly workers: PlannerWorker[] = [];
  private readonly raws: RawStream[] = [];

  async server(
    opts: Partial<PlannerServerOptions> & Pick<PlannerServerOptions, 'source'>,
  ): Promise<PlannerServer> {
    const s = await startPlannerServer({ leadership: new FakeLeadership(), ...FAST, ...opts });
    this.servers.push(s);
    return s;
  }

  worker(opts: Partial<WorkerOptions> & Pick<WorkerOptions, 'planners' | 'executor'>): PlannerWorker {
    const w = createWorker({
      workerId: `w${this.workers.length + 1}`,
      progressIntervalMs: 100,
      backoffInitialMs: 20,
      backoffMaxMs: 200,
      stopTimeoutMs: 5000,
      ...opts,
    });
    this.workers.push(w);
    w.start();
    return w;
  }

  raw(address: string): RawStream {
    const r = new RawStream(address);
    this.raws.push(r);
    return r;
  }

  async cleanup(): Promise<void> {
    for (const r of this.raws) r.abort();
    await Promise.all(this.workers.map((w) => w.stop('abandon')));
    await Promise.all(this.servers.map((s) => s.close()));
  }
}

type Outgoing = MessageInitShape<typeof WorkerMessageSchema>;

/** A hand-driven stream: send any message, read the answers and the final status. */
export class RawStream {
  readonly received: PlannerMessage[] = [];
  /** The call's gRPC status: Code.Ok (0) or the error code. */
  readonly status: Promise<{ code: Code; message: string }>;
  private readonly input = new Channel<Outgoing>();
  private readonly ctl = new AbortController();

  constructor(address: string) {
    const manager = new Http2SessionManager(`http://${address}`);
    const client = createClient(
      Planner,
      createGrpcTransport({ baseUrl: `http://${address}`, sessionManager: manager }),
    );
    this.status = (async () => {
      try {
        for await (const m of client.connect(this.input, { signal: this.ctl.signal })) this.received.push(m);
        return { code: 0 as Code, message: '' };
      } catch (err) {
        const ce = ConnectError.from(err);
        return { code: ce.code, message: ce.rawMessage };
      } finally {
        manager.abort();
      }
    })();
  }

  send(m: Outgoing): void {
    this.input.push(m);
  }

  init(workerId = 'raw', capacity = 1, running: MessageInitShape<typeof RunningPlanSchema>[] = []): void {
    this.send({ msg: { case: 'init', value: { workerId, capacity, running } } });
  }

  next(): void {
    this.send({ msg: { case: 'next', value: {} } });
  }

  /** Waits for the n-th message (1-based). */
  async message(n: number, timeoutMs = 5000): Promise<PlannerMessage> {
    await until(() => this.received.length >= n, `message ${n}`, timeoutMs);
    return this.received[n - 1]!;
  }

  end(): void {
    this.input.close();
  }

  abort(): void {
    this.ctl.abort();
  }
}

export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** A Logger that keeps every line (child fields merged in). */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const make = (base: Readonly<Record<string, unknown>>): Logger => {
    const at =
      (level: LogLine['level']) =>
      (msg: string, fields?: Readonly<Record<string, unknown>>): void => {
        lines.push({ level, msg, fields: { ...base, ...fields } });
      };
    return {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (f) => make({ ...base, ...f }),
    };
  };
  return { logger: make({}), lines };
}
