/**
 * Leader election, as used by `strata planner` replicas (only the leader plans and serves plans;
 * followers answer NOT_LEADER with the leader's address) and by `strata compact --etcd.endpoints`
 * (an HA singleton: one replica works, the others wait).
 *
 * Backends: etcd (etcd.ts) for several replicas, "always leader" (always.ts) for one node.
 */
import { StrataError, type StrataErrorOptions } from '../util/errors.js';

/** The leader as published: what followers read and hand to their clients. */
export interface LeaderInfo {
  /** The candidate's id (hostname, pod name...); informational, need not be unique. */
  readonly id: string;
  /** Where to reach the leader (host:port or URL): the value of the etcd leader key. */
  readonly address: string;
  /**
   * Strictly increases with every new term across the whole cluster (etcd: the create revision
   * of the leader key). Stamp it on work so that work of a deposed leader is recognised.
   */
  readonly epoch: number;
}

/** One term of leadership held by this candidate. */
export interface Term extends LeaderInfo {
  /** Aborted (reason: a NotLeaderError) the moment this term ends, whatever the cause. */
  readonly signal: AbortSignal;
}

/**
 * Why a term ended. `step-down`: keep-alives failed for so long that the lease may expire soon,
 * so this candidate stopped acting before anyone else can be elected. `lease-lost`: etcd says the
 * lease is gone. `fenced-out`: a fencing check found the leader key gone.
 */
export type LostReason = 'resigned' | 'closed' | 'step-down' | 'lease-lost' | 'fenced-out';

export interface LostEvent {
  readonly epoch: number;
  readonly reason: LostReason;
  readonly error?: unknown;
}

export type Unsubscribe = () => void;

export interface Election {
  /** This candidate's id and published address. */
  readonly id: string;
  readonly address: string;

  /**
   * Resolves with the new term once this candidate leads (at once if it already does). Keeps
   * trying through etcd outages; rejects only with ERR_HA_ABORTED (signal aborted, or resign()
   * while waiting) or ERR_HA_CLOSED. One campaign at a time. After a term ends, call again to
   * run for a new term (with a higher epoch).
   */
  campaign(signal?: AbortSignal): Promise<Term>;

  /** The current term, if this candidate leads and may still act (see isLeader). */
  term(): Term | undefined;

  /**
   * A local, synchronous check before side effects: true while this candidate holds a term and
   * its local step-down deadline (last confirmed lease keep-alive + TTL − margin) lies ahead.
   * Ends the term on the spot when the deadline has passed, even if no timer has fired yet
   * (e.g. the process was stopped).
   */
  isLeader(): boolean;

  /**
   * A round trip to the backend confirming leadership now (etcd: a transaction comparing the
   * leader key's create revision). Resolves with the term, or rejects with ERR_HA_NOT_LEADER
   * (the term is then over) or ERR_HA_UNAVAILABLE (backend unreachable; the term goes on until
   * its local deadline).
   */
  fence(): Promise<Term>;

  /** The current leader as published, or undefined if there is none. ERR_HA_UNAVAILABLE on failure. */
  leader(): Promise<LeaderInfo | undefined>;

  /**
   * The current leader first, then every change (undefined: no leader). Transient backend errors
   * are retried, not thrown; a slow consumer sees only the newest value. Ends when `signal`
   * aborts or the election is closed.
   */
  observe(signal?: AbortSignal): AsyncIterableIterator<LeaderInfo | undefined>;

  /** Called synchronously whenever a term of this candidate ends. */
  onLost(listener: (event: LostEvent) => void): Unsubscribe;

  /**
   * Stops acting as leader at once, then hands over (etcd: revokes the lease, so the next
   * candidate takes over in milliseconds). Also cancels a pending campaign. Never throws for an
   * unreachable backend (the lease then expires after its TTL).
   */
  resign(): Promise<void>;

  /** resign(), then releases connections. Every later call fails with ERR_HA_CLOSED. */
  close(): Promise<void>;
}

/** Monotonic milliseconds; wall-clock jumps must not move leadership deadlines. */
export interface Clock {
  now(): number;
}

export const monotonicClock: Clock = { now: () => performance.now() };

/** ERR_HA_NOT_LEADER, with the leader as far as the thrower knows it (for NOT_LEADER replies). */
export class NotLeaderError extends StrataError {
  readonly leader: LeaderInfo | undefined;

  constructor(message: string, leader?: LeaderInfo, options?: StrataErrorOptions) {
    super('ERR_HA_NOT_LEADER', message, options);
    this.leader = leader;
  }
}

/**
 * The NOT_LEADER error a follower answers with: names the current leader when it can be read
 * (followers that answer often should cache the leader from observe() instead).
 */
export async function notLeaderError(election: Election): Promise<NotLeaderError> {
  const leader = await election.leader().catch(() => undefined);
  const where = leader === undefined ? 'no leader is elected' : `the leader is ${leader.address}`;
  return new NotLeaderError(`not the leader; ${where}`, leader);
}

export function sameLeader(a: LeaderInfo | undefined, b: LeaderInfo | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.epoch === b.epoch && a.id === b.id && a.address === b.address;
}

export interface RunAsLeaderOptions {
  signal?: AbortSignal;
  /** Pause between a lost term and the next campaign (default 1000 ms), so a flapping backend is not hammered. */
  recampaignDelayMs?: number;
}

/**
 * The HA-singleton loop: campaign, run `work` with the term (its signal aborts when the term
 * ends; `work` should also stop on `signal`), and campaign again after a loss, until `signal`
 * aborts. Resigns on the way out, so a stopping leader hands over at once. Errors thrown by
 * `work` are rethrown after resigning.
 */
export async function runAsLeader(
  election: Election,
  work: (term: Term) => Promise<void>,
  opts: RunAsLeaderOptions = {},
): Promise<void> {
  const { signal } = opts;
  while (!isAborted(signal)) {
    let term: Term;
    try {
      term = await election.campaign(signal);
    } catch (err) {
      if (isAborted(signal)) return;
      throw err;
    }
    try {
      await work(term);
    } catch (err) {
      await election.resign();
      throw err;
    }
    if (isAborted(signal) || !term.signal.aborted) {
      // Stopping, or work is done while still leader: hand over.
      await election.resign();
      return;
    }
    await sleep(opts.recampaignDelayMs ?? 1000, signal);
  }
}

// A function, so TypeScript does not narrow `aborted` across awaits.
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
