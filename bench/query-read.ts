/**
 * Figures 1 and 2 of bench/query.ts: the same query_range on a local Prometheus and on Prometheus
 * → remote read → strata query → strata store; Series throughput of strata store alone.
 */
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { createClient, type Client } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { join } from 'node:path';
import { ReadRequest_ResponseType, ReadRequestSchema } from '../gen/prometheus/prompb/remote_pb.js';
import { Store, type SeriesRequestSchema } from '../gen/thanos/store/storepb/rpc_pb.js';
import type { Series } from '../gen/thanos/store/storepb/types_pb.js';
import { snappyCompress } from '../src/util/snappy.js';
import type { SynthBlock } from '../src/tsdb/synth/write.js';
import {
  copyBlocksInto,
  queryRange,
  remoteReadConfig,
  startPrometheus,
  type QueryRangeResponse,
} from '../test/services/prometheus.js';
import { dataBytes, sequentialRead } from './query-blocks.js';
import { cpuMs, startStrata, waitHealthyEndpoints, waitReady, type StrataChild } from './query-procs.js';
import { fmtMs, median, objstoreConfig, row, type BenchFlags, type Running } from './query-util.js';

/** ~1,000 series: http_requests_total is every 8th of the 10k, spread over job-0..job-9. */
const SELECTOR = 'http_requests_total{job=~"job-[0-7]"}';
const QUERY = `sum(rate(${SELECTOR}[5m]))`;
const MATCHERS = [
  { type: 0, name: '__name__', value: 'http_requests_total' },
  { type: 2, name: 'job', value: 'job-[0-7]' },
];
const STEP = 3_600_000;
const RATE_RANGE = 300_000;

export type StoreClient = Client<typeof Store>;
export type SeriesInit = MessageInitShape<typeof SeriesRequestSchema>;

/** A Store API client; `gzip` false: no compression accepted (connect-node accepts gzip by default). */
export function storeClient(grpc: string, gzip = true): StoreClient {
  return createClient(
    Store,
    createGrpcTransport({ baseUrl: `http://${grpc}`, ...(gzip ? {} : { acceptCompression: [] }) }),
  );
}

export interface SeriesStats {
  series: number;
  chunks: number;
  chunkBytes: number;
}

/** Drains one Series call. */
export async function drainSeries(client: StoreClient, req: SeriesInit): Promise<SeriesStats> {
  const st: SeriesStats = { series: 0, chunks: 0, chunkBytes: 0 };
  const add = (s: Series): void => {
    st.series++;
    st.chunks += s.chunks.length;
    for (const c of s.chunks) st.chunkBytes += c.raw?.data.length ?? 0;
  };
  for await (const r of client.series(req)) {
    if (r.result.case === 'series') add(r.result.value);
    else if (r.result.case === 'batch') for (const s of r.result.value.series) add(s);
  }
  return st;
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const v = await fn();
  return [performance.now() - t0, v];
}

/** Exact equality of two matrices, or how far apart they are. */
function compareAnswers(a: QueryRangeResponse, b: QueryRangeResponse): string {
  const ra = a.data.result;
  const rb = b.data.result;
  if (JSON.stringify(ra) === JSON.stringify(rb)) {
    return `yes, identical (${ra.length} series, ${ra.reduce((n, s) => n + s.values.length, 0)} points)`;
  }
  if (ra.length !== rb.length) return `NO: ${ra.length} vs ${rb.length} series`;
  let maxRel = 0;
  let diffs = 0;
  for (let i = 0; i < ra.length; i++) {
    const va = ra[i]!.values;
    const vb = rb[i]!.values;
    if (JSON.stringify(ra[i]!.metric) !== JSON.stringify(rb[i]!.metric) || va.length !== vb.length)
      return `NO: series ${i} differs in labels or timestamps`;
    for (let j = 0; j < va.length; j++) {
      if (va[j]![0] !== vb[j]![0]) return `NO: series ${i} differs in timestamps`;
      const x = Number(va[j]![1]);
      const y = Number(vb[j]![1]);
      if (va[j]![1] !== vb[j]![1]) diffs++;
      if (x !== y) maxRel = Math.max(maxRel, Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y)));
    }
  }
  return `NO: ${diffs} points differ, max relative difference ${maxRel.toExponential(2)}`;
}

/** A remote read request as Prometheus sends it for the query. */
function readRequestBody(startMs: number, endMs: number, type: ReadRequest_ResponseType): Uint8Array {
  const req = create(ReadRequestSchema, {
    queries: [
      {
        startTimestampMs: BigInt(startMs),
        endTimestampMs: BigInt(endMs),
        matchers: MATCHERS,
        hints: {
          stepMs: BigInt(STEP),
          func: 'rate',
          startMs: BigInt(startMs),
          endMs: BigInt(endMs),
          rangeMs: BigInt(RATE_RANGE),
        },
      },
    ],
    acceptedResponseTypes: [type],
  });
  return snappyCompress(toBinary(ReadRequestSchema, req));
}

export async function queryFigure(
  f: BenchFlags,
  tmp: string,
  bucket: string,
  blocks: readonly SynthBlock[],
  running: Running,
): Promise<void> {
  console.log(`1. query_range ${QUERY}, 24 h, step 1 h`);
  const start = blocks[0]!.meta.minTime;
  const end = blocks[blocks.length - 1]!.meta.maxTime;
  const localDir = join(tmp, 'prom-local');
  await copyBlocksInto(
    localDir,
    blocks.map((b) => b.dir),
  );
  // max-block-duration=2h: Prometheus' compactor leaves the 2 h blocks alone while we measure.
  const local = await startPrometheus({
    dataDir: localDir,
    retention: '100y',
    extraArgs: ['--storage.tsdb.max-block-duration=2h', '--log.level=warn'],
    timeoutMs: 120_000,
  });
  running.proms.push(local);
  const prof = f.cpuProf !== undefined ? { cpuProfDir: f.cpuProf } : {};
  const cfg = await objstoreConfig(tmp, bucket, 'objstore');
  const store = await startStrata(
    'store',
    'store',
    ['--objstore.config-file', cfg, '--data-dir', join(tmp, 'store')],
    prof,
  );
  running.children.push(store);
  await waitReady(store);
  const query = await startStrata(
    'query',
    'query',
    ['--endpoint', store.grpc, '--endpoint.info-interval', '2s'],
    prof,
  );
  running.children.push(query);
  await waitReady(query);
  await waitHealthyEndpoints(query, 1);
  const remote = await startPrometheus({
    dataDir: join(tmp, 'prom-remote'),
    retention: '100y',
    extraArgs: ['--log.level=warn'],
    config: remoteReadConfig(`${query.http}/api/v1/read`),
  });
  running.proms.push(remote);

  const ask = (url: string): Promise<QueryRangeResponse> => queryRange(url, QUERY, start, end, STEP);
  const count = await queryRange(local.url, `count(count_over_time(${SELECTOR}[1d]))`, end, end, STEP);
  console.log(`   selector ${SELECTOR} matches ${count.data.result[0]?.values[0]?.[1] ?? '?'} series`);
  await ask(local.url);
  // --quick warms the remote path up on 2 h of the range (a full run of it takes ~15 s).
  if (f.quick) await queryRange(remote.url, QUERY, start, start + 2 * STEP, STEP);
  else await ask(remote.url);
  const tl: number[] = [];
  const tr: number[] = [];
  let answers: [QueryRangeResponse, QueryRangeResponse] | undefined;
  for (let i = 0; i < f.runs; i++) {
    const [a, ra] = await timed(() => ask(local.url));
    const [b, rb] = await timed(() => ask(remote.url));
    tl.push(a);
    tr.push(b);
    answers = [ra, rb];
  }
  const ml = median(tl);
  const mr = median(tr);
  const w = [52, 10, 10, 10];
  console.log(row(['', 'median', 'anchor', 'ratio', 'target'], w));
  console.log(row(['   local Prometheus 2.42 (anchor)', fmtMs(ml)], w));
  console.log(
    row(
      [
        '   Prometheus → remote read → strata query → store',
        fmtMs(mr),
        fmtMs(ml),
        `${(mr / ml).toFixed(1)}×`,
        `≤ 2× ${mr / ml <= 2 ? 'met' : 'MISSED'}`,
      ],
      w,
    ),
  );
  console.log(`   answers equal: ${answers ? compareAnswers(answers[0], answers[1]) : '?'}`);

  // Where the time goes: the same remote read without Prometheus, and the store's Series alone.
  const samplesBody = readRequestBody(start - RATE_RANGE, end, ReadRequest_ResponseType.SAMPLES);
  const streamedBody = readRequestBody(start - RATE_RANGE, end, ReadRequest_ResponseType.STREAMED_XOR_CHUNKS);
  const read = async (body: Uint8Array): Promise<number> => {
    const res = await fetch(`${query.http}/api/v1/read`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
      body,
    });
    if (res.status !== 200) throw new Error(`remote read: HTTP ${res.status}: ${await res.text()}`);
    return (await res.arrayBuffer()).byteLength;
  };
  const client = storeClient(store.grpc);
  const rr: number[] = [];
  const rs: number[] = [];
  const ss: number[] = [];
  let rrBytes = 0;
  let rsBytes = 0;
  let st: SeriesStats | undefined;
  for (let i = 0; i < f.runs; i++) {
    const [a, bytes] = await timed(() => read(samplesBody));
    rr.push(a);
    rrBytes = bytes;
    const [c, sbytes] = await timed(() => read(streamedBody));
    rs.push(c);
    rsBytes = sbytes;
    const [b, s] = await timed(() =>
      drainSeries(client, { minTime: BigInt(start - RATE_RANGE), maxTime: BigInt(end), matchers: MATCHERS }),
    );
    ss.push(b);
    st = s;
  }
  const mrr = median(rr);
  const mss = median(ss);
  console.log('   where the time goes (medians, same matchers and range as Prometheus asks):');
  console.log(
    `     strata store Series alone (gRPC as strata query asks, ${st?.series} series, ${st?.chunks} chunks): ${fmtMs(mss)}`,
  );
  console.log(
    `     strata query remote read alone, SAMPLES as Prometheus 2.42 asks (${(rrBytes / 1e6).toFixed(1)} MB snappy), ` +
      `incl. the store: ${fmtMs(mrr)} (querier's own share ${fmtMs(mrr - mss)})`,
  );
  console.log(
    `     same as STREAMED_XOR_CHUNKS (newer Prometheus; ${(rsBytes / 1e6).toFixed(1)} MB): ${fmtMs(median(rs))}`,
  );
  console.log(`     Prometheus' remaining share (decode the response, evaluate): ${fmtMs(mr - mrr)}\n`);
}

interface SeriesRun {
  ms: number;
  storeCpuMs: number;
  clientCpuMs: number;
  stats: SeriesStats;
}

async function seriesRuns(
  store: StrataChild,
  client: StoreClient,
  req: SeriesInit,
  runs: number,
): Promise<SeriesRun[]> {
  const out: SeriesRun[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = cpuMs(store.proc.pid);
    const u0 = process.cpuUsage();
    const [ms, stats] = await timed(() => drainSeries(client, req));
    const u = process.cpuUsage(u0);
    out.push({ ms, storeCpuMs: cpuMs(store.proc.pid) - c0, clientCpuMs: (u.user + u.system) / 1000, stats });
  }
  return out;
}

export async function seriesFigure(
  f: BenchFlags,
  tmp: string,
  bucket: string,
  all: readonly SynthBlock[],
  running: Running,
): Promise<void> {
  // --quick: the first 6 h (3 blocks) of the 24 h; the rate is what is measured.
  const blocks = f.quick ? all.slice(0, 3) : all;
  const hours = (blocks[blocks.length - 1]!.meta.maxTime - blocks[0]!.meta.minTime) / 3_600_000;
  const runs = f.quick ? 1 : 2;
  console.log(
    `2. Series of strata store alone: all 10,000 series × ${hours} h with chunks (${runs} run(s) after a warm-up)`,
  );
  const prof = f.cpuProf !== undefined ? { cpuProfDir: f.cpuProf } : {};
  const cfg = await objstoreConfig(tmp, bucket, 'objstore');
  const store = await startStrata(
    'store-series',
    'store',
    ['--objstore.config-file', cfg, '--data-dir', join(tmp, 'store-series')],
    prof,
  );
  running.children.push(store);
  await waitReady(store);
  const req: SeriesInit = {
    minTime: BigInt(blocks[0]!.meta.minTime),
    maxTime: BigInt(blocks[blocks.length - 1]!.meta.maxTime - 1),
    matchers: [{ type: 2, name: '__name__', value: '.+' }],
  };
  // strata query's client accepts gzip (connect-node's default), so the store compresses.
  const gzip = storeClient(store.grpc);
  const plain = storeClient(store.grpc, false);
  await drainSeries(plain, req);
  const withGzip = await seriesRuns(store, gzip, req, runs);
  const noGzip = await seriesRuns(store, plain, req, runs);
  const reads: { bytes: number; ms: number }[] = [];
  for (let i = 0; i < Math.max(runs, 3); i++) reads.push(await sequentialRead(blocks));
  const readMs = median(reads.map((r) => r.ms));
  const fileBytes = await dataBytes(blocks);
  const readMBs = fileBytes / 1e6 / (readMs / 1000);
  const st = noGzip[0]!.stats;
  console.log(
    `   ${st.series} series, ${st.chunks} chunks, ${(st.chunkBytes / 1e6).toFixed(0)} MB chunk data; ` +
      `block files (index + chunks) ${(fileBytes / 1e6).toFixed(0)} MB`,
  );
  const w = [46, 9, 10, 10, 11, 12];
  console.log(row(['', 'median', 'series/s', 'MB/s', 'store CPU', 'bench CPU'], w));
  const line = (name: string, rs: SeriesRun[]): number => {
    const ms = median(rs.map((r) => r.ms));
    const cpu = median(rs.map((r) => r.storeCpuMs));
    console.log(
      row(
        [
          name,
          fmtMs(ms),
          (st.series / (ms / 1000)).toFixed(0),
          (st.chunkBytes / 1e6 / (ms / 1000)).toFixed(1),
          `${((100 * cpu) / ms).toFixed(0)}% of wall`,
          fmtMs(median(rs.map((r) => r.clientCpuMs))),
        ],
        w,
      ),
    );
    return st.chunkBytes / 1e6 / (ms / 1000);
  };
  line('   store Series, gzip accepted (as strata query)', withGzip);
  const best = line('   store Series, no compression', noGzip);
  console.log(
    row(['   anchor: sequential read of the block files', fmtMs(readMs), '', readMBs.toFixed(0)], w),
  );
  console.log(
    `   store at ${((100 * best) / readMBs).toFixed(1)}% of the read speed (page cache warm): ` +
      `bounded by the bucket ${best / readMBs > 0.5 ? 'met' : 'MISSED (CPU-bound)'}\n`,
  );
}
