/**
 * Leader election on etcd, with etcd's election recipe (the one behind Go's
 * `concurrency.Election` and etcd3's `Campaign`): every candidate puts a key under the prefix,
 * attached to its own lease; the key with the lowest create revision leads; the others wait for
 * the keys created before theirs to go. The epoch of a term is the create revision of the
 * leader's key, so it strictly increases from term to term.
 *
 * Written on etcd3's lease/KV/watch calls rather than its Campaign class, which hides its lease
 * (no keep-alive times, so no local step-down) and makes calls without deadlines. On top of the
 * recipe:
 * - every unary call has a deadline (util/etcd-client.ts);
 * - keep-alives are sent one by one, and the send time of the latest one etcd confirmed bounds
 *   the lease's expiry from below. A leader stops acting at that time + TTL − margin, before
 *   etcd can expire its lease and elect someone else, even while cut off from the quorum;
 * - fencedTxn()/fence(): a transaction that only applies while the leader key still exists with
 *   the term's create revision;
 * - resign() revokes the lease (hand-over in milliseconds), and close() always resigns.
 */
import type { Etcd3, IOperation, IRequestOp, ITxnResponse, Watcher } from 'etcd3';
import { InvalidArgumentError, StrataError, errorCode, errorMessage } from '../util/errors.js';
import { nopLogger, type Logger } from '../util/logger.js';
import {
  NotLeaderError,
  monotonicClock,
  sleep,
  type Clock,
  type Election,
  type LeaderInfo,
  type LostEvent,
  type Term,
  type Unsubscribe,
} from './election.js';
import {
  createEtcdClient,
  etcdCall,
  keepAliveOnce,
  redactEndpoint,
  withEtcdEndpoints,
  type EtcdAuth,
  type EtcdTls,
} from '../util/etcd-client.js';
import { candidateKey, leaderFromKv, normalizePrefix } from './etcd-keys.js';
import { Notifier } from './notifier.js';
import { observeLeader } from './observe.js';
import { TermTracker } from './term.js';

export interface EtcdElectionOptions {
  /** One entry per member: `http://127.0.0.1:2379` or `127.0.0.1:2379`. */
  endpoints: readonly string[];
  /** Keys of this election live under it (e.g. `/strata/planner/leader/`); one per election. */
  prefix: string;
  /** Published as the value of the leader key. */
  address: string;
  /** Default: the address. */
  id?: string;
  /** Lease TTL in whole seconds (default 10): how long a dead leader blocks the election. */
  ttlSeconds?: number;
  /** Deadline of every etcd call (default min(2000, TTL/4)). */
  callTimeoutMs?: number;
  /** A leader stops acting this long before its lease can expire (default max(500, TTL/5)). */
  stepDownMarginMs?: number;
  /** Default TTL/3 (as etcd's Go client). */
  keepAliveIntervalMs?: number;
  /** Waiting candidates and observers re-read at least this often (default min(5000, TTL/2)). */
  recheckIntervalMs?: number;
  auth?: EtcdAuth;
  tls?: EtcdTls;
  /** Use this client instead of creating one; close() then leaves it open. */
  client?: Etcd3;
  logger?: Logger;
  clock?: Clock;
}

/** Every failed etcd call of the election. */
const UNAVAILABLE = 'ERR_HA_UNAVAILABLE';

interface Timings {
  ttlMs: number;
  callTimeoutMs: number;
  marginMs: number;
  keepAliveMs: number;
  recheckMs: number;
  retryMs: number;
}

/** One lease and the candidate key on it; ends with the lease. */
class Session {
  readonly ended = new AbortController();
  key = '';
  rev = 0;
  /** Clock time at which the latest keep-alive (or the grant) etcd confirmed was sent. */
  confirmedAt: number;

  constructor(
    readonly leaseId: string,
    sentAt: number,
  ) {
    this.confirmedAt = sentAt;
  }
}

export class EtcdElection implements Election {
  readonly id: string;
  readonly address: string;
  readonly prefix: string;
  private readonly endpoints: readonly string[];
  private readonly client: Etcd3;
  private readonly ownsClient: boolean;
  private readonly ttlSeconds: number;
  private readonly t: Timings;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly tracker: TermTracker;
  private readonly closing = new AbortController();
  private readonly watchers = new Set<Watcher>();
  private readonly revokes = new Set<Promise<void>>();
  /** The session of the running campaign or of the current term. */
  private session: Session | undefined;
  /** Every session whose lease may still be alive (ended on close, whatever happened). */
  private readonly sessions = new Set<Session>();
  private campaigning: { controller: AbortController; done: Promise<unknown> } | undefined;
  private closed = false;

  constructor(opts: EtcdElectionOptions) {
    this.prefix = normalizePrefix(opts.prefix);
    this.address = opts.address;
    this.id = opts.id ?? opts.address;
    this.ttlSeconds = opts.ttlSeconds ?? 10;
    this.t = timings(this.ttlSeconds, opts);
    this.clock = opts.clock ?? monotonicClock;
    this.logger = (opts.logger ?? nopLogger).child({ component: 'election', prefix: this.prefix });
    this.client = opts.client ?? createEtcdClient({ ...opts, callTimeoutMs: this.t.callTimeoutMs });
    this.ownsClient = opts.client === undefined;
    this.tracker = new TermTracker(this.clock, this.logger, (event) => this.termEnded(event));
    this.endpoints = opts.endpoints;
    this.logger.debug('etcd election', {
      endpoints: opts.endpoints.map(redactEndpoint),
      id: this.id,
      ttlSeconds: this.ttlSeconds,
    });
  }

  async campaign(signal?: AbortSignal): Promise<Term> {
    if (this.closed) throw closedError();
    if (signal?.aborted === true) throw abortedError(signal.reason);
    const current = this.tracker.term();
    if (current !== undefined) return current;
    if (this.campaigning !== undefined) throw new InvalidArgumentError('a campaign is already running');
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = this.runCampaign(controller.signal);
    this.campaigning = { controller, done: done.catch(() => undefined) };
    try {
      return await done;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.campaigning = undefined;
    }
  }

  term(): Term | undefined {
    return this.tracker.term();
  }

  isLeader(): boolean {
    return this.tracker.term() !== undefined;
  }

  async fence(): Promise<Term> {
    const term = this.requireTerm();
    await this.fencedTxn();
    const now = this.tracker.term();
    if (now?.epoch !== term.epoch) throw new NotLeaderError(`leadership of epoch ${term.epoch} ended`);
    return term;
  }

  /**
   * A transaction that applies `ops` only while this candidate's term holds (its leader key still
   * exists with the term's create revision): for critical writes to etcd. Rejects with
   * ERR_HA_NOT_LEADER (the term is then ended) or ERR_HA_UNAVAILABLE.
   */
  async fencedTxn(...ops: (IOperation | IRequestOp)[]): Promise<ITxnResponse> {
    const term = this.requireTerm();
    const key = this.session?.key ?? '';
    const res = await etcdCall(UNAVAILABLE, 'fenced transaction', this.t.callTimeoutMs, (o) =>
      this.client
        .if(key, 'Create', '==', term.epoch)
        .then(...ops)
        .options(o)
        .commit(),
    );
    if (!res.succeeded) {
      this.tracker.end('fenced-out', undefined, term.epoch);
      throw new NotLeaderError(`leader key of epoch ${term.epoch} is gone`);
    }
    return res;
  }

  async leader(): Promise<LeaderInfo | undefined> {
    if (this.closed) throw closedError();
    const res = await etcdCall(UNAVAILABLE, 'read leader', this.t.callTimeoutMs, (o) =>
      this.client.getAll().prefix(this.prefix).sort('Create', 'Ascend').limit(1).options(o).exec(),
    );
    const kv = res.kvs[0];
    return kv === undefined ? undefined : leaderFromKv(this.prefix, kv);
  }

  observe(signal?: AbortSignal): AsyncIterableIterator<LeaderInfo | undefined> {
    if (this.closed) throw closedError();
    const all = signal === undefined ? this.closing.signal : AbortSignal.any([signal, this.closing.signal]);
    return this.observeLoop(all);
  }

  onLost(listener: (event: LostEvent) => void): Unsubscribe {
    return this.tracker.onLost(listener);
  }

  async resign(): Promise<void> {
    const pending = this.campaigning;
    pending?.controller.abort(new StrataError('ERR_HA_ABORTED', 'resigned while campaigning'));
    await pending?.done;
    this.tracker.end('resigned');
    await this.settleRevokes();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    const pending = this.campaigning;
    pending?.controller.abort(closedError());
    await pending?.done;
    this.tracker.end('closed');
    for (const session of [...this.sessions]) this.endSession(session, true);
    await this.settleRevokes();
    await Promise.all([...this.watchers].map((w) => this.cancelWatcher(w)));
    if (this.ownsClient) this.client.close();
  }

  // -------------------------------------------------------------------------------------------
  // Campaign

  private async runCampaign(signal: AbortSignal): Promise<Term> {
    let delay = this.t.retryMs;
    for (;;) {
      let session: Session | undefined;
      try {
        session = await this.openSession(signal);
        return await this.waitForElection(session, signal);
      } catch (err) {
        if (session !== undefined) this.endSession(session, true);
        if (signal.aborted) {
          throw signal.reason instanceof StrataError ? signal.reason : abortedError(signal.reason);
        }
        // Refused credentials or permissions: retrying cannot help.
        if (errorCode(err) === 'ERR_ETCD_AUTH') throw withEtcdEndpoints(err, this.endpoints);
        this.logger.warn('campaign attempt failed; retrying', { err: errorMessage(err), retryMs: delay });
        await sleep(delay, signal);
        delay = Math.min(delay * 2, this.t.ttlMs);
      }
    }
  }

  private async openSession(signal: AbortSignal): Promise<Session> {
    const sentAt = this.clock.now();
    const grant = await etcdCall(UNAVAILABLE, 'lease grant', this.t.callTimeoutMs, (o) =>
      this.client.leaseClient.leaseGrant({ TTL: this.ttlSeconds }, o),
    );
    const session = new Session(grant.ID, sentAt);
    this.session = session;
    this.sessions.add(session);
    try {
      if (signal.aborted) throw abortedError(signal.reason);
      void this.keepAliveLoop(session);
      // The key is set before the call: if the call times out after etcd applied it, revoking
      // the lease still removes it.
      session.key = candidateKey(this.prefix, this.id, grant.ID);
      const res = await etcdCall(UNAVAILABLE, 'create candidate key', this.t.callTimeoutMs, (o) =>
        this.client
          .if(session.key, 'Create', '==', 0)
          .then(this.client.put(session.key).value(this.address).lease(grant.ID))
          .else(this.client.get(session.key))
          .options(o)
          .commit(),
      );
      session.rev = res.succeeded
        ? Number(res.header.revision)
        : Number(res.responses[0]?.response_range.kvs[0]?.create_revision ?? 0);
      if (session.rev === 0) {
        throw new StrataError('ERR_HA_UNAVAILABLE', `candidate key ${session.key} not created`);
      }
    } catch (err) {
      // Never leave a lease behind that keeps a key alive nobody campaigns with.
      this.endSession(session, true);
      throw err;
    }
    this.logger.debug('campaigning', { key: session.key, rev: session.rev });
    return session;
  }

  /** Waits until no key created before ours is left; then begins the term. */
  private async waitForElection(session: Session, signal: AbortSignal): Promise<Term> {
    const changes = new Notifier();
    const watcher = this.watchPrefix(changes, session.rev + 1);
    const stop = AbortSignal.any([signal, session.ended.signal]);
    try {
      for (;;) {
        if (signal.aborted) throw abortedError(signal.reason);
        if (session.ended.signal.aborted) {
          throw new StrataError('ERR_HA_UNAVAILABLE', 'lease lost while campaigning');
        }
        const since = changes.current;
        let res: ITxnResponse;
        try {
          res = await etcdCall(UNAVAILABLE, 'election check', this.t.callTimeoutMs, (o) =>
            this.client
              .if(session.key, 'Create', '==', session.rev)
              .then(
                this.client
                  .getAll()
                  .prefix(this.prefix)
                  .maxCreateRevision(session.rev - 1)
                  .sort('Create', 'Descend')
                  .limit(1),
              )
              .options(o)
              .commit(),
          );
        } catch (err) {
          this.logger.debug('election check failed; retrying', { err: errorMessage(err) });
          await changes.wait(since, this.t.retryMs, stop);
          continue;
        }
        if (!res.succeeded) throw new StrataError('ERR_HA_UNAVAILABLE', 'candidate key is gone');
        const before = res.responses[0]?.response_range.kvs ?? [];
        if (before.length === 0) {
          if (this.clock.now() >= this.validUntil(session)) {
            // Our lease is not confirmed fresh enough to act on: confirm it first.
            await this.keepAliveOnce(session).catch(() => 0);
            continue;
          }
          if (signal.aborted) throw abortedError(signal.reason);
          const term = this.tracker.begin(
            { id: this.id, address: this.address, epoch: session.rev },
            this.validUntil(session),
          );
          this.logger.info('elected', { epoch: term.epoch, key: session.key });
          return term;
        }
        await changes.wait(since, this.t.recheckMs, stop);
      }
    } finally {
      void this.cancelWatcher(watcher);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Lease

  private validUntil(session: Session): number {
    return session.confirmedAt + this.t.ttlMs - this.t.marginMs;
  }

  private async keepAliveLoop(session: Session): Promise<void> {
    let failures = 0;
    while (!session.ended.signal.aborted) {
      let delay = this.t.keepAliveMs;
      const started = this.clock.now();
      try {
        const ttl = await this.keepAliveOnce(session);
        if (ttl <= 0) {
          this.sessionLost(session);
          return;
        }
        if (failures > 1) this.logger.info('lease keep-alive recovered', { failures });
        failures = 0;
      } catch (err) {
        if (session.ended.signal.aborted) return;
        failures++;
        // One failure is routine with a member down (etcd3 does not fail a stream over to the
        // next member); two in a row are worth a warning.
        const log = failures === 2 ? this.logger.warn : this.logger.debug;
        log.call(this.logger, 'lease keep-alive failed', {
          err: errorMessage(err),
          failures,
          leaderMsLeft: Math.round(this.tracker.remainingMs()),
        });
        // A refused connection fails at once: try another member right away.
        const fast = this.clock.now() - started < this.t.callTimeoutMs / 2;
        delay = fast && failures < 3 ? 20 : this.t.retryMs;
      }
      await sleep(delay, session.ended.signal);
    }
  }

  /** One keep-alive; returns the TTL etcd reports (0: the lease is gone). */
  private async keepAliveOnce(session: Session): Promise<number> {
    const sentAt = this.clock.now();
    const ttl = await keepAliveOnce(this.client, session.leaseId, UNAVAILABLE, this.t.callTimeoutMs);
    if (ttl > 0 && sentAt > session.confirmedAt) {
      session.confirmedAt = sentAt;
      if (this.session === session) this.tracker.extend(session.rev, this.validUntil(session));
    }
    return ttl;
  }

  private sessionLost(session: Session): void {
    this.logger.warn('lease expired at etcd', { lease: session.leaseId });
    this.endSession(session, false);
    this.tracker.end('lease-lost', undefined, session.rev);
  }

  private termEnded(event: LostEvent): void {
    const s = this.session;
    if (s !== undefined && s.rev === event.epoch) this.endSession(s, true);
  }

  /** Stops keep-alives; with `revoke`, also deletes the key by revoking the lease (in the background). */
  private endSession(session: Session, revoke: boolean): void {
    if (session.ended.signal.aborted) return;
    session.ended.abort();
    this.sessions.delete(session);
    if (this.session === session) this.session = undefined;
    if (!revoke) return;
    const p = etcdCall(UNAVAILABLE, 'lease revoke', this.t.callTimeoutMs, (o) =>
      this.client.leaseClient.leaseRevoke({ ID: session.leaseId }, o),
    ).then(
      () => this.logger.debug('lease revoked', { key: session.key }),
      (err: unknown) =>
        this.logger.warn('could not revoke the lease; it expires within its TTL', {
          err: errorMessage(err),
          ttlSeconds: this.ttlSeconds,
        }),
    );
    this.revokes.add(p);
    void p.finally(() => this.revokes.delete(p));
  }

  private async settleRevokes(): Promise<void> {
    while (this.revokes.size > 0) await Promise.all([...this.revokes]);
  }

  // -------------------------------------------------------------------------------------------
  // Watching

  private async *observeLoop(signal: AbortSignal): AsyncGenerator<LeaderInfo | undefined, void> {
    const changes = new Notifier();
    const watcher = this.watchPrefix(changes);
    try {
      yield* observeLeader({
        read: () => this.leader(),
        changes,
        recheckMs: this.t.recheckMs,
        retryMs: this.t.retryMs,
        logger: this.logger,
        signal,
      });
    } finally {
      await this.cancelWatcher(watcher);
    }
  }

  /** Notifies `changes` on every event under the prefix and on every (re)connection. */
  private watchPrefix(changes: Notifier, startRevision?: number): Watcher {
    let builder = this.client.watch().prefix(this.prefix);
    if (startRevision !== undefined) builder = builder.startRevision(String(startRevision));
    const watcher = builder.watcher();
    const notify = (): void => changes.notify();
    watcher.on('data', notify);
    watcher.on('connected', notify);
    watcher.on('disconnected', notify);
    watcher.on('error', (err) => {
      this.logger.debug('watch failed; relying on re-reads', { err: errorMessage(err) });
      notify();
    });
    this.watchers.add(watcher);
    return watcher;
  }

  private async cancelWatcher(watcher: Watcher): Promise<void> {
    if (!this.watchers.delete(watcher)) return;
    // cancel() waits for etcd's answer, which a stopped member never sends.
    await Promise.race([watcher.cancel().catch(() => undefined), sleep(this.t.callTimeoutMs)]);
  }

  private requireTerm(): Term {
    const term = this.tracker.term();
    if (term !== undefined) return term;
    throw this.closed ? closedError() : new NotLeaderError('not the leader');
  }
}

export function createEtcdElection(opts: EtcdElectionOptions): EtcdElection {
  return new EtcdElection(opts);
}

function timings(ttlSeconds: number, opts: EtcdElectionOptions): Timings {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new InvalidArgumentError(`election TTL must be a whole number of seconds >= 1, got ${ttlSeconds}`);
  }
  const ttlMs = ttlSeconds * 1000;
  const callTimeoutMs = opts.callTimeoutMs ?? Math.min(2000, Math.floor(ttlMs / 4));
  const marginMs = opts.stepDownMarginMs ?? Math.max(500, Math.floor(ttlMs / 5));
  const keepAliveMs = opts.keepAliveIntervalMs ?? Math.floor(ttlMs / 3);
  const recheckMs = opts.recheckIntervalMs ?? Math.min(5000, Math.floor(ttlMs / 2));
  const retryMs = Math.min(500, keepAliveMs);
  for (const [name, v] of Object.entries({ callTimeoutMs, marginMs, keepAliveMs, recheckMs })) {
    if (!Number.isFinite(v) || v <= 0)
      throw new InvalidArgumentError(`election ${name} must be > 0, got ${v}`);
  }
  // A keep-alive that times out must leave room for a retry before the leader steps down.
  if (keepAliveMs + callTimeoutMs + retryMs >= ttlMs - marginMs) {
    throw new InvalidArgumentError(
      `election timings: keep-alive interval ${keepAliveMs} ms + call timeout ${callTimeoutMs} ms + retry ` +
        `${retryMs} ms must stay under TTL ${ttlMs} ms - step-down margin ${marginMs} ms`,
    );
  }
  return { ttlMs, callTimeoutMs, marginMs, keepAliveMs, recheckMs, retryMs };
}

function closedError(): StrataError {
  return new StrataError('ERR_HA_CLOSED', 'election is closed');
}

function abortedError(reason: unknown): StrataError {
  if (reason instanceof StrataError) return reason;
  return new StrataError('ERR_HA_ABORTED', 'campaign aborted', { cause: reason });
}
