/**
 * `strata compact`: the all-in-one compactor over a bucket (sync → plan → execute → cleanup),
 * once, or forever with --wait. Flags follow Thanos' names where Thanos has the concept.
 */
import type { Command } from 'commander';
import { hostname } from 'node:os';
import { Compactor, type PassSummary } from '../compactor/compactor.js';
import { compactorMetrics } from '../compactor/metrics.js';
import { createElection } from '../ha/create.js';
import { runAsLeader, sleep } from '../ha/election.js';
import { startHttpEndpoint } from '../util/http.js';
import { InvalidArgumentError, codeChain, errorMessage } from '../util/errors.js';
import { intArg, durationArg } from './args.js';
import { openRing, ringEnabled, ringOptions, type RingFlags, type RingSetup } from './ring-setup.js';
import { loadStepHook } from './step-hook.js';
import { parseEtcdSecurity, prepareElectionEtcd } from './etcd-flags.js';
import { lifecycleOptions, parseLifecycle, type LifecycleFlags } from './lifecycle-flags.js';
import {
  etcdOptions,
  openSyncStack,
  parseEtcdTtlSeconds,
  syncOptions,
  untilSignalled,
  type EtcdFlags,
  type SyncFlags,
} from './sync-setup.js';
import { serveWebUi, webOptions, type WebFlags } from './web-setup.js';
import { BACKLOG_SAMPLE_EVERY_MS, CompactionActivity } from '../compactor/activity.js';
import { COMPACTION_PAGE, mountCompactionApi } from '../web/compaction-api.js';
import { BLOCKS_PAGE, mountBlocksPage, tapSyncer } from './web-blocks.js';
import { BlockSourceHolder } from '../web/blocks-source.js';
import { httpConfigOption, readHttpConfig } from './http-flags.js';

export interface CompactFlags extends SyncFlags, EtcdFlags, RingFlags, LifecycleFlags, WebFlags {
  'compact.concurrency': number;
  'compact.plansAhead': number;
  wait: boolean;
  waitInterval: number;
  'debug.printSummary'?: boolean;
}

export function compactCommandOptions(cmd: Command): Command {
  return webOptions(
    lifecycleOptions(ringOptions(etcdOptions(syncOptions(cmd, '0.0.0.0:10902'), '/strata/compact/leader/'))),
  )
    .option('--compact.concurrency <n>', 'compactions at once (each on its own thread above 1)', intArg, 1)
    .option(
      '--compact.plans-ahead <n>',
      'plans that download, upload and mark beside the compacting ones (0: a plan holds its slot from download to mark)',
      intArg,
      1,
    )
    .option('--wait', 'keep running: a pass every --wait-interval', false)
    .option('--wait-interval <duration>', 'time between passes with --wait', durationArg, 5 * 60_000)
    .option(
      '--debug.print-summary',
      'print one JSON line per pass on stdout (counts, time per phase in ms, peak RSS)',
      false,
    );
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
    downsampled: s.downsampled,
    retention_marked: s.retentionMarked,
    retention_held: s.retentionHeld,
    pass_ms: Math.round(s.passMs),
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
  const ttlSeconds = parseEtcdTtlSeconds(f['etcd.leaseTtl']);
  const lifecycle = parseLifecycle(f, f.tenancy);
  const httpConfig = await readHttpConfig(f);
  const ha = f['etcd.endpoints'].length > 0;
  const sharded = ringEnabled(f);
  if (ha && sharded) {
    throw new InvalidArgumentError(
      '--etcd.endpoints (one elected compactor) and --sharding-ring.store (tenants shared by all) exclude each other',
    );
  }
  const electionPrefix = f['etcd.prefix'] ?? '/strata/compact/leader/';
  const etcdSpec = parseEtcdSecurity(f, 'etcd', f['etcd.endpoints']);
  const st = await openSyncStack(f);
  const { registry, bucket, layout, now } = st;
  const etcdSecurity = await prepareElectionEtcd(etcdSpec, {
    endpoints: f['etcd.endpoints'],
    prefix: electionPrefix,
    logger: st.logger,
    owner: st,
  });
  const beforeStep = await loadStepHook(process.env, st.logger);
  let leading = !ha;
  // eslint-disable-next-line prefer-const -- the status closure reads it before it is assigned
  let compactor: Compactor | undefined;
  let ring: RingSetup | undefined;
  const activity = new CompactionActivity(now, f.waitInterval);
  const blockSource = new BlockSourceHolder(st.tenancy === 'multi');
  const http = await startHttpEndpoint({
    address: f.httpAddress,
    ...httpConfigOption(httpConfig, st.logger),
    registry,
    status: () => ({ leader: leading, ...compactor?.status(), ...(ring ? { ring: ring.status() } : {}) }),
  }).catch(async (err: unknown) => {
    await st.close();
    throw err;
  });
  try {
    if (sharded) {
      ring = await openRing(f, {
        name: 'compactor',
        defaultAddr: http.address,
        logger: st.logger,
        registry,
        signal,
      });
      ring.mountPage(http, '/compactor/ring', 'Compactor ring');
    }
    mountCompactionApi(http, {
      component: 'compact',
      now,
      activity,
      snapshot: () => compactor?.snapshot() ?? { running: [], queued: [], parked: [] },
      standby: () => (leading ? undefined : 'not leading; another replica compacts'),
    });
    const ui = await serveWebUi(http, {
      component: 'compact',
      pages: [BLOCKS_PAGE, COMPACTION_PAGE],
      links: ring ? [{ title: 'Ring', href: 'compactor/ring' }] : [],
      flags: f,
    });
    mountBlocksPage(http, ui, { source: blockSource, bucket, layout, logger: st.logger, now });
  } catch (err) {
    await st.close();
    await http.close();
    throw err;
  }
  // Every line (the 'compaction started/done' of each plan among them) names the instance.
  const logger = ring ? st.logger.child({ instance: ring.instanceId }) : st.logger;
  compactor = new Compactor(
    {
      dataDir: f.dataDir,
      concurrency: Math.max(1, f['compact.concurrency']),
      plansAhead: Math.max(0, f['compact.plansAhead']),
      deleteDelayMs: f.deleteDelay,
      partialDelayMs: f.partialBlockDeleteDelay,
      plan: st.plan,
      lifecycle,
      downsampleConcurrency: lifecycle.downsampleConcurrency,
    },
    {
      bucket,
      layout,
      syncer: tapSyncer(st.fetcher, blockSource, now),
      logger,
      metrics: compactorMetrics(registry),
      now,
      ...(beforeStep ? { beforeStep } : {}),
      ...(st.writeBucketIndex ? { writeBucketIndex: st.writeBucketIndex } : {}),
      ...(ring ? { scope: ring.sharding } : {}),
      activity,
    },
  );
  const c = compactor;
  // Between passes too: the backlog chart has a point at least every 30 s once a pass has synced.
  const sampler = setInterval(() => {
    if (activity.backlog.latest !== undefined) activity.sample(c.backlog());
  }, BACKLOG_SAMPLE_EVERY_MS);
  sampler.unref();
  const election = createElection({
    endpoints: f['etcd.endpoints'],
    prefix: electionPrefix,
    ...etcdSecurity,
    address: http.address,
    id: `${hostname()}/${process.pid}`,
    ttlSeconds,
    logger,
  });
  logger.info('strata compact started', {
    http: http.address,
    tenancy: st.tenancy,
    concurrency: f['compact.concurrency'],
    plans_ahead: f['compact.plansAhead'],
    wait: f.wait,
    ha,
    sharded,
  });
  const summaries: PassSummary[] = [];
  // The passes of one term: until done (no --wait), stopped, or the term ends.
  const work = async (termSignal: AbortSignal): Promise<void> => {
    const both = AbortSignal.any(ring ? [signal, termSignal, ring.fatal] : [signal, termSignal]);
    for (;;) {
      let s: PassSummary | undefined;
      try {
        s = await c.runPass(both);
      } catch (err) {
        if (ring?.fatal.aborted) throw ring.fatal.reason;
        if (both.aborted) return;
        // The tenant holds were lost or etcd is unreachable: the pass stopped; the next one takes
        // the tenants again.
        const ringTrouble =
          ring !== undefined &&
          (ring.sharding.signal.aborted || codeChain(err).includes('ERR_RING_UNAVAILABLE'));
        if (!ringTrouble) throw err;
        logger.warn('compaction pass stopped: tenant holds lost or etcd unreachable', {
          err: errorMessage(err),
        });
      }
      if (s !== undefined) {
        summaries.push(s);
        logger.info('compaction pass done', {
          plans: s.plansDone,
          failed: s.plansFailed,
          marked_no_compact: s.blocksMarkedNoCompact,
          deleted: s.deletedMarked,
          deleted_partial: s.deletedPartial,
          downsampled: s.downsampled,
          retention_marked: s.retentionMarked,
        });
        if (f['debug.printSummary']) process.stdout.write(`${JSON.stringify(passSummaryJson(s))}\n`);
        if (!f.wait) return;
      }
      // A change of ownership starts the next pass at once: moved tenants are let go, new ones taken.
      const wake = new AbortController();
      const off = ring?.client.onChange(() => wake.abort());
      await sleep(f.waitInterval, AbortSignal.any([both, wake.signal]));
      off?.();
      if (both.aborted) return;
    }
  };
  try {
    await runAsLeader(
      election,
      async (term) => {
        leading = true;
        if (ha) logger.info('leading: compacting', { epoch: term.epoch });
        try {
          await work(term.signal);
        } finally {
          leading = false;
          if (ha && term.signal.aborted && !signal.aborted) {
            logger.warn('leadership lost; waiting to lead again', { err: errorMessage(term.signal.reason) });
          }
        }
      },
      { signal },
    );
  } finally {
    clearInterval(sampler);
    await election.close().catch(() => undefined);
    await ring
      ?.stop()
      .catch((err: unknown) => logger.warn('leaving the ring failed', { err: errorMessage(err) }));
    await st.close();
    await http.close();
  }
  return { summaries };
}

export function registerCompactCommand(program: Command): void {
  compactCommandOptions(
    program.command('compact').description('compact every tenant of a bucket, like thanos compact'),
  ).action(untilSignalled(runCompactCommand));
}
