/** Helpers of the ring tests that talk to etcd. */
import { ringDescCodec } from '../../src/ring/codec.js';
import { EtcdKv } from '../../src/ring/etcd-kv.js';
import type {
  CasResult,
  CasUpdate,
  ClaimOutcome,
  KvClaim,
  KvWatch,
  KvWatchHandlers,
  RingKv,
} from '../../src/ring/kv.js';
import { Lifecycler, type LifecyclerOptions } from '../../src/ring/lifecycler.js';
import type { Desc } from '../../src/ring/model.js';
import { StrataError } from '../../src/util/errors.js';
import { createLogger, nopLogger, type Logger } from '../../src/util/logger.js';

// STRATA_TEST_LOG=1 prints the ring's logs.
export const testLogger: Logger = process.env.STRATA_TEST_LOG ? createLogger({ level: 'debug' }) : nopLogger;

let keys = 0;

/** A ring key of its own for every test: `<test prefix>/collectors/<name>`. */
export function freshRingKey(name = 'compactor'): string {
  return `/strata-test/${process.pid}/ring-${Date.now()}-${++keys}/collectors/${name}`;
}

/** Closes everything a test file made, in afterAll. */
export class Closer {
  private readonly items: (() => Promise<void>)[] = [];

  add(close: () => Promise<void>): void {
    this.items.push(close);
  }

  async closeAll(): Promise<void> {
    for (const c of this.items.reverse()) await c().catch(() => undefined);
    this.items.length = 0;
  }
}

export function etcdKv(closer: Closer, endpoints: readonly string[], callTimeoutMs = 2000): EtcdKv<Desc> {
  const kv = new EtcdKv<Desc>({ codec: ringDescCodec, endpoints, callTimeoutMs, logger: testLogger });
  closer.add(() => kv.close());
  return kv;
}

/** A lifecycler with test timings (fast heartbeats, small token count unless given). */
export function lifecycler(
  closer: Closer,
  opts: Partial<LifecyclerOptions> & Pick<LifecyclerOptions, 'kv' | 'ringKey' | 'instanceId'>,
): Lifecycler {
  const l = new Lifecycler({
    instanceAddr: `${opts.instanceId}:9095`,
    heartbeatPeriodMs: 200,
    heartbeatTimeoutMs: 2000,
    claimTtlSeconds: 2,
    startTimeoutMs: 10_000,
    logger: testLogger.child({ test: opts.instanceId }),
    ...opts,
  });
  closer.add(() => l.stop());
  return l;
}

/**
 * A RingKv that can be cut off, as if its process froze or lost the network: every call then
 * fails with ERR_RING_UNAVAILABLE and nothing reaches etcd (claims lapse, heartbeats stop). With
 * `watch: false`, watches never deliver (to exercise the polling fallback).
 */
export class CutKv implements RingKv<Desc> {
  cut = false;

  constructor(
    private readonly inner: RingKv<Desc>,
    private readonly opts: { watch: boolean } = { watch: true },
  ) {}

  private check(): void {
    if (this.cut) throw new StrataError('ERR_RING_UNAVAILABLE', 'etcd cut off by the test');
  }

  async get(key: string): Promise<Desc | undefined> {
    this.check();
    return this.inner.get(key);
  }

  async cas(key: string, update: CasUpdate<Desc>): Promise<CasResult<Desc>> {
    this.check();
    return this.inner.cas(key, update);
  }

  watch(key: string, handlers: KvWatchHandlers<Desc>): KvWatch {
    if (!this.opts.watch) return { close: async () => {} };
    return this.inner.watch(key, {
      value: (v) => {
        if (!this.cut) handlers.value(v);
      },
      error: (e) => handlers.error(e),
    });
  }

  async claim(key: string, holder: string, ttlSeconds: number): Promise<ClaimOutcome> {
    this.check();
    const out = await this.inner.claim(key, holder, ttlSeconds);
    if (!out.ok) return out;
    const inner = out.claim;
    const claim: KvClaim = {
      key,
      keepAlive: async () => {
        this.check();
        return inner.keepAlive();
      },
      release: async () => {
        if (!this.cut) await inner.release();
      },
    };
    return { ok: true, claim };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
