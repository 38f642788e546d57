/**
 * Which tenants this instance works on: those the ring gives it (the first-token rule, within the
 * tenant's shuffle shard when a shard size is set) and that it holds exclusively (TenantLocks).
 * A tenant that moves away is let go only once nothing of it runs here any more; a tenant that
 * moves here is taken once its previous owner let it go (or died and its lease expired).
 */
import type { Logger } from '../util/logger.js';
import { nopLogger } from '../util/logger.js';
import type { RingClient } from './client.js';
import type { RingMetrics } from './metrics.js';
import type { HashRing } from './ring.js';
import { tenantOwner } from './shuffle-shard.js';
import type { TenantLocks } from './tenant-locks.js';

export interface TenantShardingOptions {
  readonly ring: RingClient;
  readonly locks: TenantLocks;
  readonly instanceId: string;
  /** Shuffle-shard size per tenant; 0: every healthy instance may own any tenant. */
  readonly shardSize?: number;
  readonly logger?: Logger;
  readonly metrics?: RingMetrics;
}

export class TenantSharding {
  private readonly o: TenantShardingOptions;
  private readonly log: Logger;
  private lastOwned = new Set<string>();

  constructor(o: TenantShardingOptions) {
    this.o = o;
    this.log = (o.logger ?? nopLogger).child({ instance: o.instanceId });
  }

  get instanceId(): string {
    return this.o.instanceId;
  }

  /** Aborted when the holds are lost: stop working on every tenant at once. */
  get signal(): AbortSignal {
    return this.o.locks.signal;
  }

  /** Whether the ring gives `tenant` to this instance now (`ring`: a snapshot to reuse). */
  owns(tenant: string, ring: HashRing = this.o.ring.ring()): boolean {
    return tenantOwner(ring, tenant, this.o.shardSize ?? 0)?.id === this.o.instanceId;
  }

  /** When this instance took `tenant`, if it holds it. */
  heldSince(tenant: string): number | undefined {
    return this.o.locks.heldSince(tenant);
  }

  /** Tenants held now (working on, or finishing after they moved away). */
  held(): ReadonlySet<string> {
    return this.o.locks.held();
  }

  /**
   * The tenants among `tenants` to work on now: owned and held. Tenants held but no longer owned
   * are let go unless `busy` says work of theirs still runs here.
   */
  async select(
    tenants: readonly string[],
    busy: (tenant: string) => boolean = () => false,
  ): Promise<string[]> {
    const ring = this.o.ring.ring();
    const owned = new Set(tenants.filter((t) => this.owns(t, ring)));
    for (const t of [...this.o.locks.held()]) {
      if (!owned.has(t) && !busy(t)) await this.o.locks.release(t);
    }
    const out: string[] = [];
    for (const t of tenants) {
      if (!owned.has(t)) continue;
      const h = await this.o.locks.hold(t);
      if (h.held) out.push(t);
      else
        this.log.info('tenant owned but still held by its previous owner; waiting', {
          tenant: t,
          holder: h.holder,
        });
    }
    this.noteChanges(owned);
    this.o.metrics?.tenantsOwned.set(owned.size);
    return out;
  }

  private noteChanges(owned: Set<string>): void {
    let moved = 0;
    for (const t of owned) if (!this.lastOwned.has(t)) moved++;
    for (const t of this.lastOwned) if (!owned.has(t)) moved++;
    if (moved > 0 && this.lastOwned.size > 0)
      this.log.info('tenant ownership changed', { owned: owned.size, moved });
    this.lastOwned = owned;
  }
}
