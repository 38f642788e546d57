/** `GET /api/v1/strata/endpoints`: the querier's endpoints by store group, with health and latency. */
import { PeerType } from '../../gen/thanos/info/infopb/rpc_pb.js';
import type { Endpoint, EndpointSet } from '../query/endpoints.js';
import type { Labels } from '../tsdb/labels.js';
import type { HttpEndpoint } from '../util/http.js';
import type { UiPage } from './api-types.js';
import { iso, mountJson } from './json-api.js';
import type { EndpointMember, EndpointsView } from './ops-types.js';

export const QUERY_PAGE: UiPage = { id: 'query', title: 'Query' };
export const ENDPOINTS_API = '/api/v1/strata/endpoints';

const round = (ms: number | undefined): number | null =>
  ms === undefined ? null : Math.round(ms * 100) / 100;

const labelObject = (ls: Labels): Record<string, string> =>
  Object.fromEntries(ls.map((l) => [l.name, l.value]));

function member(e: Endpoint): EndpointMember {
  return {
    address: e.address,
    healthy: e.healthy,
    consecutive_failures: e.failures,
    last_error: e.lastError ?? null,
    last_check: e.lastCheckMs === undefined ? null : iso(e.lastCheckMs),
    latency: {
      info_last_ms: round(e.infoLatency.last),
      info_p50_ms: round(e.infoLatency.quantile(0.5)),
      info_p99_ms: round(e.infoLatency.quantile(0.99)),
      info_samples: e.infoLatency.count,
      ewma_ms: round(e.latencyMs),
    },
    component_type: e.last?.componentType ?? null,
    peer_type: e.last ? (PeerType[e.last.peerType] ?? String(e.last.peerType)) : null,
    min_time: e.last?.minTime ?? null,
    max_time: e.last?.maxTime ?? null,
    label_sets: (e.last?.labelSets ?? []).map(labelObject),
  };
}

export function endpointsView(set: EndpointSet): EndpointsView {
  return {
    ready: set.ready,
    groups: set.groups().map((g) => ({
      key: g.key,
      name: g.name,
      kind: g.kind,
      group_id: g.groupId,
      label_sets: g.labelSets.map(labelObject),
      healthy: g.members.filter((m) => m.healthy).length,
      min_time: g.minTime,
      max_time: g.maxTime,
      members: g.members.map(member),
    })),
    unreachable: set.endpoints.filter((e) => e.last === undefined).map(member),
  };
}

export function mountEndpointsApi(http: HttpEndpoint, set: EndpointSet): void {
  mountJson(http, ENDPOINTS_API, () => endpointsView(set));
}
