/**
 * Flags and set-up shared by the commands that sync and plan a bucket (`strata compact`,
 * `strata planner`): the bucket, the layout, logging, the metadata fetcher and planning options.
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createBucket, loadObjstoreConfig, type ObjstoreConfig } from '../objstore/config.js';
import type { Bucket } from '../objstore/bucket.js';
import { layoutFor, parseTenancy, type Layout, type Tenancy } from '../block/layout.js';
import { MetaFetcher } from '../block/fetcher/fetcher.js';
import { defaultCompactorFilters } from '../block/fetcher/filters/defaults.js';
import { BucketIndexKeeper } from '../block/bucket-index-keeper.js';
import type { TenantSync } from '../block/fetcher/types.js';
import type { PlanOptions } from '../plan/types.js';
import { createLogger, type LogFormat, type LogLevel, type Logger } from '../util/logger.js';
import { causeChain, InvalidArgumentError } from '../util/errors.js';
import { prepareDir } from '../util/dirs.js';
import { durationArg, intArg, listArg } from './args.js';
import { collect } from './bucket-common.js';
import { checkTenancy } from '../block/tenancy-check.js';
import { httpConfigOptions, type HttpConfigFlags } from './http-flags.js';
import { etcdSecurityOptions, type EtcdSecurityFlags } from './etcd-flags.js';

export interface SyncFlags extends HttpConfigFlags {
  'objstore.configFile'?: string;
  'objstore.config'?: string;
  dataDir: string;
  consistencyDelay: number;
  deleteDelay: number;
  partialBlockDeleteDelay: number;
  'compact.blockRanges': string;
  blockMetaFetchConcurrency: number;
  'deduplication.replicaLabel': string[];
  'deduplication.func': string;
  httpAddress: string;
  'log.level': string;
  'log.format': string;
  tenancy: string;
  syncCheckpoint: boolean;
  'bucketIndex.refreshInterval': number;
}

export interface EtcdFlags extends EtcdSecurityFlags<'etcd'> {
  'etcd.endpoints': string[];
  'etcd.prefix'?: string;
  'etcd.leaseTtl': number;
}

/** The bucket, logging, sync and planning flags (Thanos' names where Thanos has the concept). */
export function syncOptions(cmd: Command, defaultHttpAddress: string): Command {
  return httpConfigOptions(cmd)
    .option('--objstore.config-file <file>', 'objstore config file (Thanos format)')
    .option('--objstore.config <yaml>', 'objstore config as inline YAML')
    .option('--data-dir <dir>', 'local scratch space: compaction, the meta cache and checkpoints', './data')
    .option(
      '--tenancy <mode>',
      'single (Thanos layout <ULID>/) or multi (Cortex/Mimir <tenant>/<ULID>/)',
      'single',
    )
    .option(
      '--consistency-delay <duration>',
      'hide blocks uploaded less than this long ago (not compactor outputs)',
      durationArg,
      30 * 60_000,
    )
    .option(
      '--delete-delay <duration>',
      'hard-delete blocks this long after their deletion mark',
      durationArg,
      48 * 3600_000,
    )
    .option(
      '--partial-block-delete-delay <duration>',
      'delete partial blocks (no meta.json) idle for this long',
      durationArg,
      48 * 3600_000,
    )
    .option('--compact.block-ranges <list>', 'compaction levels as durations', '2h,8h,2d,14d')
    .option('--block-meta-fetch-concurrency <n>', 'meta.json reads in flight', intArg, 32)
    .option(
      '--deduplication.replica-label <name>',
      'external label telling HA replicas apart (repeatable)',
      collect,
      [],
    )
    .option(
      '--deduplication.func <func>',
      "'' (exact: one sample per timestamp, newest block wins) or penalty (Thanos)",
      '',
    )
    .option(
      '--http-address <host:port>',
      'listen address for /metrics, /-/healthy, /-/ready, /api/v1/status',
      defaultHttpAddress,
    )
    .option('--log.level <level>', 'debug, info, warn or error', 'info')
    .option('--log.format <format>', 'logfmt or json', 'logfmt')
    .option(
      '--bucket-index.refresh-interval <duration>',
      "rewrite an unchanged tenant's bucket index once it is this old (Cortex/Mimir queriers refuse one older than their max-stale-period, 1h by default)",
      durationArg,
      15 * 60_000,
    )
    .option(
      '--no-sync-checkpoint',
      'disable metadata sync checkpoints (every sync lists and reads everything)',
    );
}

/** Leader election through etcd; without endpoints this process is the only candidate. */
export function etcdOptions(cmd: Command, defaultPrefix: string): Command {
  const election = cmd
    .option(
      '--etcd.endpoints <list>',
      'etcd members, comma-separated (host:port or URL); enables HA',
      listArg,
      [],
    )
    .option('--etcd.prefix <key>', 'etcd key prefix of the election', defaultPrefix)
    .option(
      '--etcd.lease-ttl <duration>',
      'leader lease TTL (whole seconds): how long a dead leader blocks',
      durationArg,
      10_000,
    );
  return etcdSecurityOptions(election, 'etcd');
}

export function parseLogging(f: Pick<SyncFlags, 'log.level' | 'log.format'>): Logger {
  const level = f['log.level'] as LogLevel;
  if (!['debug', 'info', 'warn', 'error'].includes(level))
    throw new InvalidArgumentError('--log.level must be debug, info, warn or error');
  const format = f['log.format'] as LogFormat;
  if (format !== 'logfmt' && format !== 'json')
    throw new InvalidArgumentError('--log.format must be logfmt or json');
  return createLogger({ level, format });
}

export function parseRanges(text: string): number[] {
  const r = text.split(',').map((s) => durationArg(s.trim()));
  for (let i = 1; i < r.length; i++) {
    if (r[i]! <= r[i - 1]!) throw new InvalidArgumentError('--compact.block-ranges must be ascending');
  }
  return r;
}

export function parseEtcdTtlSeconds(ms: number): number {
  const s = Math.round(ms / 1000);
  if (s < 2) throw new InvalidArgumentError('--etcd.lease-ttl must be at least 2s');
  return s;
}

/** The bucket of --objstore.config-file / --objstore.config (and that config), and a registry for /metrics. */
export async function openBucket(
  f: Pick<SyncFlags, 'objstore.configFile' | 'objstore.config'>,
  logger: Logger,
): Promise<{ bucket: Bucket; registry: Registry; config: ObjstoreConfig }> {
  const config = await loadObjstoreConfig(
    {
      ...(f['objstore.configFile'] !== undefined ? { file: f['objstore.configFile'] } : {}),
      ...(f['objstore.config'] !== undefined ? { inline: f['objstore.config'] } : {}),
    },
    logger,
  );
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return { bucket: await createBucket(config, { logger }), registry, config };
}

/** A command's action that runs until SIGTERM or SIGINT aborts its signal. */
export function untilSignalled<F>(
  run: (flags: F, signal: AbortSignal) => Promise<unknown>,
): (flags: F) => Promise<void> {
  return async (flags: F): Promise<void> => {
    const ac = new AbortController();
    const stop = (): void => ac.abort();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    try {
      await run(flags, ac.signal);
    } catch (err) {
      // Stopped while still starting (joining a ring, say): the abort we asked for is a clean stop.
      if (ac.signal.aborted && causeChain(err).includes(ac.signal.reason)) return;
      throw err;
    } finally {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
    }
  };
}

export interface SyncStack {
  readonly logger: Logger;
  readonly registry: Registry;
  readonly bucket: Bucket;
  readonly layout: Layout;
  readonly tenancy: Tenancy;
  readonly fetcher: MetaFetcher;
  /** Grouping, ranges and dedup: how this process plans (and how its plans are executed). */
  readonly plan: PlanOptions;
  readonly now: () => number;
  /**
   * Multi-tenant buckets: brings a tenant's bucket index up to date after cleanup, rewriting it
   * only when its content changed or it is --bucket-index.refresh-interval old.
   */
  readonly writeBucketIndex: ((tenant: TenantSync, changed: boolean) => Promise<void>) | undefined;
  /** Closes the fetcher (final checkpoint) and the bucket. */
  close(): Promise<void>;
}

/** Validates the flags, then opens the bucket and the fetcher. Bad flags throw before any I/O. */
export async function openSyncStack(f: SyncFlags): Promise<SyncStack> {
  const logger = parseLogging(f);
  const dedupFunc = f['deduplication.func'];
  if (dedupFunc !== '' && dedupFunc !== 'penalty')
    throw new InvalidArgumentError("--deduplication.func must be '' or penalty");
  const replicaLabels = f['deduplication.replicaLabel'];
  if (dedupFunc === 'penalty' && replicaLabels.length === 0) {
    throw new InvalidArgumentError(
      '--deduplication.func=penalty needs at least one --deduplication.replica-label',
    );
  }
  const tenancy = parseTenancy(f.tenancy);
  const ranges = parseRanges(f['compact.blockRanges']);
  await prepareDir(f.dataDir, '--data-dir');
  const { bucket, registry } = await openBucket(f, logger);
  await checkTenancy(bucket, tenancy).catch(async (err: unknown) => {
    await bucket.close();
    throw err;
  });
  const layout = layoutFor(tenancy);
  const now = (): number => Date.now();
  const fetcher = new MetaFetcher(
    { bucket, layout, logger, registry, now },
    {
      concurrency: f.blockMetaFetchConcurrency,
      cacheDir: join(f.dataDir, 'meta-sync'),
      checkpoint: f.syncCheckpoint,
      filters: defaultCompactorFilters({
        consistencyDelayMs: f.consistencyDelay,
        deletionMarkDelayMs: f.deleteDelay / 2,
        replicaLabels,
      }),
    },
  );
  const keeper =
    tenancy === 'multi'
      ? new BucketIndexKeeper(bucket, layout, { refreshMs: f['bucketIndex.refreshInterval'], logger })
      : undefined;
  return {
    logger,
    registry,
    bucket,
    layout,
    tenancy,
    fetcher,
    plan: { replicaLabels, dedup: dedupFunc === 'penalty' ? 'penalty' : 'exact', ranges },
    now,
    writeBucketIndex:
      keeper === undefined
        ? undefined
        : async (t: TenantSync, changed: boolean): Promise<void> => {
            await keeper.update(t, now(), changed);
          },
    async close(): Promise<void> {
      await fetcher.close();
      await bucket.close();
    },
  };
}
