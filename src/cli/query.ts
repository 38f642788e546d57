/**
 * `strata query`: the querier over Store API endpoints (strata store, strata query, Thanos
 * sidecars and stores). Serves remote read and the Prometheus label/series API on
 * --http-address and the Store API on --grpc-address; SIGTERM stops it.
 */
import { type Command, Option } from 'commander';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { InvalidArgumentError } from '../util/errors.js';
import { startQueryService } from '../query/service.js';
import type { DedupFunc } from '../query/merge.js';
import { REPLICA_STRATEGIES, type ReplicaStrategy } from '../query/fanout.js';
import { durationArg, listArg } from './args.js';
import {
  grpcClientTlsOptions,
  grpcServerTlsOptions,
  loadGrpcClientTls,
  parseGrpcServerTls,
  type GrpcClientTlsFlags,
  type GrpcServerTlsFlags,
} from './grpc-tls-flags.js';
import { parseLogging, untilSignalled } from './sync-setup.js';
import { serveWebUi, webOptions, type WebFlags } from './web-setup.js';
import { mountEndpointsApi, QUERY_PAGE } from '../web/endpoints-api.js';
import { httpConfigOptions, httpConfigOption, readHttpConfig, type HttpConfigFlags } from './http-flags.js';

export interface QueryFlags extends GrpcServerTlsFlags, GrpcClientTlsFlags, WebFlags, HttpConfigFlags {
  endpoint: string[];
  'endpoint.infoInterval': number;
  'store.responseTimeout': number;
  'query.replicaLabel': string[];
  'deduplication.func': string;
  'query.partialResponse': boolean;
  'query.groupId': string;
  'query.replicaStrategy': string;
  'query.autoDownsampling': boolean;
  httpAddress: string;
  grpcAddress: string;
  'log.level': string;
  'log.format': string;
}

export function queryCommandOptions(cmd: Command): Command {
  return httpConfigOptions(webOptions(grpcClientTlsOptions(grpcServerTlsOptions(cmd))))
    .option('--endpoint <host:port>', 'Store API endpoint, repeated or comma-separated', listArg, [])
    .option(
      '--endpoint.info-interval <duration>',
      'how often Info is called on every endpoint',
      durationArg,
      10_000,
    )
    .option(
      '--store.response-timeout <duration>',
      'how long source groups are waited for (0: no limit)',
      durationArg,
      0,
    )
    .option(
      '--query.replica-label <name>',
      'label that tells replicas apart, removed by dedup (repeatable)',
      listArg,
      [],
    )
    .addOption(
      new Option('--deduplication.func <func>', 'how replicas are deduplicated')
        .choices(['penalty', 'chain'])
        .default('penalty'),
    )
    .option(
      '--query.partial-response',
      'answer with a warning when a whole store group fails (default: abort)',
      false,
    )
    .addOption(
      new Option(
        '--query.replica-strategy <s>',
        'replica groups: two-random (+ first answer), one-random, all (for benchmarks)',
      )
        .choices(REPLICA_STRATEGIES)
        .default('two-random'),
    )
    .option(
      '--query.auto-downsampling',
      'remote read: read downsampled blocks up to step / 5 resolution (max_resolution_window; default raw only)',
      false,
    )
    .option('--query.group-id <id>', 'store_group_id announced in Info (empty: a standalone querier)', '')
    .option(
      '--http-address <host:port>',
      'remote read, /api/v1/*, /metrics, /-/healthy, /-/ready',
      '127.0.0.1:10904',
    )
    .option('--grpc-address <host:port>', 'Store API and Info API (gRPC)', '127.0.0.1:10903')
    .option('--log.level <level>', 'debug, info, warn or error', 'info')
    .option('--log.format <format>', 'logfmt or json', 'logfmt');
}

export async function runQueryCommand(f: QueryFlags, signal: AbortSignal): Promise<void> {
  const logger = parseLogging(f);
  if (f.endpoint.length === 0)
    throw new InvalidArgumentError('--endpoint is required (host:port, repeatable)');
  for (const e of f.endpoint) {
    if (!/^[^\s:/]+:\d{1,5}$/.test(e) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(e)) {
      throw new InvalidArgumentError(`--endpoint: "${e}" is not host:port`);
    }
  }
  if (!(f['endpoint.infoInterval'] > 0))
    throw new InvalidArgumentError('--endpoint.info-interval must be longer than 0s');
  const grpcServerTls = parseGrpcServerTls(f);
  const grpcClientTls = await loadGrpcClientTls(f, logger);
  const httpConfig = await readHttpConfig(f);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const service = await startQueryService({
    endpoints: f.endpoint,
    infoIntervalMs: f['endpoint.infoInterval'],
    responseTimeoutMs: f['store.responseTimeout'],
    replicaLabels: f['query.replicaLabel'],
    dedupFunc: f['deduplication.func'] as DedupFunc,
    partialResponse: f['query.partialResponse'],
    groupId: f['query.groupId'],
    replicaStrategy: f['query.replicaStrategy'] as ReplicaStrategy,
    autoDownsampling: f['query.autoDownsampling'],
    httpAddress: f.httpAddress,
    ...httpConfigOption(httpConfig, logger),
    grpcAddress: f.grpcAddress,
    ...(grpcServerTls ? { grpcServerTls } : {}),
    ...(grpcClientTls ? { grpcClientTls } : {}),
    registry,
    logger,
  });
  mountEndpointsApi(service.http, service.endpoints);
  await serveWebUi(service.http, { component: 'query', pages: [QUERY_PAGE], flags: f });
  logger.info('strata query started', {
    http: service.httpAddress,
    grpc: service.grpcAddress,
    endpoints: f.endpoint.join(','),
  });
  try {
    await Promise.race([
      service.firstRound.then(() =>
        logger.info('strata query ready', { groups: service.endpoints.groups().length }),
      ),
      new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })),
    ]);
    await new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
    logger.info('strata query stopping');
  } finally {
    await service.close();
  }
  logger.info('strata query stopped');
}

export function registerQueryCommand(program: Command): void {
  queryCommandOptions(
    program
      .command('query')
      .description('querier over Store API endpoints: remote read, label/series API, Store API'),
  ).action(untilSignalled(runQueryCommand));
}
