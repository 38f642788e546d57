/**
 * The read side of the ring (Cortex's `ring.Ring`): a local copy of the descriptor kept fresh by
 * a watch on the key, with a periodic re-read as a fallback (a watch can stall silently behind a
 * broken connection) and to re-judge health as heartbeats age. Listeners hear about every change
 * of ownership: healthy members, their tokens, addresses or zones.
 *
 * A value that stops decoding does not replace the last good copy: it is logged and reported by
 * error() until the key is repaired.
 */
import { errorMessage } from '../util/errors.js';
import { nopLogger, type Logger } from '../util/logger.js';
import type { KvWatch, RingKv } from './kv.js';
import type { RingMetrics } from './metrics.js';
import { observeMembers } from './metrics.js';
import { instancesOf, systemClock, type Desc, type WallClock } from './model.js';
import { retryWhileUnavailable } from './retry.js';
import { HashRing } from './ring.js';

export interface RingClientOptions {
  kv: RingKv<Desc>;
  /** `<prefix><ring name>`, e.g. `collectors/compactor`. */
  key: string;
  /** Default 1 minute (Cortex's `-compactor.ring.heartbeat-timeout`). */
  heartbeatTimeoutMs?: number;
  /** Re-read the key and re-judge health this often (default 5 s). */
  pollIntervalMs?: number;
  clock?: WallClock;
  logger?: Logger;
  metrics?: RingMetrics;
}

export interface RingClientStartOptions {
  /** How long to retry while etcd is unreachable (default 60 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export type RingListener = (ring: HashRing) => void;

export class RingClient {
  readonly key: string;
  readonly heartbeatTimeoutMs: number;
  private readonly kv: RingKv<Desc>;
  private readonly pollMs: number;
  private readonly clock: WallClock;
  private readonly logger: Logger;
  private readonly metrics: RingMetrics | undefined;
  private readonly listeners = new Set<RingListener>();
  private desc: Desc | undefined;
  private topology: string | undefined;
  private lastError: Error | undefined;
  /** Counts applied values: a re-read that a watch event overtook is dropped. */
  private applied = 0;
  private watchHandle: KvWatch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(opts: RingClientOptions) {
    this.kv = opts.kv;
    this.key = opts.key;
    this.heartbeatTimeoutMs = opts.heartbeatTimeoutMs ?? 60_000;
    this.pollMs = opts.pollIntervalMs ?? 5000;
    this.clock = opts.clock ?? systemClock;
    this.logger = (opts.logger ?? nopLogger).child({ component: 'ring-client', key: opts.key });
    this.metrics = opts.metrics;
  }

  /**
   * Reads the key (retrying while etcd is unreachable), then watches it. Rejects with
   * ERR_RING_UNAVAILABLE after the timeout, or ERR_RING_CORRUPT when the value does not decode.
   */
  async start(opts: RingClientStartOptions = {}): Promise<void> {
    const desc = await retryWhileUnavailable('read the ring', () => this.kv.get(this.key), {
      timeoutMs: opts.timeoutMs ?? 60_000,
      logger: this.logger,
      ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
    });
    this.apply(desc);
    if (this.stopped) return;
    this.watchHandle = this.kv.watch(this.key, {
      value: (d) => this.apply(d),
      error: (err) => this.failed('ring watch', err),
    });
    this.schedulePoll();
  }

  /** The ring as of `nowMs` (default: now), from the latest good copy. */
  ring(nowMs: number = this.clock.now()): HashRing {
    const instances = this.desc === undefined ? [] : instancesOf(this.desc);
    return new HashRing(instances, { nowMs, heartbeatTimeoutMs: this.heartbeatTimeoutMs });
  }

  /** The latest good descriptor (do not modify it). */
  descriptor(): Desc | undefined {
    return this.desc;
  }

  /** The latest failure to read or decode the key, cleared by the next good read. */
  error(): Error | undefined {
    return this.lastError;
  }

  /** The ownership fingerprint now (see HashRing.topologyKey): what stability waits on. */
  topologyKey(): string {
    return this.ring().topologyKey();
  }

  /** Called after every change of ownership; returns the unsubscribe function. */
  onChange(listener: RingListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Re-reads the key now. */
  async refresh(): Promise<void> {
    const before = this.applied;
    try {
      const desc = await this.kv.get(this.key);
      if (this.applied === before) this.apply(desc);
    } catch (err) {
      this.failed('ring read', err);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.watchHandle?.close();
    this.watchHandle = undefined;
  }

  private schedulePoll(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.refresh().finally(() => this.schedulePoll());
    }, this.pollMs);
  }

  private apply(desc: Desc | undefined): void {
    this.applied++;
    this.desc = desc;
    this.lastError = undefined;
    this.check();
  }

  private failed(what: string, err: unknown): void {
    this.lastError = err instanceof Error ? err : new Error(String(err));
    this.logger.error(`${what} failed; keeping the last good ring`, { err: errorMessage(err) });
    this.check();
  }

  /** Notifies listeners when the ownership fingerprint moved (also when only time passed). */
  private check(): void {
    const ring = this.ring();
    if (this.metrics !== undefined) observeMembers(this.metrics, ring);
    const topology = ring.topologyKey();
    if (topology === this.topology) return;
    const first = this.topology === undefined;
    this.topology = topology;
    if (!first) this.metrics?.reshards.inc();
    for (const listener of [...this.listeners]) {
      try {
        listener(ring);
      } catch (err) {
        this.logger.error('ring listener failed', { err: errorMessage(err) });
      }
    }
  }
}
