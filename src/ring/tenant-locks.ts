/**
 * Exclusive holds on tenants, so two instances never work on one tenant at the same time while
 * the ring reshards (Cortex only makes that unlikely). Every held tenant is a key
 * `<prefix><tenant>` whose value names the holder, all attached to one etcd lease of this process:
 * a process that dies loses every hold when its lease expires (one TTL), and a new owner cannot
 * take a tenant before that. A process that cannot renew its lease must stop working before etcd
 * can expire it: `signal` aborts once half the TTL has passed since the last renewal was sent
 * (etcd counts the TTL from no earlier than that), so a cut-off holder stops first.
 */
import { EtcdLeaseInvalidError, type Etcd3 } from 'etcd3';
import { etcdCall, keepAliveOnce } from '../util/etcd-client.js';
import { StrataError, causeChain, errorMessage } from '../util/errors.js';
import { nopLogger, type Logger } from '../util/logger.js';

const UNAVAILABLE = 'ERR_RING_UNAVAILABLE';

/** etcd answered that the lease does not exist (expired or revoked). */
function isLeaseGone(err: unknown): boolean {
  for (const e of causeChain(err)) {
    if (e instanceof EtcdLeaseInvalidError) return true;
  }
  return false;
}

export interface TenantLocksOptions {
  client: Etcd3;
  /** Keys are `<prefix><tenant>`, e.g. `strata-tenant-locks/collectors/compactor/`. */
  prefix: string;
  /** The value of every key: who holds it (instance ID, host, pid, a nonce). */
  holder: string;
  /** Lease TTL in seconds (default 10). */
  ttlSeconds?: number;
  /** Deadline of every etcd call (default 2000 ms). */
  callTimeoutMs?: number;
  logger?: Logger;
  now?: () => number;
}

export type HoldOutcome = { held: true } | { held: false; holder: string };

export class TenantLocks {
  private readonly client: Etcd3;
  private readonly prefix: string;
  private readonly holder: string;
  private readonly ttlSeconds: number;
  private readonly timeoutMs: number;
  private readonly logger: Logger;
  private readonly now: () => number;
  /** Held tenants and when each was taken. */
  private readonly holds = new Map<string, number>();
  private lease: string | undefined;
  private renewedSentAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private lostCtl = new AbortController();

  constructor(o: TenantLocksOptions) {
    this.client = o.client;
    this.prefix = o.prefix;
    this.holder = o.holder;
    this.ttlSeconds = Math.max(2, Math.ceil(o.ttlSeconds ?? 10));
    this.timeoutMs = o.callTimeoutMs ?? 2000;
    this.logger = (o.logger ?? nopLogger).child({ component: 'tenant-locks' });
    this.now = o.now ?? Date.now;
  }

  /** Aborted when the lease is lost or cannot be confirmed in time: every hold is gone. */
  get signal(): AbortSignal {
    return this.lostCtl.signal;
  }

  /** Tenants held now. */
  held(): ReadonlySet<string> {
    return new Set(this.holds.keys());
  }

  /** When `tenant` was taken (ms since the epoch), if it is held. */
  heldSince(tenant: string): number | undefined {
    return this.holds.get(tenant);
  }

  /** Holds `tenant` for this process, unless another holds it (then says who). */
  async hold(tenant: string): Promise<HoldOutcome> {
    if (this.holds.has(tenant)) return { held: true };
    try {
      return await this.tryHold(tenant);
    } catch (err) {
      // The lease expired on etcd's side before this process noticed (it stalled): every hold is
      // gone; start over on a new lease.
      if (!isLeaseGone(err)) throw err;
      this.lost('etcd no longer knows the lease');
      return this.tryHold(tenant);
    }
  }

  private async tryHold(tenant: string): Promise<HoldOutcome> {
    const lease = await this.ensureLease();
    const key = this.prefix + tenant;
    const res = await etcdCall(UNAVAILABLE, `hold tenant ${tenant}`, this.timeoutMs, (o) =>
      this.client
        .if(key, 'Create', '==', 0)
        .then(this.client.put(key).value(this.holder).lease(lease))
        .else(this.client.get(key))
        .options(o)
        .commit(),
    );
    if (res.succeeded) {
      this.holds.set(tenant, this.now());
      return { held: true };
    }
    const kv = res.responses[0]?.response_range.kvs[0];
    const value = kv?.value.toString('utf8') ?? '';
    // Our own key on our own lease (held before a restart of the bookkeeping): still ours.
    if (kv !== undefined && value === this.holder && kv.lease === lease) {
      this.holds.set(tenant, this.now());
      return { held: true };
    }
    return { held: false, holder: value };
  }

  /** Lets `tenant` go (its next owner may take it at once). */
  async release(tenant: string): Promise<void> {
    if (!this.holds.delete(tenant)) return;
    const key = this.prefix + tenant;
    try {
      await etcdCall(UNAVAILABLE, `release tenant ${tenant}`, this.timeoutMs, (o) =>
        this.client
          .if(key, 'Value', '==', this.holder)
          .then(this.client.delete().key(key))
          .options(o)
          .commit(),
      );
    } catch (err) {
      // The key stays until the lease ends; the next owner waits that long at most.
      this.logger.warn('could not release a tenant; it frees up when this process stops', {
        tenant,
        err: errorMessage(err),
      });
    }
  }

  /** Revokes the lease: every hold ends at once. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.deadline);
    this.timer = undefined;
    const lease = this.lease;
    this.lease = undefined;
    this.holds.clear();
    if (lease === undefined) return;
    try {
      await etcdCall(UNAVAILABLE, 'lease revoke', this.timeoutMs, (o) =>
        this.client.leaseClient.leaseRevoke({ ID: lease }, o),
      );
    } catch (err) {
      this.logger.warn('could not revoke the tenant lease; it expires within its TTL', {
        err: errorMessage(err),
      });
    }
  }

  private async ensureLease(): Promise<string> {
    if (this.lease !== undefined) return this.lease;
    const sentAt = this.now();
    const grant = await etcdCall(UNAVAILABLE, 'lease grant', this.timeoutMs, (o) =>
      this.client.leaseClient.leaseGrant({ TTL: this.ttlSeconds }, o),
    );
    this.lease = grant.ID;
    if (this.lostCtl.signal.aborted) this.lostCtl = new AbortController();
    this.renewed(sentAt);
    this.timer = setInterval(() => void this.renew(), (this.ttlSeconds * 1000) / 4);
    this.timer.unref();
    return this.lease;
  }

  private renewed(sentAt: number): void {
    this.renewedSentAt = sentAt;
    clearTimeout(this.deadline);
    const left = this.renewedSentAt + (this.ttlSeconds * 1000) / 2 - this.now();
    const lapse = (): void => this.lost(`no lease renewal for ${this.ttlSeconds / 2} s`);
    if (left <= 0) return lapse();
    this.deadline = setTimeout(lapse, left);
    this.deadline.unref();
  }

  private async renew(): Promise<void> {
    const lease = this.lease;
    if (lease === undefined) return;
    const sentAt = this.now();
    try {
      const ttl = await keepAliveOnce(this.client, lease, UNAVAILABLE, this.timeoutMs);
      if (this.lease !== lease) return;
      if (ttl <= 0) this.lost('the lease expired');
      else this.renewed(sentAt);
    } catch (err) {
      this.logger.warn('tenant lease renewal failed', { err: errorMessage(err) });
    }
  }

  /** Every hold is gone: tell the holders to stop, and start over with a new lease next time. */
  private lost(why: string): void {
    if (this.lease === undefined) return;
    this.logger.warn('tenant holds lost; stopping work on them', { why, tenants: this.holds.size });
    clearInterval(this.timer);
    clearTimeout(this.deadline);
    this.timer = undefined;
    this.lease = undefined;
    this.holds.clear();
    this.lostCtl.abort(new StrataError('ERR_RING_UNAVAILABLE', `tenant holds lost: ${why}`));
  }
}
