/**
 * Bad input to strata store and strata query: malformed matchers, regexes that do not compile,
 * min_time > max_time, a request over the series limit, a corrupt block in the bucket and a
 * remote-read body that is not snappy. Each gets a clear gRPC or HTTP error, and the process
 * answers the next good request.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiTime } from '../services/prometheus.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { formatDumpLine } from '../support/dump.js';
import {
  decodeSeriesSamples,
  grpcError,
  samplesToDumpLines,
  storeApiClient,
  type StoreApiClient,
  type WireMatcher,
} from '../storeapi/client.js';
import { ReadRequestSchema } from '../../gen/prometheus/prompb/remote_pb.js';
import { toBinary } from '@bufbuild/protobuf';
import {
  filesystemConfigFile,
  freshSeed,
  httpJson,
  makeData,
  postRemoteRead,
  remoteReadBody,
  remoteReadDump,
  scratch,
  startQuery,
  startStore,
  stopAll,
  uploadBlocks,
  type QueryData,
  type Running,
  type Scratch,
} from './harness.js';

const seed = freshSeed();
const METRIC = 'strata_gen_requests_total';

let s: Scratch | undefined;
let good: QueryData;
let corruptUlid = '';
let store: Running | undefined;
let limited: Running | undefined;
let query: Running | undefined;
let storeClient: StoreApiClient | undefined;
let limitedClient: StoreApiClient | undefined;
let queryClient: StoreApiClient | undefined;

beforeAll(async () => {
  s = await scratch('strata-bad-input-');
  good = await makeData(
    { seed, series: 8, startMs: 1_700_006_400_000, durationMs: 3 * 3600_000, kinds: ['counter'] },
    s.path('good'),
  );
  // A block of another metric whose index is garbage once in the bucket.
  const bad = await makeData(
    {
      seed: seed + 1,
      series: 4,
      startMs: 1_700_006_400_000,
      durationMs: 3600_000,
      kinds: ['gauge'],
      metricNames: ['strata_corrupt_metric'],
    },
    s.path('bad'),
  );
  const bucket = s.path('bucket');
  await uploadBlocks(
    bucket,
    [...good.blocks, ...bad.blocks].map((b) => b.dir),
  );
  corruptUlid = bad.blocks[0]!.ulid;
  await writeFile(join(bucket, corruptUlid, 'index'), Buffer.alloc(4096, 0x5a));
  const config = await filesystemConfigFile(s, bucket);
  [store, limited] = await Promise.all([
    startStore({ objstoreConfigFile: config, dataDir: s.path('store') }, 'strata store'),
    startStore(
      {
        objstoreConfigFile: config,
        dataDir: s.path('limited'),
        extra: ['--store.limits.request-series', '1'],
      },
      'strata store (limited)',
    ),
  ]);
  query = await startQuery({ endpoints: [store.grpc] });
  storeClient = storeApiClient(store.grpc);
  limitedClient = storeApiClient(limited.grpc);
  queryClient = storeApiClient(query.grpc);
}, 120_000);

afterAll(async () => {
  for (const c of [storeClient, limitedClient, queryClient]) c?.close();
  await stopAll([store, limited, query]);
  await s?.cleanup();
  await assertNoLeakedProcesses();
});

const goodLines = (): string[] =>
  good.samples.map(formatDumpLine).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** A good request: the whole good data set, through gRPC. */
async function followUp(client: StoreApiClient): Promise<void> {
  const a = await client.series({
    minTime: good.minTime,
    maxTime: good.maxTime,
    matchers: [{ type: 'EQ', name: '__name__', value: METRIC }],
  });
  const got = samplesToDumpLines(decodeSeriesSamples(a.series)).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  expect(got).toEqual(goodLines());
}

async function seriesError(
  client: StoreApiClient,
  matchers: readonly WireMatcher[],
  minTime = good.minTime,
  maxTime = good.maxTime,
): Promise<{ code: string; message: string }> {
  const err = await client.series({ minTime, maxTime, matchers }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the request must fail').toBeDefined();
  return grpcError(err);
}

const BAD_REGEXES = ['(unclosed', '[z-a]', 'a{2,1}'];

describe(`bad input (seed ${seed})`, () => {
  it('a corrupt block is skipped with a warning naming it; the rest answers', async () => {
    await followUp(storeClient!);
    await followUp(queryClient!);
    expect(store!.process.output()).toContain(corruptUlid);
    expect(store!.process.output()).toMatch(/level=warn/);
  });

  for (const [name, client] of [
    ['strata store', (): StoreApiClient => storeClient!],
    ['strata query', (): StoreApiClient => queryClient!],
  ] as const) {
    it(`${name}: regexes that do not compile are InvalidArgument naming the regex`, async () => {
      for (const value of BAD_REGEXES) {
        for (const type of ['RE', 'NRE'] as const) {
          const e = await seriesError(client(), [
            { type: 'EQ', name: '__name__', value: METRIC },
            { type, name: 'instance', value },
          ]);
          expect(e.code, `${type} ${value}`).toBe('InvalidArgument');
          expect(e.message).toContain(value);
        }
      }
      await followUp(client());
    });

    it(`${name}: malformed matchers (empty name, no matcher at all) are InvalidArgument`, async () => {
      expect((await seriesError(client(), [{ type: 'EQ', name: '', value: 'x' }])).code).toBe(
        'InvalidArgument',
      );
      expect((await seriesError(client(), [])).code).toBe('InvalidArgument');
      await followUp(client());
    });

    it(`${name}: min_time > max_time is InvalidArgument`, async () => {
      const e = await seriesError(
        client(),
        [{ type: 'EQ', name: '__name__', value: METRIC }],
        good.maxTime,
        good.minTime,
      );
      expect(e.code).toBe('InvalidArgument');
      await followUp(client());
    });
  }

  it('a request over --store.limits.request-series is ResourceExhausted naming the limit', async () => {
    const e = await seriesError(limitedClient!, [{ type: 'EQ', name: '__name__', value: METRIC }]);
    expect(e.code).toBe('ResourceExhausted');
    expect(e.message).toMatch(/limit/i);
    const one = await limitedClient!.series({
      minTime: good.minTime,
      maxTime: good.maxTime,
      matchers: [
        { type: 'EQ', name: '__name__', value: METRIC },
        { type: 'EQ', name: 'instance', value: 'inst-0' },
      ],
    });
    expect(one.series.length).toBe(1);
  });

  it('HTTP API: malformed selectors, bad regexes and start > end are 400 bad_data', async () => {
    const p = (match: string, start = good.minTime, end = good.maxTime): URLSearchParams =>
      new URLSearchParams({ 'match[]': match, start: apiTime(start), end: apiTime(end) });
    const cases: [string, URLSearchParams][] = [
      ['unclosed selector', p('{instance="inst-0"')],
      ['bad regex', p('{instance=~"(unclosed"}')],
      ['start > end', p(METRIC, good.maxTime, good.minTime)],
      ['no match[]', new URLSearchParams({ start: apiTime(good.minTime) })],
    ];
    for (const [what, form] of cases) {
      const r = await httpJson<{ status?: string; errorType?: string; error?: string }>(
        `${query!.http}/api/v1/series`,
        form,
      );
      expect(r.status, `${what}: ${r.text}`).toBe(400);
      expect(r.body.status, what).toBe('error');
      expect(r.body.errorType, what).toBe('bad_data');
      expect(r.body.error, what).toBeTruthy();
    }
    const ok = await httpJson<{ data: unknown[] }>(`${query!.http}/api/v1/series`, p(METRIC));
    expect(ok.status).toBe(200);
    expect(ok.body.data.length).toBe(8);
  });

  it('remote read: a body that is not snappy, or snappy but not protobuf, is HTTP 400', async () => {
    const notSnappy = toBinary(ReadRequestSchema, create(ReadRequestSchema, {}));
    for (const [what, body] of [
      ['random bytes', new Uint8Array([0xff, 0xfe, 0xfd, 0x00, 0x01, 0x02, 0x03])],
      ['uncompressed protobuf', Uint8Array.from([...notSnappy, 0x0a, 0x02, 0x08, 0x01])],
      ['snappy of garbage', remoteReadGarbage()],
    ] as const) {
      const res = await postRemoteRead(query!.http, body);
      const text = await res.text();
      expect(res.status, `${what}: ${text}`).toBe(400);
      expect(text.length, what).toBeGreaterThan(0);
    }
    const got = await remoteReadDump(query!.http, {
      start: good.minTime,
      end: good.maxTime,
      matchers: [{ type: 'EQ', name: '__name__', value: METRIC }],
    });
    expect(got.sort()).toEqual(goodLines());
    // The well-formed request body helper still round-trips (guards the test itself).
    expect(remoteReadBody({ start: 0, end: 1, matchers: [] }).length).toBeGreaterThan(0);
  });
});

/** Valid snappy framing around bytes that are not a ReadRequest (a truncated varint field). */
function remoteReadGarbage(): Uint8Array {
  // snappy block: uvarint length 3, literal tag (len-1)<<2 = 0x08, then 3 bytes.
  return new Uint8Array([0x03, 0x08, 0x0a, 0xff, 0xff]);
}
