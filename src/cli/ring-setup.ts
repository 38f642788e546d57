/**
 * The `--sharding-ring.*` flags of `strata compact` and `strata planner` (Cortex's
 * `-compactor.ring.*` where they map) and the ring they open: membership (Lifecycler), the local
 * copy (RingClient), exclusive tenant holds (TenantLocks), tenant selection (TenantSharding), the
 * ring page and the ring's metrics.
 */
import type { Command } from 'commander';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Registry } from 'prom-client';
import { RingClient } from '../ring/client.js';
import { ringDescCodec } from '../ring/codec.js';
import { CsrfToken } from '../util/csrf.js';
import { EtcdKv } from '../ring/etcd-kv.js';
import { CLAIM_PREFIX, Lifecycler } from '../ring/lifecycler.js';
import { createRingMetrics } from '../ring/metrics.js';
import type { Desc } from '../ring/model.js';
import { ringPageHandler } from '../ring/page.js';
import { TenantSharding } from '../ring/sharding.js';
import { tenantOwner } from '../ring/shuffle-shard.js';
import type { PlannerDiscovery } from '../scheduler/worker.js';
import { waitRingStability } from '../ring/stability.js';
import { ringStatus } from '../ring/status.js';
import { TenantLocks } from '../ring/tenant-locks.js';
import { createEtcdClient, withEtcdEndpoints } from '../util/etcd-client.js';
import { InvalidArgumentError, errorMessage } from '../util/errors.js';
import type { HttpEndpoint } from '../util/http.js';
import type { Logger } from '../util/logger.js';
import { durationArg, intArg, listArg } from './args.js';
import {
  etcdSecurityOptions,
  parseEtcdSecurity,
  prepareEtcdSecurity,
  type EtcdSecurityFlags,
} from './etcd-flags.js';

export interface RingFlags extends EtcdSecurityFlags<'shardingRing.etcd'> {
  'shardingRing.store': string;
  'shardingRing.etcd.endpoints': string[];
  'shardingRing.prefix': string;
  'shardingRing.instanceId'?: string;
  'shardingRing.instanceAddr'?: string;
  'shardingRing.zone': string;
  'shardingRing.heartbeatPeriod': number;
  'shardingRing.heartbeatTimeout': number;
  'shardingRing.autoForgetDelay'?: number;
  'shardingRing.waitStabilityMinDuration': number;
  'shardingRing.waitStabilityMaxDuration': number;
  'shardingRing.tenantLeaseTtl': number;
  'compactor.tenantShardSize': number;
}

/** The defaults of ringOptions: no sharding (for commands run from code, such as the demo). */
export const NO_RING: RingFlags = {
  'shardingRing.store': '',
  'shardingRing.etcd.endpoints': [],
  'shardingRing.prefix': 'collectors/',
  'shardingRing.zone': '',
  'shardingRing.heartbeatPeriod': 5_000,
  'shardingRing.heartbeatTimeout': 60_000,
  'shardingRing.waitStabilityMinDuration': 60_000,
  'shardingRing.waitStabilityMaxDuration': 5 * 60_000,
  'shardingRing.tenantLeaseTtl': 10_000,
  'compactor.tenantShardSize': 0,
};

export function ringOptions(cmd: Command): Command {
  const d = NO_RING;
  const store = cmd
    .option('--sharding-ring.store <store>', "'' (no sharding) or etcd: shard tenants over a hash ring", '')
    .option(
      '--sharding-ring.etcd.endpoints <list>',
      'etcd members of the ring, comma-separated',
      listArg,
      [],
    );
  return etcdSecurityOptions(store, 'shardingRing.etcd')
    .option('--sharding-ring.prefix <prefix>', 'etcd key prefix of the ring', d['shardingRing.prefix'])
    .option('--sharding-ring.instance-id <id>', 'this instance in the ring (default: the host name)')
    .option('--sharding-ring.instance-addr <host:port>', 'address published in the ring')
    .option('--sharding-ring.zone <zone>', 'availability zone of this instance', d['shardingRing.zone'])
    .option(
      '--sharding-ring.heartbeat-period <duration>',
      'ring heartbeat period',
      durationArg,
      d['shardingRing.heartbeatPeriod'],
    )
    .option(
      '--sharding-ring.heartbeat-timeout <duration>',
      'an instance without heartbeat this long is unhealthy and owns nothing',
      durationArg,
      d['shardingRing.heartbeatTimeout'],
    )
    .option(
      '--sharding-ring.auto-forget-delay <duration>',
      'unhealthy instances are removed from the ring after this long (default 2 × heartbeat timeout)',
      durationArg,
    )
    .option(
      '--sharding-ring.wait-stability-min-duration <duration>',
      'at start, wait until the ring has not changed for this long (0: do not wait)',
      durationArg,
      d['shardingRing.waitStabilityMinDuration'],
    )
    .option(
      '--sharding-ring.wait-stability-max-duration <duration>',
      'at start, stop waiting for a stable ring after this long',
      durationArg,
      d['shardingRing.waitStabilityMaxDuration'],
    )
    .option(
      '--sharding-ring.tenant-lease-ttl <duration>',
      'exclusive tenant holds live on an etcd lease of this TTL: a dead instance keeps its tenants this long',
      durationArg,
      d['shardingRing.tenantLeaseTtl'],
    )
    .option(
      '--compactor.tenant-shard-size <n>',
      'shuffle sharding: each tenant is owned within a subring of this many instances (0: all)',
      intArg,
      d['compactor.tenantShardSize'],
    );
}

/** Whether the flags turn ring sharding on (and are consistent). Throws on bad flags. */
export function ringEnabled(f: RingFlags): boolean {
  const store = f['shardingRing.store'];
  if (store === '') return false;
  if (store !== 'etcd')
    throw new InvalidArgumentError(`--sharding-ring.store must be '' or etcd, got "${store}"`);
  if (f['shardingRing.etcd.endpoints'].length === 0) {
    throw new InvalidArgumentError('--sharding-ring.store=etcd needs --sharding-ring.etcd.endpoints');
  }
  parseEtcdSecurity(f, 'shardingRing.etcd', f['shardingRing.etcd.endpoints']);
  if (f['compactor.tenantShardSize'] < 0)
    throw new InvalidArgumentError('--compactor.tenant-shard-size must be >= 0');
  for (const flag of ['heartbeatPeriod', 'heartbeatTimeout', 'tenantLeaseTtl'] as const) {
    if (!(f[`shardingRing.${flag}`] > 0)) {
      throw new InvalidArgumentError(
        `--sharding-ring.${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be > 0`,
      );
    }
  }
  return true;
}

export interface RingSetup {
  readonly instanceId: string;
  readonly client: RingClient;
  readonly lifecycler: Lifecycler;
  readonly sharding: TenantSharding;
  /** Aborted when the instance must stop (its ID taken by another process). */
  readonly fatal: AbortSignal;
  /** Mounts the ring page (HTML, JSON, Forget) at `path`. */
  mountPage(http: HttpEndpoint, path: string, title: string): void;
  /** For /api/v1/status. */
  status(): Record<string, unknown>;
  /** LEAVING, removal from the ring, and every tenant hold released. */
  stop(): Promise<void>;
}

export interface OpenRingOptions {
  /** `compactor` or `planner`: the ring key is `<prefix><name>`. */
  readonly name: string;
  /** Published address when --sharding-ring.instance-addr is not given. */
  readonly defaultAddr: string;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly signal: AbortSignal;
}

/** Joins the ring, then waits for it to be stable (the stability flags) before returning. */
export async function openRing(f: RingFlags, o: OpenRingOptions): Promise<RingSetup> {
  const instanceId = f['shardingRing.instanceId'] ?? hostname();
  const ringKey = `${f['shardingRing.prefix']}${o.name}`;
  const logger = o.logger.child({ instance: instanceId });
  const metrics = createRingMetrics(o.registry);
  const locksPrefix = `strata-tenant-locks/${ringKey}/`;
  const endpoints = f['shardingRing.etcd.endpoints'];
  const security = await prepareEtcdSecurity(parseEtcdSecurity(f, 'shardingRing.etcd', endpoints), {
    endpoints,
    keys: [ringKey, `${CLAIM_PREFIX}${ringKey}/`, locksPrefix],
    callTimeoutMs: 2000,
    logger,
  });
  const etcd = createEtcdClient({ endpoints, callTimeoutMs: 2000, ...security });
  const kv = new EtcdKv<Desc>({ codec: ringDescCodec, client: etcd, logger });
  const heartbeatTimeoutMs = f['shardingRing.heartbeatTimeout'];
  const lifecycler = new Lifecycler({
    kv,
    ringKey,
    instanceId,
    instanceAddr: f['shardingRing.instanceAddr'] ?? o.defaultAddr,
    zone: f['shardingRing.zone'],
    heartbeatPeriodMs: f['shardingRing.heartbeatPeriod'],
    heartbeatTimeoutMs,
    ...(f['shardingRing.autoForgetDelay'] !== undefined
      ? { autoForgetDelayMs: f['shardingRing.autoForgetDelay'] }
      : {}),
    logger,
    metrics,
  });
  const client = new RingClient({
    kv,
    key: ringKey,
    heartbeatTimeoutMs,
    pollIntervalMs: Math.min(5000, f['shardingRing.heartbeatPeriod']),
    logger,
    metrics,
  });
  const locks = new TenantLocks({
    client: etcd,
    prefix: locksPrefix,
    holder: JSON.stringify({
      id: instanceId,
      host: hostname(),
      pid: process.pid,
      nonce: randomBytes(6).toString('hex'),
    }),
    ttlSeconds: Math.ceil(f['shardingRing.tenantLeaseTtl'] / 1000),
    logger,
  });
  const sharding = new TenantSharding({
    ring: client,
    locks,
    instanceId,
    shardSize: f['compactor.tenantShardSize'],
    logger,
    metrics,
  });
  const fatal = new AbortController();
  lifecycler.onFatal((err) => fatal.abort(err));
  const close = async (): Promise<void> => {
    await locks.stop();
    await lifecycler.stop();
    await client.stop();
    await kv.close();
    etcd.close();
  };
  try {
    await lifecycler.start(o.signal);
    await client.start({ signal: o.signal });
    const w = await waitRingStability(() => client.topologyKey(), {
      minDurationMs: f['shardingRing.waitStabilityMinDuration'],
      maxDurationMs: f['shardingRing.waitStabilityMaxDuration'],
      signal: o.signal,
    });
    logger.info(w.stable ? 'ring is stable' : 'ring did not settle; starting anyway', {
      ring: ringKey,
      waited_ms: Math.round(w.waitedMs),
      changes: w.changes,
      members: client.ring().healthyInstances().length,
    });
  } catch (err) {
    await close().catch(() => undefined);
    throw withEtcdEndpoints(err, endpoints);
  }
  const csrf = new CsrfToken();
  return {
    instanceId,
    client,
    lifecycler,
    sharding,
    fatal: fatal.signal,
    mountPage(http, path, title) {
      http.mount(
        path,
        ringPageHandler({
          title,
          status: (includeTokens) => ringStatus(client.ring(), { key: ringKey, includeTokens }),
          forget: async (id) => {
            const removed = await lifecycler.forget(id);
            await client.refresh();
            return removed;
          },
          csrf,
          logger,
        }),
      );
    },
    status: () => ({
      instance: instanceId,
      ring: ringKey,
      members: client.ring().healthyInstances().length,
      tenants_held: [...sharding.held()].sort(),
      ring_error: client.error() === undefined ? null : errorMessage(client.error()),
    }),
    stop: close,
  };
}

/** The ring flags of `strata worker`: where the sharded planners' ring is (it reads, never joins). */
export type PlannerRingFlags = Pick<
  RingFlags,
  | keyof EtcdSecurityFlags<'shardingRing.etcd'>
  | 'shardingRing.store'
  | 'shardingRing.etcd.endpoints'
  | 'shardingRing.prefix'
  | 'shardingRing.heartbeatTimeout'
  | 'compactor.tenantShardSize'
>;

export function plannerRingOptions(cmd: Command): Command {
  const d = NO_RING;
  const store = cmd
    .option(
      '--sharding-ring.store <store>',
      "etcd: find the sharded planners in their ring ('' : use --planner.address)",
      '',
    )
    .option(
      '--sharding-ring.etcd.endpoints <list>',
      'etcd members of the ring, comma-separated',
      listArg,
      [],
    );
  return etcdSecurityOptions(store, 'shardingRing.etcd')
    .option(
      '--sharding-ring.prefix <prefix>',
      'etcd key prefix of the ring (the planners use <prefix>planner)',
      d['shardingRing.prefix'],
    )
    .option(
      '--sharding-ring.heartbeat-timeout <duration>',
      'a planner without heartbeat this long is left (as the planners judge it)',
      durationArg,
      d['shardingRing.heartbeatTimeout'],
    )
    .option(
      '--compactor.tenant-shard-size <n>',
      "the planners' shuffle-shard size (to hand plans of a planner that left to the right one)",
      intArg,
      d['compactor.tenantShardSize'],
    );
}

export interface PlannerRing {
  readonly discovery: PlannerDiscovery;
  stop(): Promise<void>;
}

/** Sharded planners, as a worker finds them: the members of the `planner` ring. */
export async function openPlannerRing(
  f: PlannerRingFlags,
  o: { logger: Logger; registry: Registry; signal: AbortSignal },
): Promise<PlannerRing> {
  if (f['shardingRing.store'] !== 'etcd') {
    throw new InvalidArgumentError(
      `--sharding-ring.store must be '' or etcd, got "${f['shardingRing.store']}"`,
    );
  }
  if (f['shardingRing.etcd.endpoints'].length === 0) {
    throw new InvalidArgumentError('--sharding-ring.store=etcd needs --sharding-ring.etcd.endpoints');
  }
  const endpoints = f['shardingRing.etcd.endpoints'];
  const key = `${f['shardingRing.prefix']}planner`;
  const security = await prepareEtcdSecurity(parseEtcdSecurity(f, 'shardingRing.etcd', endpoints), {
    endpoints,
    keys: [key],
    callTimeoutMs: 2000,
    logger: o.logger,
  });
  const etcd = createEtcdClient({ endpoints, callTimeoutMs: 2000, ...security });
  const kv = new EtcdKv<Desc>({ codec: ringDescCodec, client: etcd, logger: o.logger });
  const client = new RingClient({
    kv,
    key,
    heartbeatTimeoutMs: f['shardingRing.heartbeatTimeout'],
    logger: o.logger,
    metrics: createRingMetrics(o.registry),
  });
  const stop = async (): Promise<void> => {
    await client.stop();
    await kv.close();
    etcd.close();
  };
  try {
    await client.start({ signal: o.signal });
  } catch (err) {
    await stop();
    throw withEtcdEndpoints(err, endpoints);
  }
  const shardSize = f['compactor.tenantShardSize'];
  return {
    discovery: {
      planners: () =>
        new Map(
          client
            .ring()
            .healthyInstances()
            .map((i) => [i.id, i.addr]),
        ),
      onChange: (listener) => client.onChange(() => listener()),
      ownerOf: (tenant) => tenantOwner(client.ring(), tenant, shardSize)?.id,
    },
    stop,
  };
}
