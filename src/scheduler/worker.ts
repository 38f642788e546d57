/**
 * The worker side of strata.v1.Planner/Connect: up to `capacity` plans at a time through a
 * PlanExecutor, taken from one planner (unsharded: the leader among the configured addresses) or
 * from every planner of the ring (sharded: a stream to each, free slots offered to them in turn).
 *
 * Plans keep running across reconnects: INIT on the new stream lists them (with the epoch they
 * came with), and results that could not be reported while disconnected are sent right after it.
 * A plan the planner CANCELs is aborted and never reported. Sharded, the plans of a planner that
 * left the ring go to the planner owning their tenant now (ADOPT), which takes them over.
 */
import type { SecureClientSessionOptions } from 'node:http2';
import { Code, ConnectError } from '@connectrpc/connect';
import { nopLogger, type Logger } from '../util/logger.js';
import type { AssignedPlan } from './codec.js';
import type { RunningPlanInfo } from '../compactor/activity.js';
import { PlannerLink, type LinkHost, type Sleep } from './worker-link.js';
import { PlanRuns, type Classify, type PlanExecutor, type Run } from './worker-runs.js';

export type { Sleep } from './worker-link.js';

/** Sharded planners as the worker finds them (the ring). */
export interface PlannerDiscovery {
  /** The healthy planners now: ring instance ID → address. */
  planners(): ReadonlyMap<string, string>;
  /** Called after the set of planners or their ownership changed; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
  /** The planner owning `tenant` now. */
  ownerOf(tenant: string): string | undefined;
}

export interface WorkerOptions {
  readonly workerId: string;
  /** Planner addresses (host:port), as a list or comma-separated (unsharded planners). */
  readonly planners?: string | readonly string[];
  /** Sharded planners: every planner of the ring (instead of `planners`). */
  readonly discovery?: PlannerDiscovery;
  readonly executor: PlanExecutor;
  /** Plans run at once. Default 1. */
  readonly capacity?: number;
  /** Default: every failure is retryable and blames no block. */
  readonly classify?: Classify;
  readonly logger?: Logger;
  /** Resolves after `ms`, or early when `signal` aborts. Default: a timer. */
  readonly sleep?: Sleep;
  /** For backoff jitter. Default Math.random. */
  readonly random?: () => number;
  /** PROGRESS (the lease heartbeat) for every running plan this often. Default 5 s. */
  readonly progressIntervalMs?: number;
  /** Reconnect backoff: first delay, cap. Defaults 200 ms, 10 s. */
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  /**
   * HTTP/2 PING this often on a quiet stream; a PING unanswered for as long ends the stream, so a
   * planner that vanished without closing the connection is noticed. Default 10 s.
   */
  readonly keepaliveMs?: number;
  /** TLS to the planners (http2.connect options; absent: h2c). */
  readonly tls?: SecureClientSessionOptions;
  /**
   * How long a planner may hold a NEXT until a plan can run (long poll) instead of answering
   * NO_PLAN and being asked again. Sharded, a held NEXT keeps the slot from the other planners that
   * long, so the default is shorter there. Default 30 s unsharded, 5 s sharded; 0 disables.
   */
  readonly nextWaitMs?: number;
  /** stop() gives up delivering results after this long. Default 30 s. */
  readonly stopTimeoutMs?: number;
}

export type StopMode = 'finish' | 'abandon';

export interface WorkerStats {
  /** Addresses of the open streams (one unsharded; one per planner sharded). */
  readonly connectedTo: readonly string[];
  readonly running: readonly string[];
  readonly completed: number;
  readonly failed: number;
  readonly connects: number;
}

export interface PlannerWorker {
  start(): void;
  /**
   * Stops taking work. 'finish' lets running plans end and reports them; 'abandon' aborts them
   * and tells the planner (FAILED with abandoned set) so they are re-queued at once.
   */
  stop(mode: StopMode): Promise<void>;
  stats(): WorkerStats;
  /** The plans it runs now. */
  running(): RunningPlanInfo[];
}

const defaultSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export function parseAddresses(planners: string | readonly string[]): string[] {
  const list = (typeof planners === 'string' ? planners.split(',') : [...planners])
    .map((a) => a.trim())
    .filter((a) => a !== '');
  if (list.length === 0) throw new RangeError('no planner address given');
  return list;
}

export function createWorker(opts: WorkerOptions): PlannerWorker {
  return new Worker(opts);
}

/** The key of the one link of an unsharded worker. */
const UNSHARDED = '';

class Worker implements PlannerWorker, LinkHost {
  readonly workerId: string;
  readonly capacity: number;
  readonly log: Logger;
  readonly sleep: Sleep;
  readonly random: () => number;
  readonly keepaliveMs: number;
  readonly tls: SecureClientSessionOptions | undefined;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  private readonly nextWaitMs: number;
  private readonly runs: PlanRuns;
  private readonly links = new Map<string, PlannerLink>();
  /** Aborted by stop(): ends sleeps and the NO_PLAN retry waits. */
  private readonly stopSignal = new AbortController();
  /** Aborted when stop() times out. */
  private readonly giveUpSignal = new AbortController();
  private readonly loops = new Set<Promise<void>>();
  private started = false;
  private stopMode: StopMode | undefined;
  private giveUp = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private offDiscovery: (() => void) | undefined;
  /** Links asked last for a plan: free slots go round the planners. */
  private turn = 0;
  private counts = { completed: 0, failed: 0 };

  constructor(private readonly opts: WorkerOptions) {
    this.workerId = opts.workerId;
    this.log = (opts.logger ?? nopLogger).child({ worker: opts.workerId });
    this.capacity = opts.capacity ?? 1;
    if (!Number.isInteger(this.capacity) || this.capacity < 1) throw new RangeError('capacity must be >= 1');
    if ((opts.planners === undefined) === (opts.discovery === undefined)) {
      throw new RangeError('give either planner addresses or a planner discovery');
    }
    this.sleep = opts.sleep ?? defaultSleep;
    this.random = opts.random ?? Math.random;
    this.keepaliveMs = opts.keepaliveMs ?? 10_000;
    this.tls = opts.tls;
    this.backoffInitialMs = opts.backoffInitialMs ?? 200;
    this.backoffMaxMs = opts.backoffMaxMs ?? 10_000;
    this.nextWaitMs = opts.nextWaitMs ?? (opts.discovery === undefined ? 30_000 : 5_000);
    if (opts.planners !== undefined) {
      this.links.set(UNSHARDED, new PlannerLink(UNSHARDED, parseAddresses(opts.planners), true, this));
    }
    this.runs = new PlanRuns({
      executor: opts.executor,
      ...(opts.classify ? { classify: opts.classify } : {}),
      log: this.log,
      finished: (run) => this.report(run),
      phaseChanged: (run) => this.sendProgress(run),
    });
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.heartbeat = setInterval(() => this.sendHeartbeats(), this.opts.progressIntervalMs ?? 5000);
    this.heartbeat.unref();
    const d = this.opts.discovery;
    if (d !== undefined) {
      this.offDiscovery = d.onChange(() => this.discover());
      this.discover();
    }
    for (const link of this.links.values()) this.track(link);
  }

  async stop(mode: StopMode): Promise<void> {
    if (!this.started) return;
    if (this.stopMode === undefined || mode === 'abandon') this.stopMode = mode;
    this.stopSignal.abort();
    if (mode === 'abandon') this.runs.abandonAll();
    this.maybeFinish();
    const timeout = this.opts.stopTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeout);
    });
    const finished = await Promise.race([this.idle().then(() => false), expired]);
    clearTimeout(timer);
    if (finished) {
      this.log.warn('stop timed out; dropping unreported plans', { plans: this.runs.ids() });
      this.giveUp = true;
      this.giveUpSignal.abort();
      this.runs.abortAll('worker stop timed out');
      for (const link of this.links.values()) link.conn?.input.close();
      await this.idle();
    }
    this.offDiscovery?.();
    clearInterval(this.heartbeat);
  }

  running(): RunningPlanInfo[] {
    return this.runs.infos(this.workerId);
  }

  stats(): WorkerStats {
    const connectedTo: string[] = [];
    for (const link of this.links.values()) if (link.conn !== undefined) connectedTo.push(link.conn.address);
    let connects = 0;
    for (const link of this.links.values()) connects += link.connects;
    return { connectedTo, running: this.runs.ids(), ...this.counts, connects };
  }

  // ---- LinkHost ----

  sleepSignal(): AbortSignal {
    // While stopping, sleeps only end early when stop() gives up.
    return this.stopMode === undefined ? this.stopSignal.signal : this.giveUpSignal.signal;
  }

  gaveUp(): boolean {
    return this.giveUp;
  }

  stopping(): boolean {
    return this.stopMode !== undefined;
  }

  runsOf(link: PlannerLink): Run[] {
    const out: Run[] = [];
    for (const r of this.runs.values()) if (r.home === link.key) out.push(r);
    return out;
  }

  connected(link: PlannerLink): void {
    for (const r of this.runsOf(link)) if (r.result !== undefined) this.report(r);
    this.requestMore();
    this.maybeFinish();
  }

  planned(link: PlannerLink, plan: AssignedPlan): void {
    if (this.runs.has(plan.id)) {
      throw new ConnectError(
        `planner sent plan ${plan.id}, which already runs here`,
        Code.FailedPrecondition,
      );
    }
    this.runs.start(plan, link.key, this.stopMode !== undefined);
  }

  cancelled(_link: PlannerLink, planId: string, reason: string): void {
    this.log.info('plan cancelled by the planner', { plan: planId, reason });
    this.runs.cancel(planId, reason);
    this.requestMore();
    this.maybeFinish();
  }

  /** Results the planner is known to have processed. */
  confirmed(runs: readonly Run[]): void {
    for (const r of runs) {
      const res = r.result;
      if (res?.kind === 'complete') this.counts.completed++;
      else if (res !== undefined && !res.abandoned) this.counts.failed++;
    }
  }

  unconfirmed(runs: readonly Run[]): void {
    for (const r of runs) this.runs.put(r);
  }

  retryLater(link: PlannerLink, ms: number): void {
    const conn = link.conn;
    if (conn === undefined || conn.retrying) return;
    conn.retrying = true;
    void this.sleep(ms, this.stopSignal.signal).then(() => {
      conn.retrying = false;
      if (link.conn === conn) this.requestMore();
    });
  }

  // ---- work ----

  private track(link: PlannerLink): void {
    const loop = link.start();
    this.loops.add(loop);
    void loop.finally(() => this.loops.delete(loop));
  }

  /** Every connection loop has ended. */
  private async idle(): Promise<void> {
    while (this.loops.size > 0) await Promise.all([...this.loops]);
  }

  /** Sharded: one link per planner in the ring; plans of planners that left go to the new owners. */
  private discover(): void {
    const d = this.opts.discovery!;
    const planners = d.planners();
    for (const [id, link] of [...this.links]) {
      if (planners.has(id)) continue;
      this.links.delete(id);
      this.log.info('planner left the ring', { planner: id });
      void link.close();
    }
    for (const [id, address] of planners) {
      if (this.links.has(id) || this.stopMode !== undefined) continue;
      const link = new PlannerLink(id, [address], false, this);
      this.links.set(id, link);
      this.log.info('planner found in the ring', { planner: id, address });
      this.track(link);
    }
    const moved = new Map<PlannerLink, Run[]>();
    for (const r of this.runs.values()) {
      if (this.links.has(r.home)) continue;
      const owner = d.ownerOf(r.plan.tenant);
      const link = owner === undefined ? undefined : this.links.get(owner);
      if (link === undefined) continue;
      r.home = link.key;
      const list = moved.get(link);
      if (list === undefined) moved.set(link, [r]);
      else list.push(r);
    }
    for (const [link, runs] of moved) {
      this.log.info('handing plans of a planner that left to the owner of their tenants', {
        planner: link.key,
        plans: runs.map((r) => r.plan.id),
      });
      // Not connected yet: its INIT lists them.
      link.conn?.adopt(runs);
      for (const r of runs) if (r.result !== undefined) this.report(r);
    }
    this.requestMore();
  }

  /** Unreported results hold their slot: the planner still counts the plan as running. */
  private requestMore(): void {
    if (this.stopMode !== undefined) return;
    const open: PlannerLink[] = [];
    let asked = 0;
    for (const link of this.links.values()) {
      const conn = link.conn;
      if (conn === undefined) continue;
      asked += conn.pendingNexts;
      if (!conn.retrying) open.push(link);
    }
    let free = this.capacity - this.runs.size - asked;
    for (let tried = 0; free > 0 && open.length > 0 && tried < open.length;) {
      const link = open[this.turn++ % open.length]!;
      link.conn!.next(this.nextWaitMs);
      free--;
      tried = 0;
    }
  }

  /** Sends a finished run's result to its planner if connected; otherwise after the next INIT. */
  private report(run: Run): void {
    const conn = this.links.get(run.home)?.conn;
    const res = run.result;
    if (conn === undefined || res === undefined) return;
    conn.result(run);
    if (res.kind === 'complete') this.log.debug('plan completed', { plan: run.plan.id });
    else
      this.log.info(res.abandoned ? 'plan abandoned' : 'plan failed', {
        plan: run.plan.id,
        reason: res.reason,
      });
    this.runs.take(run);
    this.requestMore();
    this.maybeFinish();
  }

  /** When stopping: half-close every stream with nothing left to report so its planner ends it. */
  private maybeFinish(): void {
    if (this.stopMode === undefined) return;
    for (const link of this.links.values()) {
      if (link.conn !== undefined && !link.conn.halfClosed && this.runsOf(link).length === 0)
        link.conn.halfClose();
    }
  }

  private sendProgress(run: Run): void {
    const conn = this.links.get(run.home)?.conn;
    if (conn === undefined || run.result !== undefined || !this.runs.owns(run)) return;
    conn.progress(run);
  }

  private sendHeartbeats(): void {
    for (const r of this.runs.values()) this.sendProgress(r);
  }
}
