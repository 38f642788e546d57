/**
 * End-to-end harness for `strata store` and `strata query`: tracked child processes on free
 * loopback ports (stopped by PID, ready once /-/ready answers 200), filesystem buckets filled with
 * promtool blocks of freshly seeded data, the two Prometheus servers of the oracle (one holding
 * the blocks locally, one whose only data is remote read from `strata query`), and small HTTP
 * clients for remote read and the Prometheus HTTP API.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { compress, uncompress } from 'snappyjs';
import {
  QuerySchema,
  ReadRequestSchema,
  ReadRequest_ResponseType,
  ReadResponseSchema,
} from '../../gen/prometheus/prompb/remote_pb.js';
import { LabelMatcherSchema } from '../../gen/prometheus/prompb/types_pb.js';
import { forEachLimit } from '../../src/block/concurrency.js';
import { singleTenantLayout, multiTenantLayout } from '../../src/block/layout.js';
import { uploadBlock } from '../../src/block/upload.js';
import { openFilesystemBucket } from '../../src/objstore/filesystem-open.js';
import { startStrata, tail } from '../compactor/run.js';
import { promtoolBlocksParallel } from '../compactor/fixtures.js';
import { ensureBuilt } from '../support/build.js';
import { formatDumpLine, sortDumpLines, type Sample } from '../support/dump.js';
import { generateSamples, type GenerateOptions } from '../support/openmetrics.js';
import { freePort, waitFor, type TrackedProcess } from '../support/processes.js';
import {
  copyBlocksInto,
  remoteReadConfig,
  startPrometheus,
  type CreatedBlock,
  type PrometheusServer,
} from '../services/prometheus.js';
import type { WireMatcher } from '../storeapi/client.js';

/** Generous waits: CI is a loaded 2-core machine. */
export const READY_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// Scratch space and buckets

export interface Scratch {
  dir: string;
  /** A new path under the scratch dir (not created). */
  path(name: string): string;
  cleanup(): Promise<void>;
}

export async function scratch(prefix: string): Promise<Scratch> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  let n = 0;
  return {
    dir,
    path: (name) => join(dir, `${name}-${n++}`),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A Thanos-format objstore config file for a FILESYSTEM bucket at `bucketDir` (created). */
export async function filesystemConfigFile(s: Scratch, bucketDir: string): Promise<string> {
  await mkdir(bucketDir, { recursive: true });
  const file = s.path('objstore') + '.yml';
  await writeFile(file, `type: FILESYSTEM\nconfig:\n  directory: ${JSON.stringify(bucketDir)}\n`);
  return file;
}

/** Uploads block dirs to a filesystem bucket (tenant '' = single-tenant layout). */
export async function uploadBlocks(
  bucketDir: string,
  blockDirs: readonly string[],
  opts: { tenant?: string; externalLabels?: Record<string, string> } = {},
): Promise<void> {
  const bucket = await openFilesystemBucket({ directory: bucketDir, createIfMissing: true });
  const tenant = opts.tenant ?? '';
  const layout = tenant === '' ? singleTenantLayout() : multiTenantLayout();
  try {
    await forEachLimit(blockDirs, 4, async (dir) => {
      await uploadBlock(bucket, layout, tenant, dir, {
        ...(opts.externalLabels ? { externalLabels: opts.externalLabels } : {}),
      });
    });
  } finally {
    await bucket.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Data

/** A fresh seed per run unless STRATA_QUERY_SEED pins one (to replay a failure). */
export function freshSeed(): number {
  const pinned = process.env.STRATA_QUERY_SEED;
  return pinned !== undefined ? Number(pinned) : Math.floor(Math.random() * 2 ** 31);
}

export interface QueryData {
  seed: number;
  samples: Sample[];
  blocks: CreatedBlock[];
  /** First sample time and last sample time + 1 (ms). */
  minTime: number;
  maxTime: number;
  /** promtool-style dump lines of every sample (sorted as promtool prints them). */
  dump: string[];
}

/** Default oracle data: churn, gaps, jitter, special floats (NaN, ±Inf, -0) and unicode labels. */
export function oracleOptions(seed: number): GenerateOptions {
  return {
    seed,
    series: 24,
    startMs: 1_700_006_400_000,
    durationMs: 5 * 3600_000,
    intervalMs: 15_000,
    jitterMs: 400,
    gapProbability: 0.01,
    churn: 0.4,
    nan: true,
    trickyLabels: true,
    labelSets: [{ zone: 'eu-1' }, { zone: 'us-2' }, { zone: 'ap-ü' }],
  };
}

/** Generates samples and writes them as promtool blocks under `blocksDir` (one per 2h window). */
export async function makeData(opts: GenerateOptions, blocksDir: string): Promise<QueryData> {
  const samples = generateSamples(opts);
  const blocks = await promtoolBlocksParallel(samples, blocksDir, 3);
  let minTime = Infinity;
  let maxTime = -Infinity;
  for (const s of samples) {
    minTime = Math.min(minTime, s.t);
    maxTime = Math.max(maxTime, s.t + 1);
  }
  return {
    seed: opts.seed,
    samples,
    blocks,
    minTime,
    maxTime,
    dump: sortDumpLines(samples.map(formatDumpLine)),
  };
}

// ---------------------------------------------------------------------------------------------
// strata store / strata query

export interface Running {
  readonly name: string;
  readonly process: TrackedProcess;
  /** host:port of the gRPC server. */
  readonly grpc: string;
  /** http://host:port */
  readonly http: string;
  stop(): Promise<void>;
  /** SIGSTOP / SIGCONT / SIGKILL by PID. */
  signal(sig: 'SIGSTOP' | 'SIGCONT' | 'SIGKILL'): void;
}

async function startServer(name: string, args: (grpc: number, http: number) => string[]): Promise<Running> {
  await ensureBuilt();
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const grpcPort = await freePort();
    const httpPort = await freePort();
    const proc = startStrata(args(grpcPort, httpPort));
    const http = `http://127.0.0.1:${httpPort}`;
    try {
      await waitFor(
        `${name} /-/ready`,
        async () => {
          if (proc.exited()) throw new Error(`${name} exited:\n${tail(proc.output())}`);
          const res = await fetch(`${http}/-/ready`);
          await res.arrayBuffer();
          return res.status === 200 ? true : undefined;
        },
        READY_MS,
        100,
      );
      let stopped = false;
      return {
        name,
        process: proc,
        grpc: `127.0.0.1:${grpcPort}`,
        http,
        async stop(): Promise<void> {
          if (stopped) return;
          stopped = true;
          try {
            process.kill(proc.pid, 'SIGCONT');
          } catch {
            /* gone */
          }
          await proc.stop('SIGTERM', 10_000);
        },
        signal(sig): void {
          process.kill(proc.pid, sig);
        },
      };
    } catch (err) {
      lastErr = err;
      await proc.stop('SIGKILL', 1000);
      if (!/EADDRINUSE|address already in use/.test(proc.output())) break;
    }
  }
  throw lastErr instanceof Error ? lastErr : new Error(String(lastErr));
}

export interface StoreOptions {
  objstoreConfigFile: string;
  dataDir: string;
  tenant?: string;
  groupId?: string;
  peerType?: 'store' | 'source';
  deleteDelay?: string;
  extra?: readonly string[];
}

/** `strata store` over a bucket, ready once its blocks are loaded. */
export async function startStore(o: StoreOptions, name = 'strata store'): Promise<Running> {
  return startServer(name, (grpc, http) => [
    'store',
    '--objstore.config-file',
    o.objstoreConfigFile,
    '--data-dir',
    o.dataDir,
    ...(o.tenant !== undefined ? ['--tenancy', 'multi', '--tenant', o.tenant] : []),
    '--grpc-address',
    `127.0.0.1:${grpc}`,
    '--http-address',
    `127.0.0.1:${http}`,
    '--sync-interval',
    '1s',
    '--consistency-delay',
    '0s',
    ...(o.groupId !== undefined ? ['--store.group-id', o.groupId] : []),
    ...(o.peerType !== undefined ? ['--store.peer-type', o.peerType] : []),
    ...(o.deleteDelay !== undefined ? ['--delete-delay', o.deleteDelay] : []),
    ...(o.extra ?? []),
  ]);
}

export interface QueryOptions {
  endpoints: readonly string[];
  replicaLabel?: string;
  dedupFunc?: 'penalty' | 'chain';
  partialResponse?: boolean;
  extra?: readonly string[];
}

/** `strata query` in front of Store API endpoints, ready once its first info round is done. */
export async function startQuery(o: QueryOptions, name = 'strata query'): Promise<Running> {
  return startServer(name, (grpc, http) => [
    'query',
    ...o.endpoints.flatMap((e) => ['--endpoint', e]),
    '--grpc-address',
    `127.0.0.1:${grpc}`,
    '--http-address',
    `127.0.0.1:${http}`,
    '--endpoint.info-interval',
    '1s',
    ...(o.replicaLabel !== undefined ? ['--query.replica-label', o.replicaLabel] : []),
    ...(o.dedupFunc !== undefined ? ['--deduplication.func', o.dedupFunc] : []),
    ...(o.partialResponse ? ['--query.partial-response'] : []),
    ...(o.extra ?? []),
  ]);
}

/** Waits until the querier's /api/v1/status lists `n` healthy endpoints (text search, shape-agnostic). */
export async function waitHealthyEndpoints(q: Running, addresses: readonly string[]): Promise<void> {
  await waitFor(
    `${q.name} to see ${addresses.join(', ')}`,
    async () => {
      const res = await fetch(`${q.http}/api/v1/status`);
      const text = await res.text();
      return res.status === 200 && addresses.every((a) => text.includes(a)) ? true : undefined;
    },
    READY_MS,
    200,
  );
}

/** Stops servers in reverse order of start, whatever fails. */
export async function stopAll(servers: readonly (Running | PrometheusServer | undefined)[]): Promise<void> {
  for (const s of [...servers].reverse()) await s?.stop().catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------
// The two Prometheus servers of the oracle

/** A Prometheus whose data dir holds copies of `blocks` (its own local TSDB answers). */
export async function startLocalPrometheus(
  s: Scratch,
  blocks: readonly CreatedBlock[],
): Promise<PrometheusServer> {
  const dataDir = s.path('prom-local');
  await copyBlocksInto(
    dataDir,
    blocks.map((b) => b.dir),
  );
  return startPrometheus({ dataDir });
}

/** A Prometheus with an empty data dir whose only data source is remote read from `query`. */
export async function startRemoteReadPrometheus(s: Scratch, query: Running): Promise<PrometheusServer> {
  return startPrometheus({
    dataDir: s.path('prom-remote'),
    config: remoteReadConfig(`${query.http}/api/v1/read`),
  });
}

// ---------------------------------------------------------------------------------------------
// HTTP clients

export interface HttpAnswer<T = unknown> {
  status: number;
  body: T;
  text: string;
}

/** GET or form-POST a Prometheus-style JSON API; the body is parsed when it is JSON. */
export async function httpJson<T = Record<string, unknown>>(
  url: string,
  form?: URLSearchParams,
): Promise<HttpAnswer<T>> {
  const res = await fetch(url, form ? { method: 'POST', body: form } : undefined);
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body: body as T, text };
}

/** The remote-read matcher numbering of prompb (EQ=0, NEQ=1, RE=2, NRE=3), as in the Store API. */
const PROMPB_TYPE: Readonly<Record<WireMatcher['type'], number>> = { EQ: 0, NEQ: 1, RE: 2, NRE: 3 };

/** A snappy-compressed prompb.ReadRequest body asking for SAMPLES. */
export function remoteReadBody(q: {
  start: number;
  end: number;
  matchers: readonly WireMatcher[];
}): Uint8Array {
  const req = create(ReadRequestSchema, {
    queries: [
      create(QuerySchema, {
        startTimestampMs: BigInt(q.start),
        endTimestampMs: BigInt(q.end),
        matchers: q.matchers.map((m) =>
          create(LabelMatcherSchema, { type: PROMPB_TYPE[m.type], name: m.name, value: m.value }),
        ),
      }),
    ],
    acceptedResponseTypes: [ReadRequest_ResponseType.SAMPLES],
  });
  return compress(toBinary(ReadRequestSchema, req));
}

/** POSTs a raw body to /api/v1/read with the headers Prometheus sends. */
export async function postRemoteRead(queryHttp: string, body: Uint8Array): Promise<Response> {
  return fetch(`${queryHttp}/api/v1/read`, {
    method: 'POST',
    body,
    headers: {
      'Content-Type': 'application/x-protobuf',
      'Content-Encoding': 'snappy',
      'X-Prometheus-Remote-Read-Version': '0.1.0',
    },
  });
}

/** Remote read (SAMPLES) of one query: every sample as a dump line, in the order received. */
export async function remoteReadDump(
  queryHttp: string,
  q: { start: number; end: number; matchers: readonly WireMatcher[] },
  dropLabels: readonly string[] = [],
): Promise<string[]> {
  const res = await postRemoteRead(queryHttp, remoteReadBody(q));
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200)
    throw new Error(`remote read: HTTP ${res.status}: ${Buffer.from(bytes).toString()}`);
  const resp = fromBinary(ReadResponseSchema, uncompress(bytes));
  const out: string[] = [];
  for (const r of resp.results) {
    for (const ts of r.timeseries) {
      const labels: Record<string, string> = {};
      for (const l of ts.labels) if (!dropLabels.includes(l.name)) labels[l.name] = l.value;
      for (const s of ts.samples) out.push(formatDumpLine({ labels, t: Number(s.timestamp), v: s.value }));
    }
  }
  return out;
}

/** Percentile (0..100) of a list of numbers, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(0, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[rank] ?? NaN;
}
