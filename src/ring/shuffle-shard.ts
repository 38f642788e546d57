/**
 * Shuffle sharding: each tenant gets a deterministic subring of `size` instances, and only
 * those can own it.
 *
 * The walk is Cortex's (`Ring.shuffleShard`): per zone (in sorted order; one zone `''` when zone
 * awareness is off), draw a pseudo-random 32-bit value, take the owner of the first token
 * strictly greater than it, and if that instance is already in the shard keep walking the ring
 * to the next one not yet in it; repeat until the zone gives its share (ceil(size / zones)).
 *
 * Differences from Cortex, so the subset is not the one a Cortex compactor computes:
 * - the draws: Cortex seeds Go's math/rand with MD5(tenant [0x00 zone]); Strata takes draw i as
 *   the first four bytes (big-endian) of MD5(tenant 0x00 zone 0x00 i as 4 bytes big-endian);
 * - only healthy instances (ACTIVE, fresh heartbeat) are candidates: Cortex picks among all
 *   members and then drops the unhealthy ones, which can leave a tenant without an owner until
 *   a dead member is forgotten; here the shard refills right after the heartbeat timeout.
 *
 * Stability: the draws depend on the tenant only, so the shard of size n is a prefix of the
 * shard of size n + 1, and a member joining or leaving changes a tenant's shard only where a
 * draw lands on (or walks past) that member's tokens.
 */
import { createHash } from 'node:crypto';
import { HashRing, successor } from './ring.js';
import type { RingInstance } from './model.js';

export interface ShuffleShardOptions {
  /** Take ceil(size / zones) instances from every zone (Cortex's zone-aware shuffle sharding). */
  zoneAware?: boolean;
}

/** Draw `i` of a tenant's pseudo-random sequence in `zone`, an unsigned 32-bit value. */
export function shuffleShardDraw(identifier: string, zone: string, i: number): number {
  const index = Buffer.alloc(4);
  index.writeUInt32BE(i >>> 0);
  const h = createHash('md5');
  h.update(identifier, 'utf8');
  h.update(Buffer.of(0));
  h.update(zone, 'utf8');
  h.update(Buffer.of(0));
  h.update(index);
  return h.digest().readUInt32BE(0);
}

/**
 * The tenant's subring: a HashRing of its shard's instances (all healthy). A size of 0 or at
 * least the number of healthy instances gives every healthy instance.
 */
export function shuffleShard(
  ring: HashRing,
  identifier: string,
  size: number,
  opts: ShuffleShardOptions = {},
): HashRing {
  const healthy = ring.healthyInstances();
  const timing = { nowMs: ring.nowMs, heartbeatTimeoutMs: ring.heartbeatTimeoutMs };
  if (size <= 0 || size >= healthy.length) return new HashRing(healthy, timing);

  const zones = opts.zoneAware === true ? [...new Set(healthy.map((i) => i.zone))].sort() : [''];
  const perZone = Math.ceil(size / zones.length);
  const shard = new Map<string, RingInstance>();
  for (const zone of zones) {
    const members = opts.zoneAware === true ? healthy.filter((i) => i.zone === zone) : healthy;
    const zoneRing = new HashRing(members, timing);
    const tokens = zoneRing.tokens;
    if (tokens.length === 0) continue;
    for (let drawn = 0; drawn < perZone; drawn++) {
      const start = successor(tokens, shuffleShardDraw(identifier, zone, drawn));
      let picked: RingInstance | undefined;
      for (let step = 0; step < tokens.length && picked === undefined; step++) {
        const inst = zoneRing.ownerAt((start + step) % tokens.length);
        if (!shard.has(inst.id)) picked = inst;
      }
      // The zone has no instance left that is not in the shard.
      if (picked === undefined) break;
      shard.set(picked.id, picked);
    }
  }
  return new HashRing([...shard.values()], timing);
}

/**
 * The owner of a tenant: with `shardSize` > 0, the first-token rule inside the tenant's shuffle
 * shard (so still exactly one owner); otherwise over the whole ring.
 */
export function tenantOwner(
  ring: HashRing,
  tenant: string,
  shardSize = 0,
  opts: ShuffleShardOptions = {},
): RingInstance | undefined {
  if (shardSize <= 0) return ring.ownerOfTenant(tenant);
  return shuffleShard(ring, tenant, shardSize, opts).ownerOfTenant(tenant);
}
