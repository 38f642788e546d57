/**
 * The worker side of strata.v1.Planner/Connect: one gRPC (HTTP/2) stream to the leading planner,
 * up to `capacity` plans at a time through a PlanExecutor.
 *
 * Plans keep running across reconnects: INIT on the new stream lists them (with the epoch they
 * came with), and results that could not be reported while disconnected are sent right after it.
 * A plan the planner CANCELs is aborted and never reported. NOT_LEADER moves to the named leader,
 * or to the next configured address when the follower does not know it.
 */
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node';
import { Planner, type PlannerMessage } from '../../gen/strata/v1/planner_pb.js';
import { errorMessage } from '../util/errors.js';
import { nopLogger, type Logger } from '../util/logger.js';
import { planFromWire } from './codec.js';
import { WorkerStream } from './worker-stream.js';
import { PlanRuns, type Classify, type PlanExecutor, type Run } from './worker-runs.js';

export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export interface WorkerOptions {
  readonly workerId: string;
  /** Planner addresses (host:port), as a list or comma-separated. */
  readonly planners: string | readonly string[];
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
  /** stop() gives up delivering results after this long. Default 30 s. */
  readonly stopTimeoutMs?: number;
}

export type StopMode = 'finish' | 'abandon';

export interface WorkerStats {
  readonly connectedTo: string | undefined;
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
}

/** Redirect-following backs off at most initial × 2^this (1.6 s with the 200 ms default). */
const REDIRECT_BACKOFF_STEPS = 3;

type SessionEnd =
  | { readonly kind: 'redirect'; readonly to: string | undefined }
  | { readonly kind: 'ended' }
  | { readonly kind: 'error'; readonly err: unknown };

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

function baseUrl(address: string): string {
  return /^https?:\/\//.test(address) ? address : `http://${address}`;
}

export function createWorker(opts: WorkerOptions): PlannerWorker {
  return new GrpcWorker(opts);
}

class GrpcWorker implements PlannerWorker {
  private readonly log: Logger;
  private readonly addresses: string[];
  private readonly capacity: number;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly runs: PlanRuns;
  /** Aborted by stop(): ends sleeps and the NO_PLAN retry waits. */
  private readonly stopSignal = new AbortController();
  /** Aborted when stop() times out. */
  private readonly giveUpSignal = new AbortController();
  private conn: WorkerStream | undefined;
  private loop: Promise<void> | undefined;
  private stopping: StopMode | undefined;
  private giveUp = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private counts = { completed: 0, failed: 0, connects: 0 };

  constructor(private readonly opts: WorkerOptions) {
    this.log = (opts.logger ?? nopLogger).child({ worker: opts.workerId });
    this.addresses = parseAddresses(opts.planners);
    this.capacity = opts.capacity ?? 1;
    if (!Number.isInteger(this.capacity) || this.capacity < 1) throw new RangeError('capacity must be >= 1');
    this.sleep = opts.sleep ?? defaultSleep;
    this.random = opts.random ?? Math.random;
    this.runs = new PlanRuns({
      executor: opts.executor,
      ...(opts.classify ? { classify: opts.classify } : {}),
      log: this.log,
      finished: (run) => this.report(run),
      phaseChanged: (run) => this.sendProgress(run),
    });
  }

  start(): void {
    if (this.loop !== undefined) return;
    this.heartbeat = setInterval(() => this.sendHeartbeats(), this.opts.progressIntervalMs ?? 5000);
    this.heartbeat.unref();
    this.loop = this.runLoop().finally(() => clearInterval(this.heartbeat));
  }

  async stop(mode: StopMode): Promise<void> {
    if (this.loop === undefined) return;
    if (this.stopping === undefined || mode === 'abandon') this.stopping = mode;
    this.stopSignal.abort();
    if (mode === 'abandon') this.runs.abandonAll();
    this.maybeFinish();
    const timeout = this.opts.stopTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeout);
    });
    const finished = await Promise.race([this.loop.then(() => false), expired]);
    clearTimeout(timer);
    if (finished) {
      this.log.warn('stop timed out; dropping unreported plans', { plans: this.runs.ids() });
      this.giveUp = true;
      this.giveUpSignal.abort();
      this.runs.abortAll('worker stop timed out');
      this.conn?.input.close();
      await this.loop;
    }
  }

  stats(): WorkerStats {
    return {
      connectedTo: this.conn?.address,
      running: this.runs.ids(),
      ...this.counts,
    };
  }

  // ---- connection loop ----

  private async runLoop(): Promise<void> {
    let index = 0;
    let address = this.addresses[0]!;
    let attempt = 0;
    let redirects = 0;
    while (!this.finished()) {
      const { end, worked } = await this.session(address);
      if (this.finished()) break;
      let delay: number;
      if (end.kind === 'redirect') {
        if (end.to !== undefined && end.to !== '') address = end.to;
        else address = this.addresses[(index = (index + 1) % this.addresses.length)]!;
        // Follow the first redirect at once; back off while planners keep pointing elsewhere, but
        // only a little: a live planner answered, and the leader it names (perhaps one that just
        // died) is replaced within a lease TTL, so the worker must be back well within the new
        // leader's grace period.
        attempt = 0;
        delay = redirects++ === 0 ? 0 : this.backoff(Math.min(redirects, REDIRECT_BACKOFF_STEPS));
        this.log.info('planner is not the leader; following', { to: address });
      } else {
        if (end.kind === 'error') {
          this.log.warn('planner stream failed', { address, err: errorMessage(end.err) });
          address = this.addresses[(index = (index + 1) % this.addresses.length)]!;
        }
        if (worked) {
          attempt = 0;
          redirects = 0;
        }
        delay = this.backoff(attempt++);
      }
      // While stopping, sleeps only end early when stop() gives up.
      await this.sleep(
        delay,
        this.stopping === undefined ? this.stopSignal.signal : this.giveUpSignal.signal,
      );
    }
  }

  private finished(): boolean {
    return this.giveUp || (this.stopping !== undefined && this.runs.size === 0);
  }

  private backoff(attempt: number): number {
    const initial = this.opts.backoffInitialMs ?? 200;
    const max = this.opts.backoffMaxMs ?? 10_000;
    const d = Math.min(max, initial * 2 ** Math.min(attempt, 30));
    return Math.round(d * (0.5 + this.random() / 2));
  }

  /** One stream to one planner, until it ends. */
  private async session(address: string): Promise<{ end: SessionEnd; worked: boolean }> {
    const keepalive = this.opts.keepaliveMs ?? 10_000;
    const manager = new Http2SessionManager(baseUrl(address), {
      pingIntervalMs: keepalive,
      pingTimeoutMs: keepalive,
    });
    const client = createClient(
      Planner,
      createGrpcTransport({ baseUrl: baseUrl(address), sessionManager: manager }),
    );
    const call = new AbortController();
    const conn = new WorkerStream(address);
    this.conn = conn;
    this.counts.connects++;
    conn.init(this.opts.workerId, this.capacity, this.runs.values());
    for (const r of this.runs.values()) if (r.result !== undefined) this.report(r);
    this.requestMore();
    this.maybeFinish();
    let end: SessionEnd = { kind: 'ended' };
    try {
      for await (const m of client.connect(conn.input, { signal: call.signal })) {
        const redirect = this.onMessage(conn, m);
        if (redirect === undefined) conn.received = true;
        if (redirect !== undefined) {
          end = redirect;
          break;
        }
      }
    } catch (err) {
      end = { kind: 'error', err };
    } finally {
      if (this.conn === conn) this.conn = undefined;
      conn.input.close();
      call.abort();
      manager.abort();
    }
    if (end.kind === 'ended' && conn.halfClosed) this.count(conn.confirm(Infinity));
    // Results the planner may not have seen go out again on the next stream.
    for (const r of conn.takeUnconfirmed()) this.runs.put(r);
    return { end, worked: conn.received };
  }

  private onMessage(conn: WorkerStream, m: PlannerMessage): SessionEnd | undefined {
    const msg = m.msg;
    switch (msg.case) {
      case 'plan': {
        this.count(conn.answered());
        const plan = planFromWire(msg.value);
        if (this.runs.has(plan.id)) {
          throw new ConnectError(
            `planner sent plan ${plan.id}, which already runs here`,
            Code.FailedPrecondition,
          );
        }
        this.runs.start(plan, this.stopping !== undefined);
        return undefined;
      }
      case 'noPlan':
        this.count(conn.answered());
        this.retryLater(conn, msg.value.retryAfterMs);
        return undefined;
      case 'notLeader':
        return { kind: 'redirect', to: msg.value.leaderAddress };
      case 'cancel': {
        const id = msg.value.planId;
        this.log.info('plan cancelled by the planner', { plan: id, reason: msg.value.reason });
        this.runs.cancel(id, msg.value.reason);
        // A result sent again that the planner already has (or no longer wants).
        conn.forget(id);
        this.requestMore();
        this.maybeFinish();
        return undefined;
      }
      case undefined:
        throw new ConnectError('empty PlannerMessage', Code.InvalidArgument);
    }
  }

  // ---- work ----

  /** Results the planner is known to have processed. */
  private count(runs: readonly Run[]): void {
    for (const r of runs) {
      const res = r.result;
      if (res?.kind === 'complete') this.counts.completed++;
      else if (res !== undefined && !res.abandoned) this.counts.failed++;
    }
  }

  /** Unreported results hold their slot: the planner still counts the plan as running. */
  private freeSlots(conn: WorkerStream): number {
    return this.capacity - this.runs.size - conn.pendingNexts;
  }

  private requestMore(): void {
    const conn = this.conn;
    if (conn === undefined || this.stopping !== undefined || conn.retrying) return;
    for (let n = this.freeSlots(conn); n > 0; n--) conn.next();
  }

  private retryLater(conn: WorkerStream, ms: number): void {
    if (conn.retrying) return;
    conn.retrying = true;
    void this.sleep(ms, this.stopSignal.signal).then(() => {
      conn.retrying = false;
      if (this.conn === conn) this.requestMore();
    });
  }

  /** Sends a finished run's result if connected; otherwise it goes out after the next INIT. */
  private report(run: Run): void {
    const conn = this.conn;
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

  /** When stopping and nothing is left to report: half-close the stream so the planner ends it. */
  private maybeFinish(): void {
    const conn = this.conn;
    if (this.stopping === undefined || this.runs.size > 0 || conn === undefined) return;
    conn.halfClose();
  }

  private sendProgress(run: Run): void {
    const conn = this.conn;
    if (conn === undefined || run.result !== undefined || !this.runs.owns(run)) return;
    conn.progress(run);
  }

  private sendHeartbeats(): void {
    for (const r of this.runs.values()) this.sendProgress(r);
  }
}
