/** The querier's metrics on /metrics. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { PeerType } from '../../gen/thanos/info/infopb/rpc_pb.js';
import type { Endpoint, StoreGroup } from './endpoints.js';

export interface QueryMetrics {
  /** Per group and API; outcome success | failed. */
  readonly groupRequests: Counter<'group' | 'api' | 'outcome'>;
  readonly groupLatency: Histogram<'group'>;
  /** Replica groups: the answer came from the member ranked second (the hedge paid off). */
  readonly hedgedWins: Counter<'group'>;
  /** Member requests aborted because another member answered first. */
  readonly cancelled: Counter<'group'>;
  /** Responses served with a warning because a whole group failed. */
  readonly partialResponses: Counter<'api'>;
  /** 1 while an endpoint is healthy (its last Info or request succeeded), read at scrape time. */
  readonly endpointHealthy: Gauge<'group' | 'address' | 'peer_type'>;
}

/** What the endpoint health gauge reads on every scrape (the querier's EndpointSet). */
export interface EndpointHealthSource {
  readonly endpoints: readonly Endpoint[];
  groups(): StoreGroup[];
}

/** `store`, `source`, `query`...; '' before the endpoint's first Info answer. */
function peerTypeLabel(e: Endpoint): string {
  if (e.last === undefined) return '';
  return (PeerType[e.last.peerType] ?? 'unspecified').toLowerCase();
}

/** Sets one sample per endpoint: group is '' until the endpoint's Info answered once. */
function observeEndpointHealth(
  gauge: Gauge<'group' | 'address' | 'peer_type'>,
  source: EndpointHealthSource,
): void {
  const groupOf = new Map<Endpoint, string>();
  for (const g of source.groups()) for (const m of g.members) groupOf.set(m, g.name);
  gauge.reset();
  for (const e of source.endpoints) {
    gauge.set(
      { group: groupOf.get(e) ?? '', address: e.address, peer_type: peerTypeLabel(e) },
      e.healthy ? 1 : 0,
    );
  }
}

export function createQueryMetrics(registry: Registry, source: EndpointHealthSource): QueryMetrics {
  const endpointHealthy: Gauge<'group' | 'address' | 'peer_type'> = new Gauge({
    name: 'strata_query_endpoint_healthy',
    help: 'Whether a Store API endpoint is healthy (1) or not (0), by store group, address and peer type.',
    labelNames: ['group', 'address', 'peer_type'],
    registers: [registry],
    collect() {
      observeEndpointHealth(endpointHealthy, source);
    },
  });
  return {
    endpointHealthy,
    groupRequests: new Counter({
      name: 'strata_query_group_requests_total',
      help: 'Requests to store groups, by group, API and outcome.',
      labelNames: ['group', 'api', 'outcome'],
      registers: [registry],
    }),
    groupLatency: new Histogram({
      name: 'strata_query_group_request_duration_seconds',
      help: 'Time until a store group answered (first full answer of a replica group, all of a source group).',
      labelNames: ['group'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    hedgedWins: new Counter({
      name: 'strata_query_hedged_wins_total',
      help: 'Replica group requests answered first by the second of the two members asked.',
      labelNames: ['group'],
      registers: [registry],
    }),
    cancelled: new Counter({
      name: 'strata_query_cancelled_requests_total',
      help: 'Member requests cancelled because another member of the group answered first.',
      labelNames: ['group'],
      registers: [registry],
    }),
    partialResponses: new Counter({
      name: 'strata_query_partial_responses_total',
      help: 'Responses served with a warning because a whole store group failed.',
      labelNames: ['api'],
      registers: [registry],
    }),
  };
}
