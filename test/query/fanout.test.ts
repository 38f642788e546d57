/**
 * The querier over real gRPC against in-test stores: hedged replica groups (a slow member costs
 * nothing and is cancelled; a dead member costs no failure), a dead group (partial-response
 * warning naming the group, or an abort error), SOURCE groups (all waited for, replicas
 * deduplicated exactly like the compactor's penalty dedup), and the k-way merge.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { PeerType } from '../../gen/thanos/info/infopb/rpc_pb.js';
import { Store } from '../../gen/thanos/store/storepb/rpc_pb.js';
import { Info } from '../../gen/thanos/info/infopb/rpc_pb.js';
import { newMatcher } from '../../src/tsdb/index/matchers.js';
import { formatLabels } from '../../src/tsdb/labels.js';
import { SampleBuf } from '../../src/tsdb/samples/sample-buf.js';
import { mergeExact, mergeReplicas } from '../../src/tsdb/samples/dedup.js';
import { decodeSeries, type QSeries } from '../../src/query/merge.js';
import { isStrataError } from '../../src/util/errors.js';
import {
  bufPoints,
  series,
  samples,
  startFakeStore,
  startTestQuery,
  type FakeStore,
  type TestQuery,
} from './support.js';

const stores: FakeStore[] = [];
let query: TestQuery | undefined;

afterEach(async () => {
  await query?.close();
  query = undefined;
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

async function store(o: Parameters<typeof startFakeStore>[0]): Promise<FakeStore> {
  const s = await startFakeStore(o);
  stores.push(s);
  return s;
}

const DATA = [
  series({ __name__: 'up', job: 'a' }, [
    [1000, 1],
    [2000, 2],
    [3000, 3],
  ]),
  series({ __name__: 'up', job: 'b' }, [
    [1000, 4],
    [2000, 5],
  ]),
];

function decoded(s: QSeries): [number, number][] {
  const b = new SampleBuf();
  decodeSeries(s.chunks, b, 'test');
  return bufPoints(b);
}

const ALL = { minTime: 0, maxTime: 1e13, matchers: [newMatcher('=~', '__name__', '.+')] };

async function metric(q: TestQuery, name: string): Promise<number> {
  const m = await q.registry.getSingleMetric(name)?.get();
  return (m?.values ?? []).reduce((a, v) => a + v.value, 0);
}

describe('replica groups', () => {
  it('answers from the fast member when the other is delayed 500 ms, and cancels the slow one', async () => {
    const common = {
      series: DATA,
      labelSets: [{ cluster: 'x' }],
      groupId: 'bucket-a',
      peerType: PeerType.STORE,
    };
    const fast = await store({ ...common });
    const slow = await store({ ...common, delayMs: 500 });
    query = await startTestQuery([fast.address, slow.address]);
    expect(query.endpoints.groups()).toHaveLength(1);
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const r = await query.querier.series(ALL);
      const ms = performance.now() - t0;
      expect(ms).toBeLessThan(300);
      expect(r.warnings).toEqual([]);
      expect(r.value.map((s) => formatLabels(s.labels))).toEqual([
        '{__name__="up", job="a"}',
        '{__name__="up", job="b"}',
      ]);
      expect(decoded(r.value[0]!)).toEqual([
        [1000, 1],
        [2000, 2],
        [3000, 3],
      ]);
    }
    // Both members were asked each time; the slow one saw its request cancelled.
    expect(fast.calls.series).toBe(3);
    expect(slow.calls.series).toBe(3);
    await expect.poll(() => slow.calls.cancelled).toBe(3);
    expect(await metric(query, 'strata_query_cancelled_requests_total')).toBe(3);
  });

  it('a dead member (connection refused) costs no failure', async () => {
    const common = {
      series: DATA,
      labelSets: [{ cluster: 'x' }],
      groupId: 'bucket-a',
      peerType: PeerType.STORE,
    };
    const a = await store(common);
    const b = await store(common);
    const dead = await store(common);
    query = await startTestQuery([a.address, b.address, dead.address]);
    await dead.close();
    for (let i = 0; i < 10; i++) {
      const r = await query.querier.series({ ...ALL, partialResponse: false });
      expect(r.warnings).toEqual([]);
      expect(r.value).toHaveLength(2);
    }
    expect(a.calls.series + b.calls.series).toBeGreaterThanOrEqual(10);
  });

  it('a dead member pair falls back to the remaining members one by one', async () => {
    const common = { series: DATA, labelSets: [{ cluster: 'x' }], groupId: 'g', peerType: PeerType.STORE };
    const d1 = await store(common);
    const d2 = await store(common);
    const live = await store(common);
    // random() = 0.99 keeps the order [d1, d2, live] after the shuffle: the pair is the two dead ones.
    query = await startTestQuery([d1.address, d2.address, live.address], { random: () => 0.99 });
    await d1.close();
    await d2.close();
    const r = await query.querier.series(ALL);
    expect(r.value).toHaveLength(2);
    expect(live.calls.series).toBe(1);
  });

  it('a whole dead group: a warning naming it with partial responses, an error naming it without', async () => {
    const good = await store({
      series: DATA,
      labelSets: [{ cluster: 'x' }],
      groupId: 'good',
      peerType: PeerType.STORE,
    });
    const badOpts = {
      series: [series({ __name__: 'up', job: 'c' }, [[1000, 9]])],
      labelSets: [{ cluster: 'y' }],
      groupId: 'bucket-b',
      peerType: PeerType.STORE,
    };
    const b1 = await store(badOpts);
    const b2 = await store(badOpts);
    query = await startTestQuery([good.address, b1.address, b2.address]);
    await b1.close();
    await b2.close();
    const r = await query.querier.series({ ...ALL, partialResponse: true });
    expect(r.value).toHaveLength(2);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toContain('bucket-b {cluster="y"}');
    expect(r.warnings[0]).toContain(b1.address);
    expect(await metric(query, 'strata_query_partial_responses_total')).toBe(1);
    const err = await query.querier.series({ ...ALL, partialResponse: false }).catch((e: unknown) => e);
    expect(isStrataError(err) && err.code).toBe('ERR_QUERY_GROUP_FAILED');
    expect((err as Error).message).toContain('bucket-b {cluster="y"}');
    expect((err as Error).message).toContain(b2.address);

    // The querier's own Store API carries the warning in SeriesResponse.warning.
    const client = createClient(Store, createGrpcTransport({ baseUrl: `http://${query.grpcAddress}` }));
    const warnings: string[] = [];
    let n = 0;
    for await (const m of client.series({
      minTime: 0n,
      maxTime: 10_000n,
      matchers: [{ type: 2, name: '__name__', value: '.+' }],
    })) {
      if (m.result.case === 'warning') warnings.push(m.result.value);
      if (m.result.case === 'series') n++;
    }
    expect(n).toBe(2);
    expect(warnings.join()).toContain('bucket-b');
    await expect(
      (async () => {
        for await (const _ of client.series({
          minTime: 0n,
          maxTime: 10_000n,
          partialResponseStrategy: 1,
          matchers: [{ type: 2, name: '__name__', value: '.+' }],
        }))
          void _;
      })(),
    ).rejects.toThrow(/bucket-b/);
  });

  it('skips groups whose time range or label sets cannot match', async () => {
    const x = await store({
      series: DATA,
      labelSets: [{ cluster: 'x' }],
      groupId: 'gx',
      peerType: PeerType.STORE,
    });
    const y = await store({
      series: DATA,
      labelSets: [{ cluster: 'y' }],
      groupId: 'gy',
      peerType: PeerType.STORE,
      maxTime: 500,
    });
    query = await startTestQuery([x.address, y.address]);
    await query.querier.series({ ...ALL, matchers: [newMatcher('=', 'cluster', 'x')] });
    expect([x.calls.series, y.calls.series]).toEqual([1, 0]);
    await query.querier.series({ ...ALL, minTime: 1000 });
    expect([x.calls.series, y.calls.series]).toEqual([2, 0]);
    await query.querier.series({ ...ALL, minTime: 0 });
    expect([x.calls.series, y.calls.series]).toEqual([3, 1]);
  });
});

describe('replica strategies (--query.replica-strategy, for the benchmark)', () => {
  const common = { series: DATA, labelSets: [{ cluster: 'x' }], groupId: 'g', peerType: PeerType.STORE };

  it('one-random asks exactly one member, uniformly (no latency preference), so a slow pick costs its delay', async () => {
    const slow = await store({ ...common, delayMs: 500 });
    const fast = await store(common);
    // random() = 0.99 keeps the endpoint order: the slow member is the one picked.
    query = await startTestQuery([slow.address, fast.address], {
      random: () => 0.99,
      replicaStrategy: 'one-random',
    });
    await query.querier.series(ALL); // the fast member now has the lower latency: still not preferred
    const t0 = performance.now();
    const r = await query.querier.series(ALL);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(490);
    expect(r.value).toHaveLength(2);
    expect([slow.calls.series, fast.calls.series]).toEqual([2, 0]);
    expect(slow.calls.cancelled).toBe(0);
  });

  it('one-random falls back to the other members one by one when its pick fails', async () => {
    const dead = await store(common);
    const live = await store(common);
    query = await startTestQuery([dead.address, live.address], {
      random: () => 0.99,
      replicaStrategy: 'one-random',
    });
    await dead.close();
    const r = await query.querier.series(ALL);
    expect(r.value).toHaveLength(2);
    expect(r.warnings).toEqual([]);
    expect(live.calls.series).toBe(1);
  });

  it('all asks every member at once and waits for the slowest, cancelling nothing', async () => {
    const a = await store(common);
    const b = await store(common);
    const slow = await store({ ...common, delayMs: 500 });
    query = await startTestQuery([a.address, b.address, slow.address], { replicaStrategy: 'all' });
    const t0 = performance.now();
    const r = await query.querier.series(ALL);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(490);
    expect(r.value.map((s) => formatLabels(s.labels))).toEqual([
      '{__name__="up", job="a"}',
      '{__name__="up", job="b"}',
    ]);
    expect([a.calls.series, b.calls.series, slow.calls.series]).toEqual([1, 1, 1]);
    expect(slow.calls.cancelled).toBe(0);
    expect(await metric(query, 'strata_query_cancelled_requests_total')).toBe(0);
  });

  it('all still answers when some members fail, and fails the group only when every member does', async () => {
    const bad = await store({ ...common, failWith: 'boom' });
    const good = await store(common);
    query = await startTestQuery([bad.address, good.address], { replicaStrategy: 'all' });
    const r = await query.querier.series(ALL);
    expect(r.value).toHaveLength(2);
    expect(r.warnings).toEqual([]);
    await good.close();
    const err = await query.querier.series({ ...ALL, partialResponse: false }).catch((e: unknown) => e);
    expect(isStrataError(err) && err.code).toBe('ERR_QUERY_GROUP_FAILED');
    expect((err as Error).message).toContain('boom');
  });
});

describe('source groups and merge', () => {
  // Two HA replicas scraping every 10 s with offsets and gaps: penalty dedup stays on one replica.
  const A: [number, number][] = [];
  const B: [number, number][] = [];
  for (let t = 0; t < 600_000; t += 10_000) {
    if (t < 200_000 || t > 300_000) A.push([t + 1, t / 1000]);
    if (t < 450_000 || t > 500_000) B.push([t + 4003, t / 1000 + 0.5]);
  }

  it('asks every source, waits for all, deduplicates replicas exactly like the compactor', async () => {
    const a = await store({
      series: [series({ __name__: 'm', cluster: 'x', replica: 'a' }, A)],
      labelSets: [{ cluster: 'x', replica: 'a' }],
    });
    const b = await store({
      series: [series({ __name__: 'm', cluster: 'x', replica: 'b' }, B)],
      labelSets: [{ cluster: 'x', replica: 'b' }],
      delayMs: 300,
    });
    query = await startTestQuery([a.address, b.address], { replicaLabels: ['replica'] });
    expect(query.endpoints.groups().map((g) => g.kind)).toEqual(['source', 'source']);
    const t0 = performance.now();
    const r = await query.querier.series(ALL);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(r.value.map((s) => formatLabels(s.labels))).toEqual(['{__name__="m", cluster="x"}']);
    const want = new SampleBuf();
    mergeReplicas([samples(A), samples(B)], [0, 1], want);
    expect(decoded(r.value[0]!)).toEqual(bufPoints(want));
    // Sanity: the dedup did something (neither replica alone, not the union).
    expect(want.len).toBeLessThan(A.length + B.length);
    expect(want.len).toBeGreaterThan(Math.max(A.length, B.length));

    // dedup off: both series with their replica labels, chunks as received.
    const raw = await query.querier.series({ ...ALL, dedup: false });
    expect(raw.value.map((s) => formatLabels(s.labels))).toEqual([
      '{__name__="m", cluster="x", replica="a"}',
      '{__name__="m", cluster="x", replica="b"}',
    ]);
    expect(decoded(raw.value[0]!)).toEqual(A);
  });

  it('--store.response-timeout bounds the wait for a slow source: a warning (or an error) naming it', async () => {
    const a = await store({
      series: [series({ __name__: 'm', cluster: 'x', replica: 'a' }, A)],
      labelSets: [{ cluster: 'x', replica: 'a' }],
    });
    const b = await store({
      series: [series({ __name__: 'm', cluster: 'x', replica: 'b' }, B)],
      labelSets: [{ cluster: 'x', replica: 'b' }],
      delayMs: 3000,
    });
    query = await startTestQuery([a.address, b.address], {
      replicaLabels: ['replica'],
      responseTimeoutMs: 300,
    });
    const t0 = performance.now();
    const r = await query.querier.series({ ...ALL, partialResponse: true });
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(r.warnings.join()).toContain(b.address);
    // The fast source's samples, its replica label removed.
    expect(r.value.map((s) => formatLabels(s.labels))).toEqual(['{__name__="m", cluster="x"}']);
    expect(decoded(r.value[0]!)).toEqual(A);
    await expect(query.querier.series({ ...ALL, partialResponse: false })).rejects.toThrow(b.address);
  });

  it('chain dedup keeps one sample per timestamp', async () => {
    const a = await store({
      series: [series({ __name__: 'm', replica: 'a' }, A)],
      labelSets: [{ replica: 'a' }],
    });
    const b = await store({
      series: [series({ __name__: 'm', replica: 'b' }, B)],
      labelSets: [{ replica: 'b' }],
    });
    query = await startTestQuery([a.address, b.address], { replicaLabels: ['replica'], dedupFunc: 'chain' });
    const r = await query.querier.series(ALL);
    const want = new SampleBuf();
    mergeExact([samples(A), samples(B)], want);
    expect(decoded(r.value[0]!)).toEqual(bufPoints(want));
  });

  it('k-way merges sorted streams; equal series of different groups are merged exactly', async () => {
    const g1 = await store({
      series: [
        series({ __name__: 'a', i: '1' }, [[1, 1]]),
        series({ __name__: 'c', i: '1' }, [[1, 1]]),
        series({ __name__: 'e', i: '1' }, [
          [1, 1],
          [3, 3],
        ]),
      ],
      labelSets: [{ g: '1' }],
      groupId: 'one',
      peerType: PeerType.STORE,
    });
    const g2 = await store({
      series: [
        series({ __name__: 'b', i: '1' }, [[1, 1]]),
        series({ __name__: 'd', i: '1' }, [[1, 1]]),
        series({ __name__: 'e', i: '1' }, [
          [2, 2],
          [3, 3],
          [4, 4],
        ]),
      ],
      labelSets: [{ g: '2' }],
      groupId: 'two',
      peerType: PeerType.STORE,
    });
    const g3 = await store({
      series: [series({ __name__: 'a', i: '0' }, [[1, 1]])],
      labelSets: [{ g: '3' }],
    });
    query = await startTestQuery([g1.address, g2.address, g3.address]);
    const r = await query.querier.series(ALL);
    expect(r.value.map((s) => formatLabels(s.labels))).toEqual([
      '{__name__="a", i="0"}',
      '{__name__="a", i="1"}',
      '{__name__="b", i="1"}',
      '{__name__="c", i="1"}',
      '{__name__="d", i="1"}',
      '{__name__="e", i="1"}',
    ]);
    expect(decoded(r.value[5]!)).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
    ]);
    const names = await query.querier.labelNames({ minTime: 0, maxTime: 1e13, matchers: [] });
    expect(names.value).toEqual(['__name__', 'i']);
    const values = await query.querier.labelValues('__name__', { minTime: 0, maxTime: 1e13, matchers: [] });
    expect(values.value).toEqual(['a', 'b', 'c', 'd', 'e']);

    // Info of the querier: component query, peer type QUERY, the union of label sets.
    const info = await createClient(
      Info,
      createGrpcTransport({ baseUrl: `http://${query.grpcAddress}` }),
    ).info({});
    expect(info.ComponentType).toBe('query');
    expect(info.peerType).toBe(PeerType.QUERY);
    expect(info.labelSets.map((s) => s.labels.map((l) => `${l.name}=${l.value}`).join())).toEqual([
      'g=1',
      'g=2',
      'g=3',
    ]);
  });
});
