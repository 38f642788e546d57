/**
 * `strata store`: a store gateway serving the Thanos Store and Info APIs over gRPC from the
 * blocks of a bucket (see src/store/). Flags follow `thanos store` where Thanos has the concept.
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import { layoutFor, parseTenancy } from '../block/layout.js';
import { checkTenancy } from '../block/tenancy-check.js';
import { MetaFetcher } from '../block/fetcher/fetcher.js';
import { consistencyDelayFilter } from '../block/fetcher/filters/consistency.js';
import { deletionMarkFilter } from '../block/fetcher/filters/deletion.js';
import { duplicateFilter } from '../block/fetcher/filters/duplicates.js';
import { BlockSet, type Shard, type TimeBound } from '../store/blockset.js';
import { IndexLru, indexCacheMetrics } from '../store/cache.js';
import { Gate } from '../store/gate.js';
import { storeInfo, type StorePeerType } from '../store/info.js';
import { storeMetrics } from '../store/metrics.js';
import { startStoreServer } from '../store/server.js';
import { StoreService } from '../store/service.js';
import { sleep } from '../ha/election.js';
import { prepareDir } from '../util/dirs.js';
import { startHttpEndpoint } from '../util/http.js';
import { InvalidArgumentError, errorCode, errorMessage } from '../util/errors.js';
import { durationArg, intArg } from './args.js';
import { grpcServerTlsOptions, parseGrpcServerTls, type GrpcServerTlsFlags } from './grpc-tls-flags.js';
import { bytesArg, defaultGroupId, shardArg, timeBoundArg } from './store-flags.js';
import { openBucket, parseLogging, untilSignalled } from './sync-setup.js';
import { serveWebUi, webOptions, type WebFlags } from './web-setup.js';
import { httpConfigOptions, httpConfigOption, readHttpConfig, type HttpConfigFlags } from './http-flags.js';

export interface StoreFlags extends GrpcServerTlsFlags, WebFlags, HttpConfigFlags {
  'objstore.configFile'?: string;
  'objstore.config'?: string;
  dataDir: string;
  tenancy: string;
  tenant?: string;
  consistencyDelay: number;
  deleteDelay: number;
  blockMetaFetchConcurrency: number;
  syncInterval: number;
  grpcAddress: string;
  httpAddress: string;
  minTime?: string;
  maxTime?: string;
  shard?: string;
  indexCacheSize: number;
  'store.limits.requestSeries': number;
  'store.limits.requestSamples': number;
  'store.grpc.seriesMaxConcurrency': number;
  'store.groupId'?: string;
  'store.peerType': string;
  'log.level': string;
  'log.format': string;
}

export function storeCommandOptions(cmd: Command): Command {
  return httpConfigOptions(webOptions(grpcServerTlsOptions(cmd)))
    .option('--objstore.config-file <file>', 'objstore config file (Thanos format)')
    .option('--objstore.config <yaml>', 'objstore config as inline YAML')
    .option('--data-dir <dir>', 'local state: the meta cache and sync checkpoints', './data')
    .option(
      '--tenancy <mode>',
      'single (Thanos layout <ULID>/) or multi (Cortex/Mimir <tenant>/<ULID>/)',
      'single',
    )
    .option('--tenant <id>', 'multi-tenant buckets: the tenant served (required with --tenancy multi)')
    .option('--consistency-delay <duration>', 'hide blocks uploaded less than this long ago', durationArg, 0)
    .option(
      '--delete-delay <duration>',
      "the compactor's --delete-delay: marked blocks are served for half of it, then hidden",
      durationArg,
      48 * 3600_000,
    )
    .option('--block-meta-fetch-concurrency <n>', 'meta.json reads in flight', intArg, 32)
    .option('--sync-interval <duration>', 'time between block syncs', durationArg, 3 * 60_000)
    .option('--grpc-address <host:port>', 'listen address of the Store and Info APIs', '127.0.0.1:10901')
    .option(
      '--http-address <host:port>',
      'listen address for /metrics, /-/healthy, /-/ready',
      '127.0.0.1:10902',
    )
    .option('--min-time <time>', 'serve blocks overlapping this time or later (ms, RFC 3339, or -2h)')
    .option('--max-time <time>', 'serve blocks overlapping this time or earlier (ms, RFC 3339, or -2h)')
    .option('--shard <i/N>', 'serve the blocks whose ULID hashes (XXH64 mod N) to i')
    .option(
      '--index-cache-size <bytes>',
      'postings and series cache (LRU), e.g. 250MiB',
      bytesArg,
      250 * 1024 ** 2,
    )
    .option('--store.limits.request-series <n>', 'series per Series request (0: no limit)', intArg, 0)
    .option(
      '--store.limits.request-samples <n>',
      'samples per Series request, ~chunks × 120 (0: no limit)',
      intArg,
      0,
    )
    .option('--store.grpc.series-max-concurrency <n>', 'Series requests run at once; more wait', intArg, 20)
    .option(
      '--store.group-id <id>',
      'store group ID (default: objstore type, endpoint, bucket, tenant, shard)',
    )
    .option('--store.peer-type <type>', 'peer type announced by Info: store or source', 'store')
    .option('--log.level <level>', 'debug, info, warn or error', 'info')
    .option('--log.format <format>', 'logfmt or json', 'logfmt');
}

interface Parsed {
  tenant: string;
  minTime?: TimeBound;
  maxTime?: TimeBound;
  shard?: Shard;
  peerType: StorePeerType;
}

/** Checks the flags that need no I/O; InvalidArgumentError names the flag. */
function parseFlags(f: StoreFlags): Parsed {
  const tenancy = parseTenancy(f.tenancy);
  if (tenancy === 'multi' && f.tenant === undefined)
    throw new InvalidArgumentError('--tenancy multi needs --tenant (a store serves one tenant)');
  if (tenancy === 'single' && f.tenant !== undefined)
    throw new InvalidArgumentError('--tenant is only for --tenancy multi');
  const peerType = f['store.peerType'];
  if (peerType !== 'store' && peerType !== 'source')
    throw new InvalidArgumentError(`--store.peer-type must be store or source, got "${peerType}"`);
  if (f.syncInterval <= 0) throw new InvalidArgumentError('--sync-interval must be above 0');
  const bound = (flag: string, v: string | undefined): TimeBound | undefined => {
    if (v === undefined) return undefined;
    try {
      return timeBoundArg(v);
    } catch (err) {
      throw new InvalidArgumentError(`${flag}: ${errorMessage(err)}`, { cause: err });
    }
  };
  const minTime = bound('--min-time', f.minTime);
  const maxTime = bound('--max-time', f.maxTime);
  if (
    minTime &&
    maxTime &&
    'absolute' in minTime &&
    'absolute' in maxTime &&
    minTime.absolute > maxTime.absolute
  )
    throw new InvalidArgumentError('--min-time is after --max-time');
  return {
    tenant: f.tenant ?? '',
    ...(minTime ? { minTime } : {}),
    ...(maxTime ? { maxTime } : {}),
    ...(f.shard !== undefined ? { shard: shardArg(f.shard) } : {}),
    peerType,
  };
}

export async function runStoreCommand(f: StoreFlags, signal: AbortSignal): Promise<void> {
  const logger = parseLogging(f);
  const p = parseFlags(f);
  const tls = parseGrpcServerTls(f);
  const httpConfig = await readHttpConfig(f);
  const tenancy = parseTenancy(f.tenancy);
  await prepareDir(f.dataDir, '--data-dir');
  const { bucket, registry, config } = await openBucket(f, logger);
  const groupId =
    f['store.groupId'] ??
    defaultGroupId(config, {
      ...(f.tenant !== undefined ? { tenant: f.tenant } : {}),
      ...(p.shard ? { shard: p.shard } : {}),
      ...(f.minTime !== undefined ? { minTime: f.minTime } : {}),
      ...(f.maxTime !== undefined ? { maxTime: f.maxTime } : {}),
    });
  const cleanup: (() => Promise<void>)[] = [() => bucket.close()];
  const closeAll = async (): Promise<void> => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  };
  try {
    await checkTenancy(bucket, tenancy);
    const layout = layoutFor(tenancy);
    const now = (): number => Date.now();
    const fetcher = new MetaFetcher(
      { bucket, layout, logger, registry, now },
      {
        concurrency: f.blockMetaFetchConcurrency,
        cacheDir: join(f.dataDir, 'meta-sync'),
        ...(tenancy === 'multi' ? { tenants: [p.tenant] } : {}),
        filters: [
          consistencyDelayFilter({ delayMs: f.consistencyDelay }),
          deletionMarkFilter({ delayMs: f.deleteDelay / 2 }),
          duplicateFilter(),
        ],
      },
    );
    cleanup.push(() => fetcher.close());
    const metrics = storeMetrics(registry);
    const cache = new IndexLru(f.indexCacheSize, indexCacheMetrics(registry));
    const blocks = new BlockSet(
      { bucket, layout, fetcher, cache, logger, now, onSynced: (n) => metrics.blocksLoaded.set(n) },
      {
        tenant: p.tenant,
        ...(p.minTime ? { minTime: p.minTime } : {}),
        ...(p.maxTime ? { maxTime: p.maxTime } : {}),
        ...(p.shard ? { shard: p.shard } : {}),
      },
    );
    cleanup.push(() => blocks.close());
    const service = new StoreService({
      blocks: () => blocks.blocks(),
      gate: new Gate(f['store.grpc.seriesMaxConcurrency']),
      limits: { series: f['store.limits.requestSeries'], samples: f['store.limits.requestSamples'] },
      metrics,
      logger,
    });
    const http = await startHttpEndpoint({
      address: f.httpAddress,
      ...httpConfigOption(httpConfig, logger),
      registry,
      ready: () => blocks.ready,
      status: () => ({ ready: blocks.ready, group_id: groupId, blocks: blocks.blocks().map((b) => b.id) }),
    });
    cleanup.push(() => http.close());
    await serveWebUi(http, { component: 'store', flags: f });
    const grpc = await startStoreServer({
      address: f.grpcAddress,
      service,
      metrics,
      info: () => storeInfo(blocks.blocks(), { storeGroupId: groupId, peerType: p.peerType }),
      ...(tls ? { tls } : {}),
      logger,
    });
    // Closed first on shutdown: stop accepting, let running streams finish.
    cleanup.push(() => grpc.close());
    logger.info('strata store started', { grpc: grpc.address, http: http.address, group_id: groupId });
    while (!signal.aborted) {
      const wasReady = blocks.ready;
      try {
        await blocks.sync(signal);
        if (!wasReady) logger.info('store ready', { blocks: blocks.blocks().length });
      } catch (err) {
        if (signal.aborted) break;
        logger.warn('block sync failed', { code: errorCode(err) ?? 'ERR_INTERNAL', err: errorMessage(err) });
      }
      await sleep(f.syncInterval, signal).catch(() => undefined);
    }
    logger.info('strata store stopping');
  } finally {
    await closeAll();
  }
}

export function registerStoreCommand(program: Command): void {
  storeCommandOptions(
    program
      .command('store')
      .description('serve the blocks of a bucket over the Thanos Store API, like thanos store'),
  ).action(untilSignalled(runStoreCommand));
}
