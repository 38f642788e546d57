/**
 * The data of the ring page (Cortex's `/compactor/ring`): one row per member with its zone,
 * state (UNHEALTHY when the heartbeat is older than the timeout, whatever the state), address,
 * registration and heartbeat times, token count and share of the token space.
 */
import { isHeartbeatHealthy, stateName } from './model.js';
import type { HashRing } from './ring.js';

export interface RingStatusRow {
  id: string;
  zone: string;
  /** ACTIVE, LEAVING, PENDING, JOINING, LEFT, READONLY, or UNHEALTHY. */
  state: string;
  address: string;
  /** ISO 8601; null when unknown (registered_timestamp 0). */
  registeredAt: string | null;
  /** ISO 8601. */
  lastHeartbeat: string;
  heartbeatAgeSeconds: number;
  tokenCount: number;
  /** Share of the token space, in percent (all members add up to 100). */
  ownershipPercent: number;
  /** Only when asked for. */
  tokens?: number[];
}

export interface RingStatus {
  /** The ring's key, e.g. `collectors/compactor`. */
  key: string;
  /** ISO 8601 time the rows were computed at. */
  now: string;
  heartbeatTimeoutSeconds: number;
  instances: RingStatusRow[];
}

export interface RingStatusOptions {
  key: string;
  includeTokens?: boolean;
}

export function ringStatus(ring: HashRing, opts: RingStatusOptions): RingStatus {
  const share = ring.ownership();
  const instances = ring.instances.map((inst): RingStatusRow => {
    const healthy = isHeartbeatHealthy(inst, ring.nowMs, ring.heartbeatTimeoutMs);
    const row: RingStatusRow = {
      id: inst.id,
      zone: inst.zone,
      state: healthy ? stateName(inst.state) : 'UNHEALTHY',
      address: inst.addr,
      registeredAt: inst.registeredSec > 0 ? isoSeconds(inst.registeredSec) : null,
      lastHeartbeat: isoSeconds(inst.heartbeatSec),
      heartbeatAgeSeconds: Math.max(0, Math.round(ring.nowMs / 1000 - inst.heartbeatSec)),
      tokenCount: inst.tokens.length,
      ownershipPercent: (share.get(inst.id) ?? 0) * 100,
    };
    if (opts.includeTokens === true) row.tokens = [...inst.tokens];
    return row;
  });
  return {
    key: opts.key,
    now: new Date(ring.nowMs).toISOString(),
    heartbeatTimeoutSeconds: ring.heartbeatTimeoutMs / 1000,
    instances,
  };
}

function isoSeconds(sec: number): string {
  const d = new Date(sec * 1000);
  return Number.isNaN(d.getTime()) ? String(sec) : d.toISOString();
}
