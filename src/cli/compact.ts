/**
 * `strata compact`: the all-in-one compactor over a bucket (sync → plan → execute → cleanup),
 * once, or forever with --wait. Flags follow Thanos' names where Thanos has the concept.
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createBucket, loadObjstoreConfig } from '../objstore/config.js';
import { layoutFor, parseTenancy } from '../block/layout.js';
import { MetaFetcher } from '../block/fetcher/fetcher.js';
import { defaultCompactorFilters } from '../block/fetcher/filters/defaults.js';
import { updateBucketIndex } from '../block/bucket-index.js';
import { Compactor, type PassSummary } from '../compactor/compactor.js';
import { compactorMetrics } from '../compactor/metrics.js';
import { debugStepHook } from '../compactor/debug.js';
import { startHttpEndpoint } from '../util/http.js';
import { createLogger, type LogFormat, type LogLevel } from '../util/logger.js';
import { InvalidArgumentError } from '../util/errors.js';
import { durationArg, intArg } from './args.js';
import { collect } from './bucket-common.js';

export interface CompactFlags {
  'objstore.configFile'?: string;
  'objstore.config'?: string;
  dataDir: string;
  consistencyDelay: number;
  deleteDelay: number;
  partialBlockDeleteDelay: number;
  'compact.concurrency': number;
  'compact.blockRanges': string;
  blockMetaFetchConcurrency: number;
  'deduplication.replicaLabel': string[];
  'deduplication.func': string;
  httpAddress: string;
  'log.level': string;
  'log.format': string;
  tenancy: string;
  wait: boolean;
  waitInterval: number;
  syncCheckpoint: boolean;
  'debug.printSummary'?: boolean;
}

export function compactCommandOptions(cmd: Command): Command {
  return cmd
    .option('--objstore.config-file <file>', 'objstore config file (Thanos format)')
    .option('--objstore.config <yaml>', 'objstore config as inline YAML')
    .option(
      '--data-dir <dir>',
      'local scratch space for compaction, the meta cache and checkpoints',
      './data',
    )
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
    .option('--compact.concurrency <n>', 'plans executed at once', intArg, 1)
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
      '0.0.0.0:10902',
    )
    .option('--log.level <level>', 'debug, info, warn or error', 'info')
    .option('--log.format <format>', 'logfmt or json', 'logfmt')
    .option(
      '--no-sync-checkpoint',
      'disable metadata sync checkpoints (every sync lists and reads everything)',
    )
    .option('--wait', 'keep running: a pass every --wait-interval', false)
    .option('--wait-interval <duration>', 'time between passes with --wait', durationArg, 5 * 60_000)
    .option(
      '--debug.print-summary',
      'print one JSON line per pass on stdout (counts, time per phase in ms, peak RSS)',
      false,
    );
}

function parseRanges(text: string): number[] {
  const r = text.split(',').map((s) => durationArg(s.trim()));
  for (let i = 1; i < r.length; i++) {
    if (r[i]! <= r[i - 1]!) throw new InvalidArgumentError('--compact.block-ranges must be ascending');
  }
  return r;
}

/** The --debug.print-summary line: the pass counts, ms per phase, peak RSS and CPU time so far. */
export function passSummaryJson(s: PassSummary): Record<string, unknown> {
  const phaseMs: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.phaseMs)) phaseMs[k] = Math.round(v);
  return {
    iterations: s.iterations,
    plans_done: s.plansDone,
    plans_failed: s.plansFailed,
    blocks_marked_no_compact: s.blocksMarkedNoCompact,
    duplicates_marked: s.duplicatesMarked,
    deleted_marked: s.deletedMarked,
    deleted_partial: s.deletedPartial,
    phase_ms: phaseMs,
    peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
    cpu_user_ms: Math.round(process.cpuUsage().user / 1000),
    cpu_system_ms: Math.round(process.cpuUsage().system / 1000),
  };
}

export interface CompactRun {
  summaries: PassSummary[];
}

export async function runCompactCommand(f: CompactFlags, signal: AbortSignal): Promise<CompactRun> {
  const level = f['log.level'] as LogLevel;
  if (!['debug', 'info', 'warn', 'error'].includes(level))
    throw new InvalidArgumentError('--log.level must be debug, info, warn or error');
  const format = f['log.format'] as LogFormat;
  if (format !== 'logfmt' && format !== 'json')
    throw new InvalidArgumentError('--log.format must be logfmt or json');
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
  const logger = createLogger({ level, format });
  const config = await loadObjstoreConfig({
    ...(f['objstore.configFile'] !== undefined ? { file: f['objstore.configFile'] } : {}),
    ...(f['objstore.config'] !== undefined ? { inline: f['objstore.config'] } : {}),
  });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const bucket = await createBucket(config, { logger });
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
  const beforePhase = debugStepHook(process.env, logger);
  const compactor = new Compactor(
    {
      dataDir: f.dataDir,
      concurrency: Math.max(1, f['compact.concurrency']),
      deleteDelayMs: f.deleteDelay,
      partialDelayMs: f.partialBlockDeleteDelay,
      replicaLabels,
      dedup: dedupFunc === 'penalty' ? 'penalty' : 'exact',
      ranges,
    },
    {
      bucket,
      layout,
      syncer: fetcher,
      logger,
      metrics: compactorMetrics(registry),
      now,
      ...(beforePhase ? { beforePhase } : {}),
      ...(tenancy === 'multi'
        ? {
            writeBucketIndex: async (tenant: string): Promise<void> => {
              await updateBucketIndex(bucket, layout, tenant, { nowMs: now(), logger });
            },
          }
        : {}),
    },
  );
  const http = await startHttpEndpoint({
    address: f.httpAddress,
    registry,
    status: () => compactor.status(),
  });
  logger.info('strata compact started', {
    http: http.address,
    tenancy,
    concurrency: f['compact.concurrency'],
    wait: f.wait,
  });
  const summaries: PassSummary[] = [];
  try {
    for (;;) {
      const s = await compactor.runPass();
      summaries.push(s);
      logger.info('compaction pass done', {
        plans: s.plansDone,
        failed: s.plansFailed,
        marked_no_compact: s.blocksMarkedNoCompact,
        deleted: s.deletedMarked,
        deleted_partial: s.deletedPartial,
      });
      if (f['debug.printSummary']) process.stdout.write(`${JSON.stringify(passSummaryJson(s))}\n`);
      if (!f.wait || signal.aborted) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, f.waitInterval);
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            resolve();
          },
          { once: true },
        );
      });
      if (signal.aborted) break;
    }
  } finally {
    await fetcher.close();
    await http.close();
    await bucket.close();
  }
  return { summaries };
}

export function registerCompactCommand(program: Command): void {
  compactCommandOptions(
    program.command('compact').description('compact every tenant of a bucket, like thanos compact'),
  ).action(async (f: CompactFlags) => {
    const ac = new AbortController();
    const stop = (): void => ac.abort();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    await runCompactCommand(f, ac.signal);
  });
}
