/**
 * RingKv on etcd, as Cortex's etcd KV client (pkg/ring/kv/etcd/etcd.go) does it: the value under
 * one key, read-modify-write in a transaction that only applies if the key did not change since
 * the read, retried up to 10 times.
 *
 * Cortex compares the key's `version` (number of writes since creation, 0 when absent). Strata
 * compares `mod_revision` (0 when absent): it never repeats, even across a delete and re-create
 * that brings `version` back to the same number. Both are atomic on the same key, so Cortex and
 * Strata writers exclude each other all the same.
 *
 * A value that does not decode is never overwritten: CAS fails with ERR_RING_CORRUPT naming the
 * key (a garbage value may be a format this code does not know, holding other members). To
 * repair, delete the key (`etcdctl del <key>`): every lifecycler re-registers on its next
 * heartbeat.
 */
import type { Etcd3, IKeyValue, IRangeResponse, Watcher } from 'etcd3';
import {
  createEtcdClient,
  etcdCall,
  keepAliveOnce,
  type EtcdAuth,
  type EtcdTls,
} from '../util/etcd-client.js';
import { StrataError, errorMessage } from '../util/errors.js';
import { nopLogger, type Logger } from '../util/logger.js';
import type { ValueCodec } from './codec.js';
import type { CasResult, CasUpdate, ClaimOutcome, KvClaim, KvWatch, KvWatchHandlers, RingKv } from './kv.js';

const UNAVAILABLE = 'ERR_RING_UNAVAILABLE';

export interface EtcdKvOptions<T> {
  codec: ValueCodec<T>;
  /** One entry per member; ignored when `client` is given. */
  endpoints?: readonly string[];
  /** Use this client; close() then leaves it open. */
  client?: Etcd3;
  /** Deadline of every etcd call (default 2000 ms). */
  callTimeoutMs?: number;
  /** CAS attempts before ERR_RING_CONFLICT (default 10, as Cortex's `etcd.max-retries`). */
  maxCasAttempts?: number;
  auth?: EtcdAuth;
  tls?: EtcdTls;
  logger?: Logger;
}

interface Read<T> {
  value: T | undefined;
  /** mod_revision of the key; "0" when absent. */
  rev: string;
}

export class EtcdKv<T> implements RingKv<T> {
  private readonly client: Etcd3;
  private readonly ownsClient: boolean;
  private readonly codec: ValueCodec<T>;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly logger: Logger;
  private readonly watches = new Set<KvWatch>();

  constructor(opts: EtcdKvOptions<T>) {
    this.codec = opts.codec;
    this.timeoutMs = opts.callTimeoutMs ?? 2000;
    this.maxAttempts = Math.max(1, opts.maxCasAttempts ?? 10);
    this.logger = (opts.logger ?? nopLogger).child({ component: 'ring-kv' });
    if (opts.client !== undefined) {
      this.client = opts.client;
      this.ownsClient = false;
    } else {
      this.client = createEtcdClient({
        endpoints: opts.endpoints ?? [],
        callTimeoutMs: this.timeoutMs,
        ...(opts.auth !== undefined ? { auth: opts.auth } : {}),
        ...(opts.tls !== undefined ? { tls: opts.tls } : {}),
      });
      this.ownsClient = true;
    }
  }

  async get(key: string): Promise<T | undefined> {
    return (await this.read(key)).value;
  }

  async cas(key: string, update: CasUpdate<T>): Promise<CasResult<T>> {
    let cur = await this.read(key);
    for (let attempt = 1; ; attempt++) {
      const next = update(cur.value);
      if (next === undefined) return { written: false, value: cur.value, conflicts: attempt - 1 };
      const bytes = Buffer.from(this.codec.encode(next));
      const res = await etcdCall(UNAVAILABLE, `compare-and-swap ${key}`, this.timeoutMs, (o) =>
        this.client
          .if(key, 'Mod', '==', cur.rev)
          .then(this.client.put(key).value(bytes))
          .else(this.client.get(key))
          .options(o)
          .commit(),
      );
      if (res.succeeded) return { written: true, value: next, conflicts: attempt - 1 };
      this.logger.debug('ring CAS conflict', { key, attempt });
      if (attempt >= this.maxAttempts) {
        throw new StrataError(
          'ERR_RING_CONFLICT',
          `ring key "${key}": compare-and-swap lost to other writers ${attempt} times in a row`,
        );
      }
      // The failed transaction already read the current value: no second round trip.
      cur = this.decodeRange(key, res.responses[0]?.response_range);
      // Full jitter, growing: writers that keep colliding spread apart.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(250, 5 * 2 ** attempt)));
    }
  }

  watch(key: string, handlers: KvWatchHandlers<T>): KvWatch {
    let closed = false;
    let watcher: Watcher | undefined;
    const onKv = (kv: IKeyValue): void => {
      try {
        handlers.value(this.codec.decode(kv.value, key));
      } catch (err) {
        handlers.error(err instanceof Error ? err : new Error(String(err)));
      }
    };
    const pending = this.client
      .watch()
      .key(key)
      .create()
      .then((w) => {
        watcher = w;
        if (closed) return void w.cancel().catch(() => undefined);
        w.on('put', onKv);
        w.on('delete', () => handlers.value(undefined));
        w.on('disconnected', (err) => handlers.error(unavailable(`watch ${key} disconnected`, err)));
        w.on('error', (err) => handlers.error(unavailable(`watch ${key} failed`, err)));
      })
      .catch((err: unknown) => handlers.error(unavailable(`watch ${key} not started`, err)));
    const handle: KvWatch = {
      close: async () => {
        closed = true;
        this.watches.delete(handle);
        // Do not wait for a watch that never connected (etcd down): cancel it once it does.
        await Promise.race([pending, new Promise((r) => setTimeout(r, 50))]);
        await watcher?.cancel().catch(() => undefined);
      },
    };
    this.watches.add(handle);
    return handle;
  }

  async claim(key: string, holder: string, ttlSeconds: number): Promise<ClaimOutcome> {
    const grant = await etcdCall(UNAVAILABLE, 'lease grant', this.timeoutMs, (o) =>
      this.client.leaseClient.leaseGrant({ TTL: Math.max(1, Math.ceil(ttlSeconds)) }, o),
    );
    const leaseId = grant.ID;
    try {
      const res = await etcdCall(UNAVAILABLE, `claim ${key}`, this.timeoutMs, (o) =>
        this.client
          .if(key, 'Create', '==', 0)
          .then(this.client.put(key).value(holder).lease(leaseId))
          .else(this.client.get(key))
          .options(o)
          .commit(),
      );
      if (!res.succeeded) {
        await this.revoke(leaseId);
        const kv = res.responses[0]?.response_range.kvs[0];
        return { ok: false, holder: kv === undefined ? '' : kv.value.toString('utf8') };
      }
    } catch (err) {
      // The put may have applied before the deadline hit: never leave the key behind.
      await this.revoke(leaseId);
      throw err;
    }
    return { ok: true, claim: this.claimHandle(key, leaseId) };
  }

  async close(): Promise<void> {
    await Promise.all([...this.watches].map((w) => w.close()));
    if (this.ownsClient) this.client.close();
  }

  private claimHandle(key: string, leaseId: string): KvClaim {
    return {
      key,
      keepAlive: async () => (await keepAliveOnce(this.client, leaseId, UNAVAILABLE, this.timeoutMs)) > 0,
      release: () => this.revoke(leaseId),
    };
  }

  private async revoke(leaseId: string): Promise<void> {
    try {
      await etcdCall(UNAVAILABLE, 'lease revoke', this.timeoutMs, (o) =>
        this.client.leaseClient.leaseRevoke({ ID: leaseId }, o),
      );
    } catch (err) {
      this.logger.warn('could not revoke a lease; it expires within its TTL', { err: errorMessage(err) });
    }
  }

  private async read(key: string): Promise<Read<T>> {
    const res = await etcdCall(UNAVAILABLE, `get ${key}`, this.timeoutMs, (o) =>
      this.client.get(key).options(o).exec(),
    );
    return this.decodeRange(key, res);
  }

  private decodeRange(key: string, res: IRangeResponse | undefined): Read<T> {
    const kv = res?.kvs[0];
    if (kv === undefined) return { value: undefined, rev: '0' };
    return { value: this.codec.decode(kv.value, key), rev: kv.mod_revision };
  }
}

function unavailable(what: string, cause: unknown): StrataError {
  return new StrataError(UNAVAILABLE, `etcd ${what}: ${errorMessage(cause)}`, { cause });
}
