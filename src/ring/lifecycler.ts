/**
 * The write side of the ring for one instance (Cortex's `ring.Lifecycler` as the compactor uses
 * it): register with tokens (JOINING, then ACTIVE), heartbeat by CAS, auto-forget members whose
 * heartbeat is long gone, and on a clean stop go LEAVING and remove the entry.
 *
 * Restarting under the same instance ID reuses the tokens the ring still holds for it (so its
 * tenants stay put), as Cortex does. Two *live* processes under one ID would silently share one
 * entry, so each process first claims the ID: a key `<claimPrefix><ring key>/<id>` on an etcd
 * lease it keeps alive with every heartbeat. A start that finds the ID claimed waits for the
 * claim to lapse (an earlier run that died leaves it for at most one TTL) and otherwise refuses
 * with ERR_RING_INSTANCE_ID_IN_USE. The claim lives outside Cortex's prefix and format, so Cortex
 * never sees it; a Cortex process reusing a Strata ID is caught later, when a heartbeat finds
 * other tokens in the entry.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { StrataError, codeChain, errorMessage } from '../util/errors.js';
import { nopLogger, type Logger } from '../util/logger.js';
import { newRingDesc } from './codec.js';
import type { KvClaim, RingKv } from './kv.js';
import type { RingMetrics } from './metrics.js';
import {
  InstanceState,
  autoForget,
  instanceEntry,
  nowSeconds,
  putInstance,
  removeInstance,
  sameTokens,
  stateName,
  systemClock,
  type Desc,
  type WallClock,
} from './model.js';
import { abortedError, retryWhileUnavailable, sleep } from './retry.js';
import { DEFAULT_NUM_TOKENS, cryptoRandomUint32, generateTokens, type RandomUint32 } from './tokens.js';

/** Where instances claim their ID (`<prefix><ring key>/<instance>`), unless told otherwise. */
export const CLAIM_PREFIX = 'strata-ring-claims/';

export interface LifecyclerOptions {
  kv: RingKv<Desc>;
  /** `<prefix><ring name>`, e.g. `collectors/compactor`. */
  ringKey: string;
  instanceId: string;
  /** Published as the entry's `addr` (host:port other components reach this instance at). */
  instanceAddr: string;
  zone?: string;
  /** Default 512, as Cortex's compactor. */
  numTokens?: number;
  /** Default 5 s. */
  heartbeatPeriodMs?: number;
  /** Default 1 minute; only used to derive the auto-forget default. */
  heartbeatTimeoutMs?: number;
  /** Forget others whose heartbeat is older (default 2 × heartbeat timeout; 0 disables). */
  autoForgetDelayMs?: number;
  /** Default `strata-ring-claims/`. */
  claimPrefix?: string;
  /** Default max(5, 3 × heartbeat period) seconds. */
  claimTtlSeconds?: number;
  /** How long start() retries while etcd is unreachable (default 60 s). */
  startTimeoutMs?: number;
  clock?: WallClock;
  logger?: Logger;
  random?: RandomUint32;
  metrics?: RingMetrics;
}

export type LifecyclerPhase = 'new' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

type WriteMode = 'register' | 'heartbeat' | 'leave';

export class Lifecycler {
  readonly instanceId: string;
  readonly instanceAddr: string;
  readonly zone: string;
  readonly ringKey: string;
  readonly claimKey: string;
  private readonly kv: RingKv<Desc>;
  private readonly numTokens: number;
  private readonly periodMs: number;
  private readonly forgetMs: number;
  private readonly claimTtl: number;
  private readonly startTimeoutMs: number;
  private readonly clock: WallClock;
  private readonly logger: Logger;
  private readonly random: RandomUint32;
  private readonly metrics: RingMetrics | undefined;
  private readonly holder: string;
  private readonly fatalListeners = new Set<(err: Error) => void>();
  private phaseNow: LifecyclerPhase = 'new';
  private stateNow: InstanceState = InstanceState.PENDING;
  private tokenList: number[] = [];
  private failures = 0;
  private claim: KvClaim | undefined;
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  /** Aborted by stop(): ends a start still in progress. */
  private readonly halt = new AbortController();
  private starting: Promise<unknown> | undefined;

  constructor(opts: LifecyclerOptions) {
    if (opts.instanceId === '' || opts.instanceId === '__proto__') {
      throw new StrataError('ERR_INVALID_ARGUMENT', `ring instance ID "${opts.instanceId}" is not usable`);
    }
    this.kv = opts.kv;
    this.ringKey = opts.ringKey;
    this.instanceId = opts.instanceId;
    this.instanceAddr = opts.instanceAddr;
    this.zone = opts.zone ?? '';
    this.numTokens = opts.numTokens ?? DEFAULT_NUM_TOKENS;
    this.periodMs = opts.heartbeatPeriodMs ?? 5000;
    this.forgetMs = opts.autoForgetDelayMs ?? 2 * (opts.heartbeatTimeoutMs ?? 60_000);
    this.claimTtl = opts.claimTtlSeconds ?? Math.max(5, Math.ceil((3 * this.periodMs) / 1000));
    this.claimKey = `${opts.claimPrefix ?? CLAIM_PREFIX}${opts.ringKey}/${opts.instanceId}`;
    this.startTimeoutMs = opts.startTimeoutMs ?? 60_000;
    this.clock = opts.clock ?? systemClock;
    this.logger = (opts.logger ?? nopLogger).child({ component: 'ring', instance: opts.instanceId });
    this.random = opts.random ?? cryptoRandomUint32();
    this.metrics = opts.metrics;
    this.holder = JSON.stringify({
      id: opts.instanceId,
      addr: opts.instanceAddr,
      host: hostname(),
      pid: process.pid,
      nonce: randomBytes(8).toString('hex'),
      since: new Date(this.clock.now()).toISOString(),
    });
  }

  get phase(): LifecyclerPhase {
    return this.phaseNow;
  }

  /** The state this instance last wrote (PENDING before registration). */
  get state(): InstanceState {
    return this.stateNow;
  }

  get tokens(): readonly number[] {
    return this.tokenList;
  }

  get heartbeatFailures(): number {
    return this.failures;
  }

  /** Called once if the instance must stop (its ID taken by another process). */
  onFatal(listener: (err: Error) => void): () => void {
    this.fatalListeners.add(listener);
    return () => this.fatalListeners.delete(listener);
  }

  /**
   * Claims the instance ID, registers JOINING with tokens, turns ACTIVE and starts heartbeating.
   * Rejects with ERR_RING_INSTANCE_ID_IN_USE, ERR_RING_UNAVAILABLE (after the start timeout),
   * ERR_RING_CORRUPT or ERR_RING_ABORTED; nothing is left claimed then.
   */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.phaseNow !== 'new') throw new StrataError('ERR_RING_CLOSED', `lifecycler is ${this.phaseNow}`);
    this.phaseNow = 'starting';
    const run = this.register(
      signal === undefined ? this.halt.signal : AbortSignal.any([signal, this.halt.signal]),
    );
    this.starting = run.catch(() => undefined);
    await run;
  }

  /** One heartbeat now (the loop calls it every period); failures are counted, not thrown. */
  async heartbeat(): Promise<void> {
    if (this.phaseNow !== 'running') return;
    try {
      await this.keepClaim();
      await this.write('heartbeat', this.stateNow);
    } catch (err) {
      this.failures++;
      this.metrics?.heartbeatFailures.inc();
      if (codeChain(err).includes('ERR_RING_INSTANCE_ID_IN_USE')) return this.fail(err);
      this.logger.warn('ring heartbeat failed', { err: errorMessage(err), failures: this.failures });
    }
  }

  /**
   * LEAVING, then removes the entry and releases the ID; a start still running is aborted (and
   * undoes its registration). Errors are logged: the entry then ages out.
   */
  async stop(): Promise<void> {
    this.halt.abort(new StrataError('ERR_RING_CLOSED', 'lifecycler stopped'));
    await this.starting;
    if (this.phaseNow === 'running') {
      this.phaseNow = 'stopping';
      clearTimeout(this.timer);
      await this.beating;
      await this.leave(true);
    }
    clearTimeout(this.timer);
    if (this.phaseNow !== 'failed') this.phaseNow = 'stopped';
    await this.claim?.release();
    this.claim = undefined;
  }

  /** Removes instance `id` from the ring (the ring page's Forget). True if it was there. */
  forget(id: string): Promise<boolean> {
    return forgetInstance(this.kv, this.ringKey, id);
  }

  private async register(signal: AbortSignal): Promise<void> {
    const retry = { timeoutMs: this.startTimeoutMs, logger: this.logger, signal };
    let registered = false;
    try {
      this.claim = await this.acquireClaim(signal);
      await retryWhileUnavailable(
        'register in the ring',
        () => this.write('register', InstanceState.JOINING),
        retry,
      );
      registered = true;
      await retryWhileUnavailable(
        'activate in the ring',
        () => this.write('heartbeat', InstanceState.ACTIVE),
        retry,
      );
      if (signal.aborted) throw abortedError(signal.reason);
    } catch (err) {
      this.phaseNow = 'stopped';
      if (registered) await this.leave(false);
      await this.claim?.release();
      this.claim = undefined;
      throw err;
    }
    this.phaseNow = 'running';
    this.logger.info('ring: instance ACTIVE', { key: this.ringKey, tokens: this.tokenList.length });
    this.scheduleHeartbeat();
  }

  /** Removes the own entry (LEAVING first when `announce`); logs failures. */
  private async leave(announce: boolean): Promise<void> {
    try {
      if (announce) await this.write('leave', InstanceState.LEAVING);
      await this.kv.cas(this.ringKey, (desc) => this.removeOwn(desc));
      this.logger.info('ring: left the ring', { key: this.ringKey });
    } catch (err) {
      this.logger.warn('could not leave the ring cleanly; the entry will be auto-forgotten', {
        err: errorMessage(err),
      });
    }
  }

  private scheduleHeartbeat(): void {
    if (this.phaseNow !== 'running' || this.periodMs <= 0) return;
    this.timer = setTimeout(() => {
      this.beating = this.heartbeat().finally(() => {
        this.beating = undefined;
        this.scheduleHeartbeat();
      });
    }, this.periodMs);
  }

  private async write(mode: WriteMode, state: InstanceState): Promise<void> {
    let forgotten: string[] = [];
    let readded = false;
    await this.kv.cas(this.ringKey, (current) => {
      const desc = current ?? newRingDesc();
      const existing = instanceEntry(desc, this.instanceId);
      const nowMs = this.clock.now();
      if (mode === 'register') this.tokenList = this.registrationTokens(desc);
      else if (existing === undefined) {
        if (mode === 'leave') return undefined;
        readded = true;
      } else if (existing.tokens.length > 0 && !sameTokens(existing.tokens, this.tokenList)) {
        throw new StrataError(
          'ERR_RING_INSTANCE_ID_IN_USE',
          `ring entry "${this.instanceId}" in ${this.ringKey} holds tokens this process did not register: ` +
            'another process writes under the same instance ID',
        );
      }
      putInstance(desc, this.instanceId, {
        addr: this.instanceAddr,
        zone: this.zone,
        state,
        tokens: this.tokenList,
        heartbeatSec: Math.floor(nowMs / 1000),
        registeredSec: nowSeconds(this.clock),
      });
      forgotten = mode === 'leave' ? [] : autoForget(desc, nowMs, this.forgetMs, this.instanceId);
      return desc;
    });
    if (readded) this.logger.warn('ring: own entry was missing (forgotten?); registered again');
    for (const id of forgotten) {
      this.logger.warn('ring: auto-forgot an instance whose heartbeat is too old', {
        forgotten: id,
        forgetDelayMs: this.forgetMs,
      });
    }
    if (this.stateNow !== state) this.logger.debug('ring: state', { state: stateName(state) });
    this.stateNow = state;
  }

  /** Tokens the ring holds for this ID (an earlier run), topped up to numTokens, or new ones. */
  private registrationTokens(desc: Desc): number[] {
    const own = instanceEntry(desc, this.instanceId);
    const mine = [...new Set((own?.tokens ?? []).map((t) => t >>> 0))];
    const taken: number[] = [];
    for (const [id, d] of Object.entries(desc.ingesters)) if (id !== this.instanceId) taken.push(...d.tokens);
    if (mine.length > 0) {
      this.logger.info('ring: found this instance from an earlier run; reusing its tokens', {
        tokens: mine.length,
        state: stateName(own!.state),
      });
    }
    const extra = mine.length < this.numTokens ? this.numTokens - mine.length : 0;
    const added = generateTokens(extra, [...taken, ...mine], this.random);
    return [...mine, ...added].sort((a, b) => a - b);
  }

  private removeOwn(desc: Desc | undefined): Desc | undefined {
    if (desc === undefined) return undefined;
    const own = instanceEntry(desc, this.instanceId);
    if (own === undefined || !sameTokens(own.tokens, this.tokenList)) return undefined;
    removeInstance(desc, this.instanceId);
    return desc;
  }

  private async acquireClaim(signal: AbortSignal | undefined): Promise<KvClaim> {
    const waitMs = this.claimTtl * 1000 + 2000;
    const started = performance.now();
    const retry = { timeoutMs: this.startTimeoutMs, logger: this.logger, ...(signal ? { signal } : {}) };
    for (let logged = false; ; logged = true) {
      const outcome = await retryWhileUnavailable(
        'claim the instance ID',
        () => this.kv.claim(this.claimKey, this.holder, this.claimTtl),
        retry,
      );
      if (outcome.ok) return outcome.claim;
      if (performance.now() - started > waitMs) {
        throw new StrataError(
          'ERR_RING_INSTANCE_ID_IN_USE',
          `ring instance ID "${this.instanceId}" is in use by another live process (${outcome.holder}): ` +
            `its claim ${this.claimKey} stayed alive for ${Math.round(waitMs / 1000)} s. ` +
            'Give every instance its own instance ID.',
        );
      }
      if (!logged) {
        this.logger.info('ring: instance ID claimed by another process; waiting for the claim to lapse', {
          holder: outcome.holder,
          waitMs,
        });
      }
      await sleep(Math.min(1000, waitMs / 4), signal);
    }
  }

  /** Keeps the ID claim alive; re-claims a lapsed one, unless someone else took it meanwhile. */
  private async keepClaim(): Promise<void> {
    if (this.claim !== undefined && (await this.claim.keepAlive())) return;
    const outcome = await this.kv.claim(this.claimKey, this.holder, this.claimTtl);
    if (!outcome.ok) {
      throw new StrataError(
        'ERR_RING_INSTANCE_ID_IN_USE',
        `ring instance ID "${this.instanceId}" was claimed by another process (${outcome.holder}) ` +
          'while this one could not reach etcd',
      );
    }
    this.logger.warn('ring: the instance ID claim had lapsed; claimed again');
    this.claim = outcome.claim;
  }

  private fail(err: unknown): void {
    this.phaseNow = 'failed';
    clearTimeout(this.timer);
    const e = err instanceof Error ? err : new Error(String(err));
    this.logger.error('ring: stopping heartbeats', { err: e.message });
    for (const l of [...this.fatalListeners]) l(e);
  }
}

/** Removes instance `id` from the ring at `key`; true if it was there. */
export async function forgetInstance(kv: RingKv<Desc>, key: string, id: string): Promise<boolean> {
  const res = await kv.cas(key, (desc) =>
    desc !== undefined && removeInstance(desc, id) ? desc : undefined,
  );
  return res.written;
}
