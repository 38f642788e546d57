/** strata_query_endpoint_healthy: one sample per endpoint, read from the EndpointSet at scrape time. */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { PeerType } from '../../gen/thanos/info/infopb/rpc_pb.js';
import { EndpointSet } from '../../src/query/endpoints.js';
import type { EndpointInfo } from '../../src/query/groups.js';
import { createQueryMetrics } from '../../src/query/metrics.js';
import { labelsFromRecord } from '../../src/tsdb/labels.js';
import { nopLogger } from '../../src/util/logger.js';

const info = (o: Partial<EndpointInfo>): EndpointInfo => ({
  labelSets: [labelsFromRecord({ cluster: 'eu' })],
  minTime: 0,
  maxTime: 100,
  componentType: 'store',
  groupId: 'g1',
  peerType: PeerType.STORE,
  ...o,
});

/** The samples of one metric in the text exposition, as `{labels} value` strings. */
async function samples(registry: Registry, name: string): Promise<string[]> {
  const text = await registry.metrics();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`))
    .map((l) => l.slice(name.length))
    .sort();
}

let set: EndpointSet | undefined;
afterEach(() => set?.stop());

describe('strata_query_endpoint_healthy', () => {
  it('reports each endpoint with its group and peer type, and follows health changes between scrapes', async () => {
    set = new EndpointSet({
      addresses: ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3'],
      intervalMs: 60_000,
      logger: nopLogger,
    });
    const registry = new Registry();
    createQueryMetrics(registry, set);
    const [a, b, c] = set.endpoints as [
      (typeof set.endpoints)[0],
      (typeof set.endpoints)[0],
      (typeof set.endpoints)[0],
    ];
    a.last = info({});
    a.succeeded(1);
    b.last = info({});
    b.succeeded(1);
    // c never answered Info: no group, no peer type, unhealthy.
    const name = 'strata_query_endpoint_healthy';
    expect(await samples(registry, name)).toEqual([
      '{group="",address="127.0.0.1:3",peer_type=""} 0',
      '{group="g1 {cluster=\\"eu\\"}",address="127.0.0.1:1",peer_type="store"} 1',
      '{group="g1 {cluster=\\"eu\\"}",address="127.0.0.1:2",peer_type="store"} 1',
    ]);

    a.failed(new Error('connection refused'));
    c.last = info({
      groupId: '',
      peerType: PeerType.SOURCE,
      labelSets: [labelsFromRecord({ replica: 'x' })],
    });
    c.succeeded(1);
    expect(await samples(registry, name)).toEqual([
      '{group="g1 {cluster=\\"eu\\"}",address="127.0.0.1:1",peer_type="store"} 0',
      '{group="g1 {cluster=\\"eu\\"}",address="127.0.0.1:2",peer_type="store"} 1',
      '{group="source {replica=\\"x\\"}",address="127.0.0.1:3",peer_type="source"} 1',
    ]);
  });
});
