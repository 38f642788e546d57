/**
 * Downsampled blocks end to end: 48 h of 2h promtool blocks in a bucket plus a 5m block of the
 * first 40 h (compactBlocks + downsampleBlock). `strata store` answers max_resolution_window = 5m
 * with the 5m block's aggregates (only those requested) and falls back to raw where no 5m block
 * exists; real Prometheus servers reading remote through `strata query` with and without
 * `--query.auto-downsampling` agree on max/min/sum/avg_over_time(x[1h]) over the 2 days within
 * float rounding (and on increase() of counters with resets within the extrapolation error),
 * while the store's metrics show the 5m block was read only for the auto-downsampling querier.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Series } from '../../gen/thanos/store/storepb/types_pb.js';
import { Aggr } from '../../gen/thanos/store/storepb/rpc_pb.js';
import { decodeChunkInto } from '../../src/tsdb/chunkenc/chunk.js';
import { bitsToFloat } from '../../src/tsdb/chunkenc/float-bits.js';
import { compactBlocks } from '../../src/tsdb/compact/compact.js';
import { SampleBuf } from '../../src/tsdb/samples/sample-buf.js';
import { downsampleBlock, RES_5M } from '../../src/tsdb/downsample/index.js';
import { promtoolBlocksParallel } from '../compactor/fixtures.js';
import {
  queryRange,
  scrapeMetric,
  type PrometheusServer,
  type QueryRangeResponse,
} from '../services/prometheus.js';
import type { Sample } from '../support/dump.js';
import { prng } from '../support/openmetrics.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { storeClients, wire, type StoreClients } from '../store/fixture.js';
import {
  filesystemConfigFile,
  scratch,
  startQuery,
  startRemoteReadPrometheus,
  startStore,
  stopAll,
  uploadBlocks,
  type Running,
  type Scratch,
} from './harness.js';

const HOUR = 3600_000;
/** A 2h boundary; samples sit 7 s after each minute, so no sample falls on a 5m or 1h boundary. */
const START = 1_700_006_400_000;
const END = START + 48 * HOUR;
const DOWNSAMPLED_UNTIL = START + 40 * HOUR;
const EXT = { cluster: 'ds' };

/** Gauges and counters (with resets) for 48 h, one sample a minute. */
function makeSamples(): Sample[] {
  const rnd = prng(4242);
  const out: Sample[] = [];
  for (let i = 0; i < 3; i++) {
    let total = 0;
    let nextReset = START + (5 + i) * HOUR + 1234;
    for (let t = START + 7000; t < END; t += 60_000) {
      out.push({
        labels: { __name__: 'ds_gauge', series: String(i) },
        t,
        v: Math.round((rnd() - 0.5) * 2000) / 8,
      });
      total += 5 + Math.floor(rnd() * 4);
      if (t >= nextReset) {
        total = Math.floor(rnd() * 3);
        nextReset += (7 + i) * HOUR;
      }
      out.push({ labels: { __name__: 'ds_requests_total', series: String(i) }, t, v: total });
    }
  }
  return out;
}

let s: Scratch | undefined;
let store: Running | undefined;
let auto: Running | undefined;
let raw: Running | undefined;
let promAuto: PrometheusServer | undefined;
let promRaw: PrometheusServer | undefined;
let client: StoreClients;

beforeAll(async () => {
  s = await scratch('strata-downsampled-');
  const blocks = await promtoolBlocksParallel(makeSamples(), s.path('raw'), 3);
  expect(blocks.length).toBe(24);
  const first = blocks.filter((b) => b.maxTime <= DOWNSAMPLED_UNTIL).map((b) => b.dir);
  expect(first.length).toBe(20);
  const compacted = await compactBlocks(first, s.path('compacted'));
  const ds = await downsampleBlock(compacted.dir!, s.path('5m'), { resolution: RES_5M });
  const bucket = s.path('bucket');
  await uploadBlocks(bucket, [...blocks.map((b) => b.dir), ds.dir!], { externalLabels: EXT });
  store = await startStore({
    objstoreConfigFile: await filesystemConfigFile(s, bucket),
    dataDir: s.path('store'),
  });
  client = storeClients(store.grpc);
  [auto, raw] = await Promise.all([
    startQuery({ endpoints: [store.grpc], extra: ['--query.auto-downsampling'] }, 'strata query (auto)'),
    startQuery({ endpoints: [store.grpc] }, 'strata query (raw)'),
  ]);
  [promAuto, promRaw] = await Promise.all([
    startRemoteReadPrometheus(s, auto),
    startRemoteReadPrometheus(s, raw),
  ]);
}, 120_000);

afterAll(async () => {
  await stopAll([store, auto, raw, promAuto, promRaw]);
  await s?.cleanup();
  await assertNoLeakedProcesses();
});

async function series(
  minTime: number,
  maxTime: number,
  window: number,
  aggregates: Aggr[],
  via: StoreClients = client,
): Promise<Series[]> {
  const out: Series[] = [];
  const req = {
    minTime: BigInt(minTime),
    maxTime: BigInt(maxTime),
    matchers: wire([{ type: '=', name: '__name__', value: 'ds_gauge' }]),
    maxResolutionWindow: BigInt(window),
    aggregates,
  };
  for await (const r of via.store.series(req)) if (r.result.case === 'series') out.push(r.result.value);
  return out;
}

/** Decoded samples of XOR chunk data (Store API type 0). */
function decoded(data: Uint8Array): [number, number][] {
  const buf = new SampleBuf();
  decodeChunkInto({ encoding: 1, data, dataOffset: 0 }, buf, 'test');
  const out: [number, number][] = [];
  for (let i = 0; i < buf.len; i++) out.push([buf.ts[i]!, bitsToFloat(buf.hi[i]!, buf.lo[i]!)]);
  return out;
}

const blocksQueried = async (res: number): Promise<number> =>
  (await scrapeMetric(store!.http, `strata_store_series_blocks_queried_total{resolution="${res}"}`)) ?? 0;

describe('downsampled blocks through strata store and strata query', () => {
  it('strata store answers max_resolution_window = 5m from the 5m block with the requested aggregates only', async () => {
    const got = await series(START, START + 30 * HOUR, RES_5M, [Aggr.MAX, Aggr.COUNT]);
    expect(got.length).toBe(3);
    for (const sr of got) {
      expect(sr.chunks.length).toBeGreaterThan(0);
      for (const c of sr.chunks) {
        expect(c.raw).toBeUndefined();
        expect(c.max?.data.length).toBeGreaterThan(0);
        expect(c.count?.data.length).toBeGreaterThan(0);
        expect(c.sum ?? c.min ?? c.counter).toBeUndefined();
      }
    }
  });

  it('falls back to raw blocks where no 5m block exists, and reads raw for window 0', async () => {
    for (const [from, to, window] of [
      [START + 42 * HOUR, END, RES_5M],
      [START, START + 10 * HOUR, 0],
      [START, START + 10 * HOUR, RES_5M - 1],
    ] as const) {
      const got = await series(from, to, window, [Aggr.MAX]);
      expect(got.length).toBe(3);
      for (const sr of got)
        for (const c of sr.chunks) expect(c.raw, `${from}..${to} window ${window}`).toBeDefined();
    }
  });

  it('a range across the 5m block’s end gets aggregates before it and raw data after it', async () => {
    const got = await series(START + 30 * HOUR, END, RES_5M, [Aggr.MIN]);
    for (const sr of got) {
      const aggr = sr.chunks.filter((c) => c.raw === undefined);
      const rawChunks = sr.chunks.filter((c) => c.raw !== undefined);
      expect(aggr.length).toBeGreaterThan(0);
      expect(rawChunks.length).toBeGreaterThan(0);
      expect(Math.max(...aggr.map((c) => Number(c.maxTime)))).toBeLessThan(DOWNSAMPLED_UNTIL);
      expect(Math.max(...rawChunks.map((c) => Number(c.maxTime)))).toBeGreaterThan(START + 47 * HOUR);
      for (const c of aggr) expect(c.min).toBeDefined();
    }
  });

  it('strata query’s own Store API passes window and aggregates on and answers the aggregate as raw XOR samples', async () => {
    const [from, to] = [START + 3 * HOUR, START + 9 * HOUR];
    const fromStore = await series(from, to, RES_5M, [Aggr.MAX]);
    const fromQuery = await series(from, to, RES_5M, [Aggr.MAX], storeClients(auto!.grpc));
    expect(fromQuery.length).toBe(3);
    for (let i = 0; i < 3; i++) {
      const want = fromStore[i]!.chunks.flatMap((c) => decoded(c.max!.data));
      const got = fromQuery[i]!.chunks.flatMap((c) => decoded(c.raw!.data));
      expect(want.length).toBeGreaterThan(60);
      expect(got).toEqual(want);
    }
  });

  function values(r: QueryRangeResponse): Map<string, number[]> {
    const m = new Map<string, number[]>();
    for (const sr of r.data.result)
      m.set(
        JSON.stringify(sr.metric),
        sr.values.map(([, v]) => Number(v)),
      );
    return m;
  }

  async function compare(query: string, relTolerance: number): Promise<void> {
    const fiveBefore = await blocksQueried(RES_5M);
    const a = await queryRange(promAuto!.url, query, START + HOUR, END, HOUR);
    const fiveAfterAuto = await blocksQueried(RES_5M);
    const b = await queryRange(promRaw!.url, query, START + HOUR, END, HOUR);
    expect(
      fiveAfterAuto,
      `${query}: the 5m block was read for the auto-downsampling querier`,
    ).toBeGreaterThan(fiveBefore);
    expect(await blocksQueried(RES_5M), `${query}: raw querier read no 5m block`).toBe(fiveAfterAuto);
    const va = values(a);
    const vb = values(b);
    expect([...va.keys()].sort()).toEqual([...vb.keys()].sort());
    expect(vb.size).toBe(3);
    for (const [k, want] of vb) {
      const got = va.get(k)!;
      expect(got.length, `${query} ${k}`).toBe(want.length);
      expect(want.length).toBe(48);
      for (let i = 0; i < want.length; i++) {
        const tol = Math.max(1e-9, relTolerance) * Math.max(1, Math.abs(want[i]!));
        expect(
          Math.abs(got[i]! - want[i]!),
          `${query} ${k} step ${i}: ${got[i]} vs ${want[i]}`,
        ).toBeLessThanOrEqual(tol);
      }
    }
  }

  for (const q of [
    'max_over_time(ds_gauge[1h])',
    'min_over_time(ds_gauge[1h])',
    'sum_over_time(ds_gauge[1h])',
    'avg_over_time(ds_gauge[1h])',
  ]) {
    it(`${q} over 2 days: downsampled (auto) = raw within float rounding`, async () => {
      await compare(q, 1e-9);
    });
  }

  it('increase(ds_requests_total[1h]) over 2 days with counter resets: counter aggregate within 10% of raw', async () => {
    await compare('increase(ds_requests_total[1h])', 0.1);
  });
});
