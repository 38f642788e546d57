/**
 * The ring's metrics, registered on the Registry the command passes in. Calling
 * createRingMetrics twice on one registry returns the same metrics.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { isHeartbeatHealthy, stateName } from './model.js';
import type { HashRing } from './ring.js';

export interface RingMetrics {
  /** Members per state; a member with a stale heartbeat counts as UNHEALTHY (as Cortex's page). */
  readonly members: Gauge<'state'>;
  /** Tenants this instance owns (set by whoever evaluates ownership). */
  readonly tenantsOwned: Gauge;
  readonly heartbeatFailures: Counter;
  /** Changes of ownership seen (the healthy members or their tokens changed). */
  readonly reshards: Counter;
}

const STATES = ['ACTIVE', 'LEAVING', 'PENDING', 'JOINING', 'LEFT', 'READONLY', 'UNHEALTHY'];

export function createRingMetrics(registry: Registry): RingMetrics {
  const gauge = <L extends string>(name: string, help: string, labelNames: L[]): Gauge<L> =>
    (registry.getSingleMetric(name) as Gauge<L> | undefined) ??
    new Gauge({ name, help, labelNames, registers: [registry] });
  const counter = (name: string, help: string): Counter =>
    (registry.getSingleMetric(name) as Counter | undefined) ??
    new Counter({ name, help, registers: [registry] });
  return {
    members: gauge('strata_ring_members', 'Ring members by state (UNHEALTHY: heartbeat too old).', ['state']),
    tenantsOwned: gauge('strata_ring_tenants_owned', 'Tenants this instance owns on the ring.', []),
    heartbeatFailures: counter(
      'strata_ring_heartbeat_failures_total',
      'Heartbeats of this instance that could not be written to the ring.',
    ),
    reshards: counter(
      'strata_ring_reshard_total',
      'Ownership changes seen on the ring (healthy members or their tokens changed).',
    ),
  };
}

/** Sets strata_ring_members from the ring as of its time. */
export function observeMembers(metrics: RingMetrics, ring: HashRing): void {
  const counts = new Map<string, number>(STATES.map((s) => [s, 0]));
  for (const inst of ring.instances) {
    const healthy = isHeartbeatHealthy(inst, ring.nowMs, ring.heartbeatTimeoutMs);
    const state = healthy ? stateName(inst.state) : 'UNHEALTHY';
    counts.set(state, (counts.get(state) ?? 0) + 1);
  }
  for (const [state, n] of counts) metrics.members.set({ state }, n);
}
