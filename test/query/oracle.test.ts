/**
 * The oracle: a Prometheus holding promtool blocks locally and a Prometheus whose only data is
 * remote read → strata query → strata store over the same blocks in a bucket answer the same
 * query_range and /api/v1/series requests identically, on data generated from a fresh seed
 * (printed in the suite name; STRATA_QUERY_SEED replays one).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiTime, type PrometheusServer } from '../services/prometheus.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import {
  filesystemConfigFile,
  freshSeed,
  httpJson,
  makeData,
  oracleOptions,
  remoteReadDump,
  scratch,
  startLocalPrometheus,
  startQuery,
  startRemoteReadPrometheus,
  startStore,
  stopAll,
  uploadBlocks,
  type QueryData,
  type Running,
  type Scratch,
} from './harness.js';

const seed = freshSeed();

let s: Scratch | undefined;
let data: QueryData;
let store: Running | undefined;
let query: Running | undefined;
let local: PrometheusServer | undefined;
let remote: PrometheusServer | undefined;

beforeAll(async () => {
  s = await scratch('strata-oracle-');
  data = await makeData(oracleOptions(seed), s.path('blocks'));
  const bucket = s.path('bucket');
  await uploadBlocks(
    bucket,
    data.blocks.map((b) => b.dir),
  );
  store = await startStore({
    objstoreConfigFile: await filesystemConfigFile(s, bucket),
    dataDir: s.path('store'),
  });
  query = await startQuery({ endpoints: [store.grpc] });
  [local, remote] = await Promise.all([
    startLocalPrometheus(s, data.blocks),
    startRemoteReadPrometheus(s, query),
  ]);
}, 120_000);

afterAll(async () => {
  await stopAll([store, query, local, remote]);
  await s?.cleanup();
  await assertNoLeakedProcesses();
});

interface PromAnswer {
  status: number;
  body: { status?: string; data?: unknown; warnings?: unknown; error?: string };
}

async function rangeQuery(url: string, query: string, step: number): Promise<PromAnswer> {
  const params = new URLSearchParams({
    query,
    start: apiTime(data.minTime - 60_000),
    end: apiTime(data.maxTime + 10 * 60_000),
    step: apiTime(step),
  });
  return httpJson(`${url}/api/v1/query_range`, params);
}

const QUERIES: readonly string[] = [
  'rate(strata_gen_requests_total[5m])',
  'sum by (zone) (rate(strata_gen_requests_total[5m]))',
  'strata_gen_temperature_celsius{zone=~"eu-.*|ap-ü"}',
  '{__name__=~"strata_gen_.*", instance!~"inst-1.*"}',
  'strata_gen_edge_values',
  'max_over_time(strata_gen_temperature_celsius[10m])',
  'min_over_time(strata_gen_edge_values[3m])',
  'count by (__name__, zone) ({job="strata-gen"})',
  'avg without (instance) (strata_gen_up)',
  'absent(strata_gen_requests_total{zone="nowhere"})',
  'absent(strata_gen_up)',
  '{detail=~".*☃.*"}',
  'strata_gen_up{detail!=""}',
];

describe(`oracle: local Prometheus vs remote read through strata query and strata store (seed ${seed})`, () => {
  it('holds data from the generated blocks', () => {
    expect(data.blocks.length).toBeGreaterThan(1);
    expect(data.samples.length).toBeGreaterThan(1000);
  });

  for (const q of QUERIES) {
    it(`query_range ${q} is identical`, async () => {
      for (const step of [60_000, 37_000]) {
        const [a, b] = await Promise.all([rangeQuery(local!.url, q, step), rangeQuery(remote!.url, q, step)]);
        expect(a.status, JSON.stringify(a.body)).toBe(200);
        expect(b.status, JSON.stringify(b.body)).toBe(200);
        expect(b.body.warnings, `seed ${seed}`).toBeUndefined();
        // Exact JSON: values are strings, NaN/±Inf spelled as Prometheus spells them.
        expect(JSON.stringify(b.body.data), `seed ${seed} step ${step}`).toBe(JSON.stringify(a.body.data));
      }
    });
  }

  const SERIES_MATCHES: readonly string[][] = [
    ['{job="strata-gen"}'],
    ['strata_gen_requests_total', '{zone="ap-ü"}'],
    ['{__name__=~"strata_gen_(up|edge_values)", instance=~"inst-(1|2|3).*"}'],
    ['{detail=~".+", zone!="us-2"}'],
  ];

  async function series(
    url: string,
    match: readonly string[],
    start: number,
    end: number,
  ): Promise<PromAnswer> {
    const p = new URLSearchParams({ start: apiTime(start), end: apiTime(end) });
    for (const m of match) p.append('match[]', m);
    return httpJson(`${url}/api/v1/series`, p);
  }

  /** Series answers compared as sets (the API does not promise an order). */
  function canonical(a: PromAnswer): string[] {
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    const list = a.body.data as Record<string, string>[];
    return list.map((l) => JSON.stringify(Object.entries(l).sort(([x], [y]) => (x < y ? -1 : 1)))).sort();
  }

  for (const match of SERIES_MATCHES) {
    it(`/api/v1/series ${match.join(' ')} is identical (local, strata query, remote-read Prometheus)`, async () => {
      const ranges: [number, number][] = [
        [data.minTime, data.maxTime],
        // A window inside the data: churned series outside it must be left out by all three.
        [data.minTime + 3600_000, data.minTime + 2 * 3600_000],
      ];
      for (const [start, end] of ranges) {
        const want = canonical(await series(local!.url, match, start, end));
        expect(want.length, `seed ${seed}: the oracle found nothing`).toBeGreaterThan(0);
        expect(canonical(await series(query!.http, match, start, end)), `strata query, seed ${seed}`).toEqual(
          want,
        );
        expect(canonical(await series(remote!.url, match, start, end)), `remote read, seed ${seed}`).toEqual(
          want,
        );
      }
    });
  }

  it('remote read of everything returns exactly the generated samples', async () => {
    const got = await remoteReadDump(query!.http, {
      start: data.minTime,
      end: data.maxTime,
      matchers: [{ type: 'RE', name: '__name__', value: '.+' }],
    });
    expect(got.length, `seed ${seed}`).toBe(data.dump.length);
    expect(got, `seed ${seed}`).toEqual(data.dump);
  });

  it('/api/v1/labels and /api/v1/label/<name>/values agree with the local Prometheus', async () => {
    const p = `start=${apiTime(data.minTime)}&end=${apiTime(data.maxTime)}`;
    for (const path of ['/api/v1/labels', '/api/v1/label/zone/values', '/api/v1/label/detail/values']) {
      const a = await httpJson<PromAnswer['body']>(`${local!.url}${path}?${p}`);
      const b = await httpJson<PromAnswer['body']>(`${query!.http}${path}?${p}`);
      expect(b.status, b.text).toBe(200);
      expect(b.body.data, `${path}, seed ${seed}`).toEqual(a.body.data);
    }
  });
});
