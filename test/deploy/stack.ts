/**
 * The Kubernetes manifests of deploy/kubernetes/ run as local processes, for scraping: every
 * strata container's args exactly as written, except what only exists in a cluster (addresses,
 * paths, pod names: rewritten to loopback ports, temp dirs, a filesystem bucket and a real etcd)
 * and a few overrides appended for speed and log parsing. One pod per workload (one planner, one
 * worker, one sharded compactor, one store per store group, one querier). Every process is
 * tracked and stopped by PID.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { logRecords, startStrata, tail } from '../compactor/run.js';
import { WAIT_MS, stopGracefully } from '../planner/cluster.js';
import { startEtcd, type EtcdCluster } from '../services/etcd.js';
import { freshPrefix } from '../sharding/support.js';
import { ensureBuilt } from '../support/build.js';
import { freePort, waitFor, type TrackedProcess } from '../support/processes.js';
import { manifests, parseArgFlags, type Manifest } from './manifests.js';

export interface Scraped {
  /** compact, planner, worker, store, query. */
  readonly component: string;
  /** The /metrics text exposition. */
  readonly text: string;
}

export interface Stack {
  /** One scrape of every process, taken once each was ready. */
  readonly scrapes: readonly Scraped[];
  stop(): Promise<void>;
}

/** A strata container of a manifest: its subcommand and flags. */
interface Workload {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
}

function strataWorkloads(ms: readonly Manifest[]): Workload[] {
  const out: Workload[] = [];
  for (const m of ms) {
    for (const c of m.spec?.template?.spec.containers ?? []) {
      if (c.command?.[0] !== 'strata') continue;
      out.push({ name: m.metadata.name, command: c.args![0]!, args: c.args!.slice(1) });
    }
  }
  return out;
}

interface Local {
  readonly root: string;
  readonly objstoreFile: string;
  readonly etcd: readonly string[];
  readonly http: number;
  readonly grpc: number;
  /** gRPC addresses of the planners, and of the stores in manifest order. */
  readonly planners?: readonly string[];
  readonly stores?: readonly string[];
}

/** Overrides appended to the manifest args: logfmt for the log readers, no ring stability wait. */
const OVERRIDES: Readonly<Record<string, readonly string[]>> = {
  compact: ['--log.format=logfmt', '--sharding-ring.wait-stability-min-duration=0s'],
  planner: ['--log.format=logfmt', '--planner.grace-period=0s'],
  worker: ['--log.format=logfmt'],
  store: ['--log.format=logfmt'],
  query: ['--log.format=logfmt', '--endpoint.info-interval=1s'],
};

/** The manifest args with cluster-only values replaced (see the module comment). */
export function localArgs(w: Workload, l: Local): string[] {
  const loop = (port: number): string => `127.0.0.1:${port}`;
  let endpoints = 0;
  const out: string[] = [w.command];
  for (const f of parseArgFlags(w.args)) {
    const value = ((): string | undefined => {
      switch (f.name) {
        case 'objstore.config-file':
          return l.objstoreFile;
        case 'data-dir':
          return join(l.root, `${w.name}-data`);
        case 'http-address':
        case 'sharding-ring.instance-addr':
          return loop(l.http);
        case 'grpc-address':
        case 'grpc-advertise-address':
          return loop(l.grpc);
        case 'etcd.endpoints':
        case 'sharding-ring.etcd.endpoints':
          return l.etcd.join(',');
        case 'sharding-ring.prefix':
          return freshPrefix();
        case 'planner.address':
          return l.planners!.join(',');
        case 'endpoint':
          // One --endpoint per store group in the manifest; one store runs per group here.
          return l.stores![endpoints++];
        default:
          return f.value?.replaceAll('$(POD_NAME)', `${w.name}-0`);
      }
    })();
    if (value !== undefined && value.includes('$(')) throw new Error(`${w.name}: --${f.name}=${value}`);
    out.push(value === undefined ? `--${f.name}` : `--${f.name}=${value}`);
  }
  return [...out, ...(OVERRIDES[w.command] ?? [])];
}

async function scrape(component: string, port: number): Promise<Scraped> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${component} /metrics: HTTP ${res.status}: ${text.slice(0, 200)}`);
  return { component, text };
}

/** Lines `strata_query_endpoint_healthy{...} 1` of a scrape. */
export function healthyEndpointLines(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('strata_query_endpoint_healthy{') && l.endsWith(' 1'));
}

export async function startStack(root: string): Promise<Stack> {
  const objstoreFile = join(root, 'objstore.yaml');
  await mkdir(join(root, 'bucket'), { recursive: true });
  await writeFile(objstoreFile, `type: FILESYSTEM\nconfig:\n  directory: ${join(root, 'bucket')}\n`);
  const ws = strataWorkloads(await manifests());
  const of = (cmd: string): Workload[] => ws.filter((w) => w.command === cmd);
  const procs: TrackedProcess[] = [];
  let etcd: EtcdCluster | undefined;
  const stop = async (): Promise<void> => {
    for (const p of procs.reverse()) await stopGracefully(p).catch(() => p.stop('SIGKILL', 1000));
    await etcd?.stop();
  };
  const start = async (
    w: Workload,
    extra: Partial<Local> = {},
  ): Promise<Local & { proc: TrackedProcess }> => {
    const l: Local = {
      root,
      objstoreFile,
      etcd: etcd!.endpoints,
      http: await freePort(),
      grpc: await freePort(),
      ...extra,
    };
    const proc = startStrata(localArgs(w, l));
    procs.push(proc);
    return { ...l, proc };
  };
  /** Resolves once `p` logged `msg`; rejects at once when `p` exits first (a flag it refused). */
  const logged = async (p: TrackedProcess, msg: string): Promise<void> => {
    const deadline = Date.now() + WAIT_MS;
    while (!logRecords(p.output()).some((r) => r.msg === msg)) {
      if (p.exited() || Date.now() > deadline) {
        throw new Error(`${p.name} (pid ${p.pid}) did not log '${msg}':\n${tail(p.output())}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    [etcd] = await Promise.all([startEtcd(), ensureBuilt()]);
    const [planner] = of('planner');
    const [compact] = of('compact');
    const stores = of('store');
    const p = await start(planner!);
    const ss = await Promise.all(stores.map((s) => start(s)));
    const c = await start(compact!);
    const wk = await start(of('worker')[0]!, { planners: [`127.0.0.1:${p.grpc}`] });
    const q = await start(of('query')[0]!, { stores: ss.map((s) => `127.0.0.1:${s.grpc}`) });
    await Promise.all([
      logged(p.proc, 'strata planner started'),
      logged(wk.proc, 'strata worker started'),
      ...ss.map((s) => logged(s.proc, 'store ready')),
      // The pass gauges and the ring gauge are set once the first pass (empty bucket) has run.
      logged(c.proc, 'compaction pass done'),
    ]);
    // The querier is scraped once it reports every store healthy, each in its own group.
    const query = await waitFor(
      'strata query to see every store healthy',
      async () => {
        if (q.proc.exited()) throw new Error(`strata query exited:\n${tail(q.proc.output())}`);
        const s = await scrape('query', q.http);
        return healthyEndpointLines(s.text).length === ss.length ? s : undefined;
      },
      30_000,
      200,
    );
    const scrapes = await Promise.all([
      scrape('compact', c.http),
      scrape('planner', p.http),
      scrape('worker', wk.http),
      ...ss.map((s) => scrape('store', s.http)),
    ]);
    return { scrapes: [...scrapes, query], stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The metric families of a text exposition (`# TYPE` lines: prom-client writes them for every
 * registered metric, with or without samples) plus every sample name.
 */
export function exposedNames(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) /.exec(line);
    if (type) out.add(type[1]!);
    else if (line !== '' && !line.startsWith('#')) out.add(/^[^{ ]+/.exec(line)![0]);
  }
  return out;
}
