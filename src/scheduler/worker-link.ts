/**
 * One planner as a worker sees it: a connection loop holding one gRPC (HTTP/2) stream at a time,
 * reconnecting with backoff. Unsharded, one link covers every configured planner address and
 * follows NOT_LEADER to the leader (or to the next address when the follower does not know it);
 * sharded, there is one link per planner in the ring, each to that planner alone.
 */
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node';
import type { SecureClientSessionOptions } from 'node:http2';
import { Planner, type PlannerMessage } from '../../gen/strata/v1/planner_pb.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { planFromWire, type AssignedPlan } from './codec.js';
import { WorkerStream } from './worker-stream.js';
import type { Run } from './worker-runs.js';

export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/** What a link needs of its worker. */
export interface LinkHost {
  readonly workerId: string;
  readonly capacity: number;
  readonly log: Logger;
  readonly sleep: Sleep;
  readonly random: () => number;
  readonly keepaliveMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  /** TLS options of every planner connection (undefined: h2c). */
  readonly tls: SecureClientSessionOptions | undefined;
  /** Ends the sleeps between connections (stop, or a stop that gave up). */
  sleepSignal(): AbortSignal;
  /** The worker gave up (stop timed out): end at once. */
  gaveUp(): boolean;
  /** Stopping: the link ends once nothing of its own is left to report. */
  stopping(): boolean;
  /** The worker's runs whose results go to this link (listed in INIT). */
  runsOf(link: PlannerLink): Run[];
  /** A stream opened: send pending results, ask for plans. */
  connected(link: PlannerLink): void;
  planned(link: PlannerLink, plan: AssignedPlan): void;
  cancelled(link: PlannerLink, planId: string, reason: string): void;
  /** Results the planner is known to have processed. */
  confirmed(runs: readonly Run[]): void;
  /** Results of a stream that ended before they were proven processed: to be sent again. */
  unconfirmed(runs: readonly Run[]): void;
  /** The planner said NO_PLAN: ask this link again after `ms`. */
  retryLater(link: PlannerLink, ms: number): void;
}

/** Redirect-following backs off at most initial × 2^this (1.6 s with the 200 ms default). */
const REDIRECT_BACKOFF_STEPS = 3;

type SessionEnd =
  | { readonly kind: 'redirect'; readonly to: string | undefined }
  | { readonly kind: 'ended' }
  | { readonly kind: 'error'; readonly err: unknown };

function baseUrl(address: string, tls: boolean): string {
  return /^https?:\/\//.test(address) ? address : `${tls ? 'https' : 'http'}://${address}`;
}

export class PlannerLink {
  /** The open stream, if any. */
  conn: WorkerStream | undefined;
  connects = 0;
  private closed = false;
  private readonly closing = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    /** The planner's ring instance ID, or '' for the unsharded link. */
    readonly key: string,
    private readonly addresses: readonly string[],
    private readonly followRedirects: boolean,
    private readonly host: LinkHost,
  ) {}

  start(): Promise<void> {
    this.loop ??= this.run();
    return this.loop;
  }

  /** The planner left the ring: end the stream and the loop. */
  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    this.conn?.input.close();
    await this.loop;
  }

  /** Done: closed, given up, or stopping with nothing of its own left to report. */
  done(): boolean {
    return this.closed || this.host.gaveUp() || (this.host.stopping() && this.host.runsOf(this).length === 0);
  }

  private async run(): Promise<void> {
    let index = 0;
    let address = this.addresses[0]!;
    let attempt = 0;
    let redirects = 0;
    while (!this.done()) {
      const { end, worked } = await this.session(address);
      if (this.done()) break;
      let delay: number;
      if (end.kind === 'redirect' && this.followRedirects) {
        if (end.to !== undefined && end.to !== '') address = end.to;
        else address = this.addresses[(index = (index + 1) % this.addresses.length)]!;
        // Follow the first redirect at once; back off while planners keep pointing elsewhere, but
        // only a little: a live planner answered, and the leader it names (perhaps one that just
        // died) is replaced within a lease TTL, so the worker must be back well within the new
        // leader's grace period.
        attempt = 0;
        delay = redirects++ === 0 ? 0 : this.backoff(Math.min(redirects, REDIRECT_BACKOFF_STEPS));
        this.host.log.info('planner is not the leader; following', { to: address });
      } else {
        if (end.kind === 'error') {
          this.host.log.warn('planner stream failed', { address, err: errorMessage(end.err) });
          address = this.addresses[(index = (index + 1) % this.addresses.length)]!;
        }
        if (worked) {
          attempt = 0;
          redirects = 0;
        }
        delay = this.backoff(attempt++);
      }
      await this.host.sleep(delay, AbortSignal.any([this.host.sleepSignal(), this.closing.signal]));
    }
  }

  private backoff(attempt: number): number {
    const d = Math.min(this.host.backoffMaxMs, this.host.backoffInitialMs * 2 ** Math.min(attempt, 30));
    return Math.round(d * (0.5 + this.host.random() / 2));
  }

  /** One stream to one planner, until it ends. */
  private async session(address: string): Promise<{ end: SessionEnd; worked: boolean }> {
    const url = baseUrl(address, this.host.tls !== undefined);
    const manager = new Http2SessionManager(
      url,
      { pingIntervalMs: this.host.keepaliveMs, pingTimeoutMs: this.host.keepaliveMs },
      this.host.tls,
    );
    const client = createClient(Planner, createGrpcTransport({ baseUrl: url, sessionManager: manager }));
    const call = new AbortController();
    const conn = new WorkerStream(address);
    this.conn = conn;
    this.connects++;
    conn.init(this.host.workerId, this.host.capacity, this.host.runsOf(this));
    this.host.connected(this);
    let end: SessionEnd = { kind: 'ended' };
    try {
      for await (const m of client.connect(conn.input, { signal: call.signal })) {
        const redirect = this.onMessage(conn, m);
        if (redirect !== undefined) {
          end = redirect;
          break;
        }
        conn.received = true;
      }
    } catch (err) {
      end = { kind: 'error', err };
    } finally {
      if (this.conn === conn) this.conn = undefined;
      conn.input.close();
      call.abort();
      manager.abort();
    }
    if (end.kind === 'ended' && conn.halfClosed) this.host.confirmed(conn.confirm(Infinity));
    this.host.unconfirmed(conn.takeUnconfirmed());
    return { end, worked: conn.received };
  }

  private onMessage(conn: WorkerStream, m: PlannerMessage): SessionEnd | undefined {
    const msg = m.msg;
    switch (msg.case) {
      case 'plan':
        if (msg.value.nextInComplete) conn.nextInComplete = true;
        this.host.confirmed(conn.answered());
        this.host.planned(this, planFromWire(msg.value));
        return undefined;
      case 'noPlan':
        this.host.confirmed(conn.answered());
        this.host.retryLater(this, msg.value.retryAfterMs);
        return undefined;
      case 'notLeader':
        return { kind: 'redirect', to: msg.value.leaderAddress };
      case 'cancel':
        // A result sent again that the planner already has (or no longer wants) is dropped too.
        conn.forget(msg.value.planId);
        this.host.cancelled(this, msg.value.planId, msg.value.reason);
        return undefined;
      case undefined:
        throw new ConnectError('empty PlannerMessage', Code.InvalidArgument);
    }
  }
}
