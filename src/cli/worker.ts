/**
 * `strata worker`: connects to the planner (any replica; it follows NOT_LEADER to the leader),
 * asks for plans up to its capacity and executes them: download, compact, upload, mark. Every
 * compaction option comes with the plan. SIGTERM stops taking work, then finishes (default) or
 * abandons what runs, and tells the planner.
 */
import type { Command } from 'commander';
import { hostname } from 'node:os';
import { Counter, Histogram } from 'prom-client';
import { clearWorkDirs } from '../compactor/execute.js';
import { CompactThreads } from '../compactor/compact-threads.js';
import { loadStepHook } from './step-hook.js';
import { bucketPlanExecutor, classifyPlanFailure } from '../scheduler/executor.js';
import { createWorker, type StopMode } from '../scheduler/worker.js';
import { startHttpEndpoint } from '../util/http.js';
import { InvalidArgumentError } from '../util/errors.js';
import { prepareDir } from '../util/dirs.js';
import { durationArg, intArg, listArg } from './args.js';
import { grpcClientTlsOptions, loadGrpcClientTls, type GrpcClientTlsFlags } from './grpc-tls-flags.js';
import { openBucket, parseLogging, untilSignalled } from './sync-setup.js';
import { parseEtcdSecurity } from './etcd-flags.js';
import {
  openPlannerRing,
  plannerRingOptions,
  type PlannerRing,
  type PlannerRingFlags,
} from './ring-setup.js';
import { serveWebUi, webOptions, type WebFlags } from './web-setup.js';
import { COMPACTION_PAGE, mountCompactionApi } from '../web/compaction-api.js';
import { httpConfigOptions, httpConfigOption, readHttpConfig, type HttpConfigFlags } from './http-flags.js';

export interface WorkerFlags extends PlannerRingFlags, GrpcClientTlsFlags, WebFlags, HttpConfigFlags {
  'planner.address': string[];
  'objstore.configFile'?: string;
  'objstore.config'?: string;
  dataDir: string;
  workerId?: string;
  concurrency: number;
  onStop: string;
  stopTimeout: number;
  heartbeatInterval: number;
  httpAddress: string;
  'log.level': string;
  'log.format': string;
}

export function workerCommandOptions(cmd: Command): Command {
  return httpConfigOptions(webOptions(grpcClientTlsOptions(plannerRingOptions(cmd))))
    .option(
      '--planner.address <list>',
      'planner replicas, host:port, comma-separated or repeated',
      listArg,
      [],
    )
    .option('--objstore.config-file <file>', 'objstore config file (Thanos format)')
    .option('--objstore.config <yaml>', 'objstore config as inline YAML')
    .option('--data-dir <dir>', 'local scratch space for the plans being compacted', './data')
    .option('--worker-id <id>', 'name reported to the planner (default: host name and pid)')
    .option(
      '--concurrency <n>',
      'plans executed at once (the capacity announced to the planner); above 1 each compacts on its own thread',
      intArg,
      1,
    )
    .option(
      '--on-stop <mode>',
      'on SIGTERM: finish running plans, or abandon them (re-queued at once)',
      'finish',
    )
    .option(
      '--stop-timeout <duration>',
      'give up reporting running plans this long after SIGTERM',
      durationArg,
      30 * 60_000,
    )
    .option(
      '--heartbeat-interval <duration>',
      'PROGRESS for every running plan this often (the lease heartbeat)',
      durationArg,
      5000,
    )
    .option(
      '--http-address <host:port>',
      'listen address for /metrics, /-/healthy, /-/ready, /api/v1/status',
      '0.0.0.0:10904',
    )
    .option('--log.level <level>', 'debug, info, warn or error', 'info')
    .option('--log.format <format>', 'logfmt or json', 'logfmt');
}

export async function runWorkerCommand(f: WorkerFlags, signal: AbortSignal): Promise<void> {
  const logger = parseLogging(f);
  const sharded = f['shardingRing.store'] !== '';
  if (sharded === f['planner.address'].length > 0) {
    throw new InvalidArgumentError(
      sharded
        ? '--planner.address and --sharding-ring.store exclude each other (the ring lists the planners)'
        : '--planner.address is required (or --sharding-ring.store etcd for sharded planners)',
    );
  }
  if (f.onStop !== 'finish' && f.onStop !== 'abandon')
    throw new InvalidArgumentError('--on-stop must be finish or abandon');
  if (f.concurrency < 1) throw new InvalidArgumentError('--concurrency must be at least 1');
  if (!(f.heartbeatInterval > 0))
    throw new InvalidArgumentError('--heartbeat-interval must be longer than 0s');
  if (sharded) parseEtcdSecurity(f, 'shardingRing.etcd', f['shardingRing.etcd.endpoints']);
  const tls = await loadGrpcClientTls(f, logger);
  const httpConfig = await readHttpConfig(f);
  await prepareDir(f.dataDir, '--data-dir');
  const { bucket, registry } = await openBucket(f, logger);
  const workerId = f.workerId ?? `${hostname()}/${process.pid}`;
  const plans = new Counter({
    name: 'strata_worker_plans_total',
    help: 'Plans executed, by outcome.',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'strata_worker_plan_duration_seconds',
    help: 'Time to execute one plan (download, compact, upload, mark).',
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [registry],
  });
  // Work dirs of plans a killed worker was running: nothing else would remove them.
  await clearWorkDirs(f.dataDir);
  const beforeStep = await loadStepHook(process.env, logger);
  let ring: PlannerRing | undefined;
  if (sharded) {
    try {
      ring = await openPlannerRing(f, { logger, registry, signal });
    } catch (err) {
      await bucket.close();
      throw err;
    }
  }
  // As in strata compact: plans executed at once compact on a core each.
  const threads = f.concurrency > 1 ? new CompactThreads() : undefined;
  const worker = createWorker({
    workerId,
    ...(ring ? { discovery: ring.discovery } : { planners: f['planner.address'] }),
    capacity: f.concurrency,
    ...(tls ? { tls } : {}),
    logger,
    progressIntervalMs: f.heartbeatInterval,
    stopTimeoutMs: f.stopTimeout,
    classify: classifyPlanFailure,
    executor: bucketPlanExecutor({
      bucket,
      dataDir: f.dataDir,
      logger,
      now: () => Date.now(),
      ...(beforeStep ? { beforeStep } : {}),
      ...(threads ? { compact: threads.compact.bind(threads) } : {}),
      onDone: (_plan, ok, ms) => {
        plans.inc({ outcome: ok ? 'completed' : 'failed' });
        duration.observe(ms / 1000);
      },
    }),
  });
  const http = await startHttpEndpoint({
    address: f.httpAddress,
    ...httpConfigOption(httpConfig, logger),
    registry,
    status: () => ({ worker: workerId, ...worker.stats() }),
  }).catch(async (err: unknown) => {
    await ring?.stop();
    await bucket.close();
    throw err;
  });
  mountCompactionApi(http, {
    component: 'worker',
    now: () => Date.now(),
    snapshot: () => ({ running: worker.running(), queued: [], parked: [] }),
  });
  await serveWebUi(http, { component: 'worker', pages: [COMPACTION_PAGE], flags: f });
  worker.start();
  logger.info('strata worker started', {
    worker: workerId,
    planners: ring ? 'ring' : f['planner.address'].join(','),
    concurrency: f.concurrency,
    grpc_tls: tls !== undefined,
    http: http.address,
  });
  try {
    await new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
    const mode = f.onStop as StopMode;
    logger.info('strata worker stopping', { mode, running: worker.stats().running.length });
    await worker.stop(mode);
  } finally {
    await http.close();
    await ring?.stop();
    await bucket.close();
    await threads?.close();
  }
  logger.info('strata worker stopped', {
    completed: worker.stats().completed,
    failed: worker.stats().failed,
    compactions_on_threads: threads?.onThreads ?? 0,
  });
}

export function registerWorkerCommand(program: Command): void {
  workerCommandOptions(
    program.command('worker').description('execute the compaction plans a strata planner hands out'),
  ).action(untilSignalled(runWorkerCommand));
}
