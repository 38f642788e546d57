/**
 * One of every long-running Strata process on an empty filesystem bucket, for scraping: a sharded
 * `strata compact --wait` (ring in a real etcd), `strata planner` + `strata worker`, `strata store`
 * and `strata query` in front of the store. Every process is tracked and stopped by PID.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { compactArgs, filesystemObjstore, startStrata, workerArgs } from '../compactor/run.js';
import { startPlanner, stopGracefully, waitForLog } from '../planner/cluster.js';
import { startQuery, type Running } from '../query/harness.js';
import { startEtcd, type EtcdCluster } from '../services/etcd.js';
import { freshPrefix, ringFlags } from '../sharding/support.js';
import { ensureBuilt } from '../support/build.js';
import type { TrackedProcess } from '../support/processes.js';
import { startStore } from '../store/run.js';

export interface Scraped {
  /** compact, planner, worker, store, query. */
  readonly component: string;
  /** The /metrics text exposition. */
  readonly text: string;
}

export interface Stack {
  /** One scrape of every process, taken after each had started. */
  readonly scrapes: readonly Scraped[];
  stop(): Promise<void>;
}

async function scrape(component: string, hostPort: string): Promise<Scraped> {
  const base = hostPort.startsWith('http') ? hostPort : `http://${hostPort}`;
  const res = await fetch(`${base}/metrics`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${component} /metrics: HTTP ${res.status}: ${text.slice(0, 200)}`);
  return { component, text };
}

export async function startStack(root: string): Promise<Stack> {
  const bucketDir = join(root, 'bucket');
  await mkdir(bucketDir, { recursive: true });
  const objstore = filesystemObjstore(bucketDir);
  const procs: TrackedProcess[] = [];
  const servers: Running[] = [];
  let etcd: EtcdCluster | undefined;
  const stop = async (): Promise<void> => {
    for (const s of servers.reverse()) await s.stop().catch(() => undefined);
    for (const p of procs.reverse()) await stopGracefully(p).catch(() => p.stop('SIGKILL', 1000));
    await etcd?.stop();
  };
  try {
    const [cluster] = await Promise.all([startEtcd(), ensureBuilt()]);
    etcd = cluster;
    const compact = startStrata(
      compactArgs({
        objstore,
        dataDir: join(root, 'compact-data'),
        extra: [
          '--wait',
          '--wait-interval',
          '1h',
          ...ringFlags(cluster.endpoints, freshPrefix(), 'compact-0', { stabilityMin: '0s' }),
        ],
      }),
    );
    procs.push(compact);
    const planner = await startPlanner({ objstore, dataDir: join(root, 'planner-data') });
    procs.push(planner.proc);
    const worker = startStrata(
      workerArgs({
        objstore,
        dataDir: join(root, 'worker-data'),
        id: 'worker-0',
        plannerPorts: [planner.grpcPort],
      }),
    );
    procs.push(worker);
    const store = await startStore(objstore);
    procs.push(store.proc);
    servers.push(await startQuery({ endpoints: [store.grpc] }));
    const started = async (p: TrackedProcess, what: string): Promise<string> => {
      const r = await waitForLog(p, `'${what}'`, (x) => x.msg === what);
      if (r.http === undefined || r.http === '') throw new Error(`no http field in ${JSON.stringify(r)}`);
      return r.http;
    };
    const compactHttp = await started(compact, 'strata compact started');
    // The pass gauges and the ring gauge are set once the first pass (empty bucket) has run.
    await waitForLog(compact, 'a finished pass', (x) => /pass (done|finished|complete)/.test(x.msg ?? ''));
    const workerHttp = await started(worker, 'strata worker started');
    const scrapes = await Promise.all([
      scrape('compact', compactHttp),
      scrape('planner', planner.http),
      scrape('worker', workerHttp),
      scrape('store', store.http),
      scrape('query', servers[0]!.http),
    ]);
    return { scrapes, stop };
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
