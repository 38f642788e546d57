/**
 * `strata planner`: syncs every tenant, plans, and hands the plans to `strata worker`s over the
 * gRPC stream of strata.v1.Planner; runs the cleaner. With --etcd.endpoints several replicas
 * campaign and only the leader plans and serves; followers answer NOT_LEADER with its address.
 */
import type { Command } from 'commander';
import { hostname } from 'node:os';
import { createElection } from '../ha/create.js';
import { startCandidacy } from '../ha/leadership.js';
import { BucketPlanSource } from '../scheduler/bucket-source.js';
import { lifecycleOptions, parseLifecycle, type LifecycleFlags } from './lifecycle-flags.js';
import { plannerMetrics } from '../scheduler/metrics.js';
import { startPlannerServer } from '../scheduler/server.js';
import { parseListenAddress, startHttpEndpoint } from '../util/http.js';
import { InvalidArgumentError, errorMessage, isStrataError } from '../util/errors.js';
import { findSystemError, listenError } from '../util/system-errors.js';
import { durationArg, intArg } from './args.js';
import { grpcServerTlsOptions, parseGrpcServerTls, type GrpcServerTlsFlags } from './grpc-tls-flags.js';
import { parseEtcdSecurity, prepareElectionEtcd } from './etcd-flags.js';
import { openRing, ringEnabled, ringOptions, type RingFlags, type RingSetup } from './ring-setup.js';
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
import { BACKLOG_SAMPLE_EVERY_MS, backlogOfPlans, CompactionActivity } from '../compactor/activity.js';
import { activityEvents, bothEvents } from '../scheduler/activity-events.js';
import { COMPACTION_PAGE, mountCompactionApi } from '../web/compaction-api.js';
import { mountPlannerApi, PLANNER_PAGE } from '../web/planner-api.js';
import { httpConfigOption, readHttpConfig } from './http-flags.js';

export interface PlannerFlags
  extends SyncFlags, EtcdFlags, RingFlags, LifecycleFlags, GrpcServerTlsFlags, WebFlags {
  grpcAddress: string;
  grpcAdvertiseAddress?: string;
  'planner.gracePeriod': number;
  'planner.leaseTimeout': number;
  'planner.maxFailures': number;
  'planner.retryDelay': number;
  'planner.replanInterval': number;
  cleanupInterval: number;
}

export function plannerCommandOptions(cmd: Command): Command {
  return webOptions(
    grpcServerTlsOptions(
      lifecycleOptions(
        ringOptions(etcdOptions(syncOptions(cmd, '0.0.0.0:10902'), '/strata/planner/leader/')),
        false,
      ),
    ),
  )
    .option(
      '--grpc-address <host:port>',
      'listen address of the Planner gRPC service (port 0: any free port)',
      '0.0.0.0:10901',
    )
    .option(
      '--grpc-advertise-address <host:port>',
      'address published to workers and other replicas (default: the bound gRPC address, with this host name for 0.0.0.0)',
    )
    .option(
      '--planner.grace-period <duration>',
      'after becoming leader, wait this long for reconnecting workers to report their plans',
      durationArg,
      15_000,
    )
    .option(
      '--planner.lease-timeout <duration>',
      'a plan whose worker sends no PROGRESS for this long is re-queued',
      durationArg,
      60_000,
    )
    .option(
      '--planner.max-failures <n>',
      'failures before a plan is parked (its failing block marked no-compact)',
      intArg,
      3,
    )
    .option(
      '--planner.retry-delay <duration>',
      'first retry delay of a failed plan (doubles per failure)',
      durationArg,
      10_000,
    )
    .option(
      '--planner.replan-interval <duration>',
      'full sync and planning pass at least this often',
      durationArg,
      60_000,
    )
    .option(
      '--cleanup-interval <duration>',
      'run the cleaner after a planning pass at most this often',
      durationArg,
      5 * 60_000,
    );
}

/** parseListenAddress, with the flag named in the error (exit code 2). */
function listenFlag(flag: string, value: string): { host: string; port: number } {
  try {
    return parseListenAddress(value);
  } catch (err) {
    throw new InvalidArgumentError(`${flag}: ${errorMessage(err)}`);
  }
}

function advertised(bound: string, flag: string | undefined): string {
  if (flag !== undefined && flag !== '') {
    listenFlag('--grpc-advertise-address', flag);
    return flag;
  }
  const { host, port } = parseListenAddress(bound);
  return host === '0.0.0.0' || host === '::' ? `${hostname()}:${port}` : `${host}:${port}`;
}

export async function runPlannerCommand(f: PlannerFlags, signal: AbortSignal): Promise<void> {
  const ttlSeconds = parseEtcdTtlSeconds(f['etcd.leaseTtl']);
  const life = parseLifecycle(f, f.tenancy);
  if (f['planner.maxFailures'] < 1)
    throw new InvalidArgumentError('--planner.max-failures must be at least 1');
  if (!(f['planner.leaseTimeout'] > 0))
    throw new InvalidArgumentError('--planner.lease-timeout must be longer than 0s');
  const grpc = listenFlag('--grpc-address', f.grpcAddress);
  const tls = parseGrpcServerTls(f);
  listenFlag('--http-address', f.httpAddress);
  const httpConfig = await readHttpConfig(f);
  if (f.grpcAdvertiseAddress) listenFlag('--grpc-advertise-address', f.grpcAdvertiseAddress);
  const sharded = ringEnabled(f);
  if (sharded && f['etcd.endpoints'].length > 0) {
    throw new InvalidArgumentError(
      '--etcd.endpoints (one elected planner) and --sharding-ring.store (every planner active on its own tenants) exclude each other',
    );
  }
  const ha = f['etcd.endpoints'].length > 0;
  const electionPrefix = f['etcd.prefix'] ?? '/strata/planner/leader/';
  const etcdSpec = parseEtcdSecurity(f, 'etcd', f['etcd.endpoints']);
  const st = await openSyncStack(f);
  const { registry } = st;
  const etcdSecurity = await prepareElectionEtcd(etcdSpec, {
    endpoints: f['etcd.endpoints'],
    prefix: electionPrefix,
    logger: st.logger,
    owner: st,
  });
  // Sharded: the ring takes the election's place. The planner plans nothing until it joined.
  let ring: RingSetup | undefined;
  const logger = st.logger;
  const source = new BucketPlanSource(
    {
      plan: st.plan,
      deleteDelayMs: f.deleteDelay,
      partialDelayMs: f.partialBlockDeleteDelay,
      cleanupIntervalMs: f.cleanupInterval,
      ...(sharded ? { tenantGraceMs: f['planner.gracePeriod'] } : {}),
    },
    {
      bucket: st.bucket,
      layout: st.layout,
      syncer: st.fetcher,
      logger,
      now: st.now,
      lifecycle: { downsampling: life.downsampling, retention: life.retention },
      ...(st.writeBucketIndex ? { writeBucketIndex: st.writeBucketIndex } : {}),
      ...(sharded
        ? {
            scope: {
              get instanceId() {
                return ring!.instanceId;
              },
              get signal() {
                return ring!.sharding.signal;
              },
              select: (tenants: readonly string[], busy?: (tenant: string) => boolean) =>
                ring!.sharding.select(tenants, busy),
              heldSince: (tenant: string) => ring!.sharding.heldSince(tenant),
            },
          }
        : {}),
    },
  );
  const metrics = plannerMetrics(registry);
  const activity = new CompactionActivity(st.now, f['planner.replanInterval']);
  // A sharded planner's epochs only order its own terms (plans carry its ID): the start time does.
  const shardedEpoch = Date.now();
  // The election needs the published address, which needs the bound port: bind first, serve
  // nothing until leading (the service polls the candidacy on every message).
  // eslint-disable-next-line prefer-const -- the closures below read it before it is assigned
  let candidacy: ReturnType<typeof startCandidacy> | undefined;
  const server = await startPlannerServer({
    host: grpc.host,
    port: grpc.port,
    ...(tls ? { tls } : {}),
    source,
    logger,
    leadership: sharded
      ? { isLeader: () => ring !== undefined, epoch: () => shardedEpoch, leaderAddress: () => undefined }
      : {
          isLeader: () => candidacy?.isLeader() ?? false,
          epoch: () => candidacy?.epoch() ?? 0,
          leaderAddress: () => candidacy?.leaderAddress(),
        },
    ...(sharded
      ? {
          plannerId: f['shardingRing.instanceId'] ?? hostname(),
          adoptsTenant: (tenant: string) =>
            ring !== undefined && (ring.sharding.owns(tenant) || ring.sharding.held().has(tenant)),
        }
      : {}),
    // Leadership changes are noticed on a tick when no worker message arrives: keep it short.
    tickMs: 250,
    graceMs: f['planner.gracePeriod'],
    leaseTimeoutMs: f['planner.leaseTimeout'],
    maxFailures: f['planner.maxFailures'],
    retryDelayMs: f['planner.retryDelay'],
    replanIntervalMs: f['planner.replanInterval'],
    events: bothEvents(
      metrics.events,
      activityEvents(activity, (): ReturnType<typeof backlogOfPlans> =>
        backlogOfPlans(server.service.snapshot()),
      ),
    ),
  }).catch(async (err: unknown) => {
    await source.close();
    await st.close();
    throw findSystemError(err) !== undefined && !isStrataError(err)
      ? listenError(err, '--grpc-address', f.grpcAddress)
      : err;
  });
  metrics.attach(server.service);
  const address = advertised(server.address, f.grpcAdvertiseAddress);
  // Both ports bound before campaigning: a replica that cannot serve must never lead, not even briefly.
  let http: Awaited<ReturnType<typeof startHttpEndpoint>>;
  try {
    http = await startHttpEndpoint({
      address: f.httpAddress,
      ...httpConfigOption(httpConfig, st.logger),
      registry,
      status: () => {
        const s = server.service.stats();
        const leader = candidacy?.leader();
        return {
          leader: s.leader && (candidacy?.isLeader() ?? false),
          epoch: s.epoch ?? null,
          address,
          leader_address: candidacy?.leaderAddress() ?? null,
          leader_epoch: leader?.epoch ?? null,
          in_grace: s.inGrace,
          pending: s.pending,
          running: s.running,
          parked: s.parked,
          streams: s.streams,
          tenants: server.service.tenantCounts(),
          workers: server.service.workers(),
          running_plans: server.service
            .runningPlans()
            .map((r) => ({ ...r, startedAt: new Date(r.startedAt).toISOString() })),
          sync: source.status(),
          ...(ring ? { ring: ring.status() } : {}),
        };
      },
    });
  } catch (err) {
    // e.g. the HTTP port is taken: stop what already runs.
    await server.close();
    await source.close();
    await st.close();
    throw err;
  }
  if (sharded) {
    try {
      ring = await openRing(f, { name: 'planner', defaultAddr: address, logger, registry, signal });
    } catch (err) {
      await server.close();
      await source.close();
      await st.close();
      await http.close();
      throw err;
    }
    ring.mountPage(http, '/planner/ring', 'Planner ring');
    // Tenants moved: plan again at once (moved-away ones are let go, new ones taken).
    ring.client.onChange(() => void server.service.replan());
    server.service.tick();
  }
  const svc = server.service;
  const sampleBacklog = (): void => activity.sample(backlogOfPlans(svc.snapshot()));
  const sampler = setInterval(sampleBacklog, BACKLOG_SAMPLE_EVERY_MS);
  sampler.unref();
  mountCompactionApi(http, {
    component: 'planner',
    now: st.now,
    activity,
    snapshot: () => svc.snapshot(),
    standby: () =>
      svc.stats().leader
        ? undefined
        : `not leading; the leader is ${candidacy?.leaderAddress() ?? 'not known yet'}`,
  });
  mountPlannerApi(
    http,
    () => ({
      stats: svc.stats(),
      workers: svc.workers(),
      leader: svc.stats().leader && (candidacy?.isLeader() ?? false),
      address,
      leaderAddress: candidacy?.leaderAddress(),
      ringPage: ring ? 'planner/ring' : undefined,
    }),
    st.now,
  );
  await serveWebUi(http, {
    component: 'planner',
    pages: [COMPACTION_PAGE, PLANNER_PAGE],
    links: ring ? [{ title: 'Ring', href: 'planner/ring' }] : [],
    flags: f,
  });
  const election = createElection({
    endpoints: f['etcd.endpoints'],
    prefix: electionPrefix,
    ...etcdSecurity,
    address,
    id: `${hostname()}/${process.pid}`,
    ttlSeconds,
    logger,
  });
  candidacy = startCandidacy(election, { logger });
  const c = candidacy;
  const r = ring;
  const stopAll = async (): Promise<void> => {
    clearInterval(sampler);
    // Resign (or leave the ring) first: another replica takes over while this one closes its streams.
    await c.stop();
    await r
      ?.stop()
      .catch((err: unknown) => logger.warn('leaving the ring failed', { err: errorMessage(err) }));
    await server.close();
    await election.close().catch(() => undefined);
    await source.close();
    await st.close();
  };
  logger.info('strata planner started', {
    grpc: server.address,
    grpc_tls: tls === undefined ? 'off' : tls.clientCa ? 'mutual' : 'server',
    advertise: address,
    http: http.address,
    tenancy: st.tenancy,
    ha,
    sharded,
    ...(ring ? { instance: ring.instanceId } : {}),
  });
  try {
    const stop = ring ? AbortSignal.any([signal, ring.fatal]) : signal;
    await new Promise<void>((resolve) => {
      if (stop.aborted) return resolve();
      stop.addEventListener('abort', () => resolve(), { once: true });
    });
    if (ring?.fatal.aborted) throw ring.fatal.reason;
    logger.info('strata planner stopping');
  } finally {
    await stopAll();
    await http.close();
  }
}

export function registerPlannerCommand(program: Command): void {
  plannerCommandOptions(
    program
      .command('planner')
      .description('plan compactions for every tenant and hand them to strata workers over gRPC'),
  ).action(untilSignalled(runPlannerCommand));
}
