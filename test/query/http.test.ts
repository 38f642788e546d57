/**
 * The querier's HTTP side against in-test stores: remote read SAMPLES and STREAMED_XOR_CHUNKS
 * round trips (decoded and compared, CRC32C checked), bad bodies, and the Prometheus JSON API's
 * shapes and errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  ChunkedReadResponseSchema,
  ReadRequestSchema,
  ReadResponseSchema,
  ReadRequest_ResponseType,
} from '../../gen/prometheus/prompb/remote_pb.js';
import { PeerType } from '../../gen/thanos/info/infopb/rpc_pb.js';
import { decodeXorInto } from '../../src/tsdb/chunkenc/xor.js';
import { crc32c } from '../../src/tsdb/encoding/crc32c.js';
import { snappyCompress, snappyUncompress } from '../../src/util/snappy.js';
import {
  bufPoints,
  series,
  startFakeStore,
  startTestQuery,
  type FakeStore,
  type TestQuery,
} from './support.js';
import { SampleBuf } from '../../src/tsdb/samples/sample-buf.js';

const POINTS: [number, number][] = Array.from({ length: 300 }, (_, i) => [1000 * i, i * 1.5]);
let st: FakeStore;
let dead: FakeStore;
let q: TestQuery;

beforeAll(async () => {
  st = await startFakeStore({
    series: [
      series({ __name__: 'up', job: 'a', ü: 'ä' }, POINTS),
      series({ __name__: 'up', job: 'b' }, [[5000, Number.NaN]]),
      series({ __name__: 'down', job: 'a' }, [[1000, 7]]),
    ],
    labelSets: [{ cluster: 'x' }],
    groupId: 'g',
    peerType: PeerType.STORE,
  });
  dead = await startFakeStore({
    series: [],
    labelSets: [{ cluster: 'dead' }],
    groupId: 'gone',
    peerType: PeerType.STORE,
  });
  q = await startTestQuery([st.address, dead.address], { partialResponse: false });
  await dead.close();
});

afterAll(async () => {
  await q.close();
  await st.close();
});

const url = (p: string): string => `http://${q.httpAddress}${p}`;

function readRequest(types: ReadRequest_ResponseType[], start: number, end: number): Uint8Array {
  const req = create(ReadRequestSchema, {
    queries: [
      {
        startTimestampMs: BigInt(start),
        endTimestampMs: BigInt(end),
        matchers: [
          { name: '__name__', value: 'up', type: 0 },
          { name: 'job', value: '.+', type: 2 },
        ],
      },
    ],
    acceptedResponseTypes: types,
  });
  return snappyCompress(toBinary(ReadRequestSchema, req));
}

describe('remote read', () => {
  it('SAMPLES: snappy ReadResponse with the samples in [start, end]', async () => {
    const res = await fetch(url('/api/v1/read?partial_response=true'), {
      method: 'POST',
      body: readRequest([ReadRequest_ResponseType.SAMPLES], 4_000, 20_500),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-protobuf');
    expect(res.headers.get('content-encoding')).toBe('snappy');
    const body = new Uint8Array(await res.arrayBuffer());
    const rr = fromBinary(ReadResponseSchema, snappyUncompress(body, 1 << 24));
    expect(rr.results).toHaveLength(1);
    const ts = rr.results[0]!.timeseries;
    expect(ts.map((s) => s.labels.map((l) => `${l.name}=${l.value}`).join())).toEqual([
      '__name__=up,job=a,ü=ä',
      '__name__=up,job=b',
    ]);
    expect(ts[0]!.samples.map((s) => [Number(s.timestamp), s.value])).toEqual(
      POINTS.filter(([t]) => t >= 4_000 && t <= 20_500),
    );
    expect(Number.isNaN(ts[1]!.samples[0]!.value)).toBe(true);
  });

  it('STREAMED_XOR_CHUNKS: CRC-checked frames, one series each, XOR chunks of the samples', async () => {
    const res = await fetch(url('/api/v1/read?partial_response=true'), {
      method: 'POST',
      body: readRequest(
        [ReadRequest_ResponseType.STREAMED_XOR_CHUNKS, ReadRequest_ResponseType.SAMPLES],
        0,
        1e9,
      ),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(
      'application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse',
    );
    const body = new Uint8Array(await res.arrayBuffer());
    const got: { labels: string; points: [number, number][] }[] = [];
    let p = 0;
    while (p < body.length) {
      let len = 0;
      for (let shift = 0; ; shift += 7) {
        const b = body[p++]!;
        len += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) break;
      }
      // Prometheus' ChunkedWriter order: length, CRC32C of the message, message.
      const crc = new DataView(body.buffer, body.byteOffset + p, 4).getUint32(0);
      const msg = body.subarray(p + 4, p + 4 + len);
      expect(crc).toBe(crc32c(msg));
      p += 4 + len;
      const m = fromBinary(ChunkedReadResponseSchema, msg);
      expect(m.chunkedSeries).toHaveLength(1);
      expect(m.queryIndex).toBe(0n);
      const s = m.chunkedSeries[0]!;
      const buf = new SampleBuf(1 << 12);
      const points: [number, number][] = [];
      for (const c of s.chunks) {
        expect(c.type).toBe(1);
        const n = decodeXorInto(c.data, buf.ts, buf.hi, buf.lo);
        buf.len = n;
        const pts = bufPoints(buf);
        expect(Number(c.minTimeMs)).toBe(pts[0]![0]);
        expect(Number(c.maxTimeMs)).toBe(pts[n - 1]![0]);
        points.push(...pts);
      }
      got.push({ labels: s.labels.map((l) => `${l.name}=${l.value}`).join(), points });
    }
    expect(got.map((g) => g.labels)).toEqual(['__name__=up,job=a,ü=ä', '__name__=up,job=b']);
    expect(got[0]!.points).toEqual(POINTS);
  });

  it('a body that is not snappy, or not a ReadRequest, is a 400 saying so', async () => {
    const a = await fetch(url('/api/v1/read'), { method: 'POST', body: 'hello, not snappy' });
    expect(a.status).toBe(400);
    expect(await a.text()).toMatch(/not snappy/);
    const b = await fetch(url('/api/v1/read'), {
      method: 'POST',
      body: snappyCompress(Uint8Array.of(0xff, 0xff, 0xff)),
    });
    expect(b.status).toBe(400);
    expect(await b.text()).toMatch(/not a prometheus.ReadRequest/);
    const bad = create(ReadRequestSchema, { queries: [{ matchers: [{ name: 'a', value: '(', type: 2 }] }] });
    const c = await fetch(url('/api/v1/read'), {
      method: 'POST',
      body: snappyCompress(toBinary(ReadRequestSchema, bad)),
    });
    expect(c.status).toBe(400);
  });

  it('a dead group aborts remote read (partial responses off) with a 503 naming it', async () => {
    const res = await fetch(url('/api/v1/read'), { method: 'POST', body: readRequest([], 0, 1e9).slice() });
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('gone {cluster="dead"}');
  });
});

describe('Prometheus JSON API', () => {
  it('series, labels and label values with partial_response=true carry the warning', async () => {
    const s = await (
      await fetch(url('/api/v1/series?match[]=up&start=0&end=1000.5&partial_response=true'))
    ).json();
    expect(s).toEqual({
      status: 'success',
      data: [
        { __name__: 'up', job: 'a', ü: 'ä' },
        { __name__: 'up', job: 'b' },
      ],
      warnings: [expect.stringContaining('gone {cluster="dead"}')],
    });
    const l = await (
      await fetch(url('/api/v1/labels'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'match[]={job="a"}&partial_response=true&start=1970-01-01T00:00:00Z',
      })
    ).json();
    expect(l).toMatchObject({ status: 'success', data: ['__name__', 'job', 'ü'] });
    const v = await (
      await fetch(url('/api/v1/label/job/values?partial_response=1&match[]={job=~".%2B"}'))
    ).json();
    expect(v).toMatchObject({ status: 'success', data: ['a', 'b'] });
  });

  it('without partial responses a dead group is an error; bad input is 400 bad_data', async () => {
    const dead = await fetch(url('/api/v1/labels'));
    expect(dead.status).toBe(503);
    expect(await dead.json()).toMatchObject({ status: 'error', error: expect.stringContaining('gone') });
    for (const [path, msg] of [
      ['/api/v1/series?match[]=up{', 'invalid parameter "match[]"'],
      ['/api/v1/series?match[]={a=~"("}', 'invalid parameter "match[]"'],
      ['/api/v1/series', 'no match[] parameter provided'],
      [
        '/api/v1/series?match[]=up&start=yesterday',
        'invalid parameter "start": cannot parse "yesterday" to a valid timestamp',
      ],
      ['/api/v1/labels?end=1&start=2', 'end timestamp must not be before start time'],
      ['/api/v1/label/0bad/values', 'invalid label name'],
    ] as const) {
      const res = await fetch(url(path));
      expect(res.status, path).toBe(400);
      const body = (await res.json()) as Record<string, string>;
      expect(Object.keys(body).sort()).toEqual(['error', 'errorType', 'status']);
      expect(body.status).toBe('error');
      expect(body.errorType).toBe('bad_data');
      expect(body.error).toContain(msg);
    }
  });

  it('status, metrics, health and readiness', async () => {
    const status = (await (await fetch(url('/api/v1/status'))).json()) as {
      endpoints: {
        address: string;
        group: string;
        peerType: string;
        healthy: boolean;
        latencyMs: number | null;
      }[];
      groups: { name: string; kind: string }[];
    };
    const live = status.endpoints.find((e) => e.address === st.address)!;
    expect(live).toMatchObject({ group: 'g {cluster="x"}', peerType: 'STORE', healthy: true });
    expect(live.latencyMs).toBeGreaterThan(0);
    expect(status.endpoints.find((e) => e.address === dead.address)!.healthy).toBe(false);
    expect(status.groups.map((g) => [g.name, g.kind])).toEqual([
      ['g {cluster="x"}', 'replica'],
      ['gone {cluster="dead"}', 'replica'],
    ]);
    const metrics = await (await fetch(url('/metrics'))).text();
    expect(metrics).toMatch(
      /strata_query_group_requests_total\{group="g \{cluster=\\"x\\"\}",api="series",outcome="success"\} \d/,
    );
    expect(metrics).toContain('strata_query_group_request_duration_seconds_bucket');
    expect((await fetch(url('/-/ready'))).status).toBe(200);
    expect((await fetch(url('/-/healthy'))).status).toBe(200);
  });
});
