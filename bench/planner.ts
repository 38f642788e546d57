/**
 * Planner/worker benchmark: 10,000 tenants × 20 blocks (metadata only) compacted to convergence by
 * 100 workers over real gRPC streams (loopback HTTP/2), each "compaction" a random
 * 10–50 ms sleep. Reports: a full planning pass over the bucket, plans handed out per second, plan
 * wait time (queued → handed out) p50/p99, and when each tenant got its first plan.
 *
 * Targets: full planning pass < 2 s; >= 1,000 plans handed out per second; every tenant's first
 * plan within the first 10% of the run.
 *
 * Run: `npx vite-node bench/planner.ts [--tenants N] [--workers N] [--min-ms N] [--max-ms N]
 * [--worker-procs N] [--shape mixed|ha] [--tls]`, or the built `node dist/bench/planner.js ...`. By default the workers run in
 * one child process, so planner and workers each get a core as they would in production;
 * `--worker-procs 0` keeps everything in one process. CPU time is printed next to wall time: on a shared
 * machine wall time says as much about the neighbours as about the planner. `--tls`: the stream
 * over mutual TLS (certificates made with openssl in a temp dir), to compare with plaintext.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import type { SecureClientSessionOptions } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { ulidOf } from '../test/support/plan-fixtures.js';
import { makeTestPki } from '../test/support/certs.js';
import { clientTlsFiles, loadClientTls, serverTlsFiles, type ServerTlsFiles } from '../src/util/tls.js';
import { compactionProgress, planAll } from '../src/plan/index.js';
import type { PlanBlock, PlanOptions } from '../src/plan/index.js';
import { startPlannerServer } from '../src/scheduler/server.js';
import type { LeadershipView } from '../src/scheduler/leadership-gate.js';
import { createWorker, type PlannerWorker } from '../src/scheduler/worker.js';
import { BenchSource, tenantBlocks } from './sim-bucket.js';
import type { PlanExecutor } from '../src/scheduler/worker-runs.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const TENANTS = arg('tenants', 10_000);
const WORKERS = arg('workers', 100);
const MIN_MS = arg('min-ms', 10);
const MAX_MS = arg('max-ms', 50);
/** 'mixed': the three shapes of bench/plan.ts; 'ha': every tenant 10 pairs of HA replica blocks. */
const SHAPE = process.argv.includes('--shape') ? process.argv[process.argv.indexOf('--shape') + 1]! : 'mixed';
/** Processes the workers run in (0: in the planner's process). */
const WORKER_PROCS = arg('worker-procs', 1);
const OPTS: PlanOptions = { replicaLabels: ['replica'] };
/** Where --tls certificates are (made by the parent, inherited by the worker processes). */
const TLS_DIR_ENV = 'STRATA_BENCH_TLS_DIR';

async function serverTls(): Promise<ServerTlsFiles | undefined> {
  if (!process.argv.includes('--tls')) return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'strata-bench-tls-'));
  const pki = await makeTestPki(dir);
  process.env[TLS_DIR_ENV] = dir;
  return serverTlsFiles({ cert: pki.server.cert, key: pki.server.key, clientCa: pki.ca.cert });
}

async function clientTls(): Promise<SecureClientSessionOptions | undefined> {
  const dir = process.env[TLS_DIR_ENV];
  if (dir === undefined) return undefined;
  const files = clientTlsFiles({
    secure: true,
    ca: join(dir, 'ca.crt'),
    cert: join(dir, 'client.crt'),
    key: join(dir, 'client.key'),
    skipVerify: false,
  });
  return loadClientTls(files!);
}

const alwaysLeader: LeadershipView = { isLeader: () => true, epoch: () => 1, leaderAddress: () => undefined };

function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function cpuMs(c: NodeJS.CpuUsage): number {
  return (c.user + c.system) / 1000;
}

async function main(): Promise<void> {
  let seq = 0;
  const next = (): number => ++seq;
  const all: PlanBlock[] = [];
  for (let t = 0; t < TENANTS; t++) all.push(...tenantBlocks(t, next, SHAPE));

  // 1. A full planning pass over the whole bucket (warm-up on a slice first).
  planAll(all.slice(0, 20_000), OPTS);
  const wall: number[] = [];
  const cpu: number[] = [];
  let plans = 0;
  for (let i = 0; i < 3; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    plans = planAll(all, OPTS).plans.length;
    wall.push(performance.now() - t0);
    cpu.push(cpuMs(process.cpuUsage(c0)));
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const todo = compactionProgress(all, OPTS).reduce((n, p) => n + p.todoCompactions, 0);
  console.log(
    `planning pass: ${TENANTS} tenants, ${all.length} blocks -> ${plans} plans now, ${todo} until converged; ` +
      `median of 3: ${med(wall).toFixed(0)} ms wall, ${med(cpu).toFixed(0)} ms CPU`,
  );

  // 2. The run: planner + WORKERS workers over gRPC until the bucket is fully compacted.
  const source = new BenchSource(all, OPTS);
  const assigned: { at: number; waitMs: number; tenant: string }[] = [];
  const firstPlan = new Map<string, number>();
  const passMs: number[] = [];
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  const runStart = performance.now();
  const c0 = process.cpuUsage();
  const tls = await serverTls();
  const server = await startPlannerServer({
    ...(tls ? { tls } : {}),
    leadership: alwaysLeader,
    source,
    graceMs: 0,
    replanDelayMs: 500,
    replanIntervalMs: 3_600_000,
    noPlanRetryMs: 50,
    leaseTimeoutMs: 60_000,
    events: {
      planned: (e) => passMs.push(e.durationMs),
      assigned: (e) => {
        const at = performance.now() - runStart;
        assigned.push({ at, waitMs: e.waitMs, tenant: e.plan.tenant });
        if (!firstPlan.has(e.plan.tenant)) firstPlan.set(e.plan.tenant, at);
      },
    },
  });
  const stopWorkers =
    WORKER_PROCS > 0
      ? forkWorkers(server.address)
      : runWorkers(server.address, 0, WORKERS, await clientTls());
  // Converged: nothing pending or running, and a fresh pass finds nothing new.
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const s = server.service.stats();
    if (s.pending > 0 || s.running > 0) continue;
    await server.service.replan();
    const again = server.service.stats();
    if (again.pending === 0 && again.running === 0) break;
  }
  const runMs = performance.now() - runStart;
  lag.disable();
  const runCpu = cpuMs(process.cpuUsage(c0));
  await stopWorkers();
  await server.close();
  const tlsDir = process.env[TLS_DIR_ENV];
  if (tlsDir !== undefined) await rm(tlsDir, { recursive: true, force: true });

  const waits = assigned.map((a) => a.waitMs).sort((a, b) => a - b);
  const firsts = [...firstPlan.values()].sort((a, b) => a - b);
  const lastHandout = assigned.length > 0 ? assigned[assigned.length - 1]!.at : 0;
  const firstHandout = assigned.length > 0 ? assigned[0]!.at : 0;
  // Plans per second over each whole second of the run, for the peak.
  const perSecond = new Map<number, number>();
  for (const a of assigned)
    perSecond.set(Math.floor(a.at / 1000), (perSecond.get(Math.floor(a.at / 1000)) ?? 0) + 1);
  const busiest = Math.max(...perSecond.values());
  const rate = assigned.length / (runMs / 1000);
  const handoutRate = assigned.length / ((lastHandout - firstHandout) / 1000);
  const lastFirst = firsts[firsts.length - 1] ?? NaN;
  console.log(
    `run${tls ? ' (mutual TLS)' : ''}: ${WORKERS} workers, ${MIN_MS}-${MAX_MS} ms per plan; ${assigned.length} plans handed out, ` +
      `${source.completed} completed in ${(runMs / 1000).toFixed(1)} s (${runCpu.toFixed(0)} ms CPU, ` +
      `${source.passes} planning passes, ${source.passCpuMs.toFixed(0)} ms CPU planning in them, ` +
      `${passMs.reduce((a, b) => a + b, 0).toFixed(0)} ms wall in whole passes, longest ${Math.max(...passMs).toFixed(0)} ms)`,
  );
  console.log(
    `throughput: ${rate.toFixed(0)} plans/s over the run, ${handoutRate.toFixed(0)} plans/s from first to last ` +
      `handout, busiest second ${busiest}; ideal for ${WORKERS} workers at ${(MIN_MS + MAX_MS) / 2} ms mean: ` +
      `${((WORKERS * 1000) / ((MIN_MS + MAX_MS) / 2)).toFixed(0)} plans/s`,
  );
  const perPlan = (ms: number): string => (ms / Math.max(1, assigned.length)).toFixed(3);
  console.log(
    WORKER_PROCS > 0
      ? `CPU per plan: planner process ${perPlan(runCpu)} ms (planning passes included; ` +
          `${perPlan(runCpu - source.completeCpuMs)} ms without the simulated bucket's completion bookkeeping), ` +
          `worker processes ${perPlan(workerCpuMs)} ms; one planner core could hand out ` +
          `~${((1000 * assigned.length) / runCpu).toFixed(0)} plans/s`
      : `CPU per plan (planner and ${WORKERS} workers in one process): ${perPlan(runCpu)} ms`,
  );
  console.log(
    `planner event loop delay: p50 ${(lag.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms, ` +
      `max ${(lag.max / 1e6).toFixed(0)} ms`,
  );
  console.log(
    `wait (queued -> handed out): p50 ${pct(waits, 50).toFixed(0)} ms, p99 ${pct(waits, 99).toFixed(0)} ms, ` +
      `max ${waits[waits.length - 1]?.toFixed(0)} ms`,
  );
  console.log(
    `first plan per tenant: ${firstPlan.size}/${TENANTS} tenants; first ${firsts[0]?.toFixed(0)} ms, ` +
      `p50 ${pct(firsts, 50).toFixed(0)} ms, last ${lastFirst.toFixed(0)} ms ` +
      `(spread ${(lastFirst - (firsts[0] ?? 0)).toFixed(0)} ms) = ${((100 * lastFirst) / runMs).toFixed(1)}% ` +
      `of the run; all first plans within the first ${firstPlan.size} handouts: ` +
      `${assigned.slice(0, firstPlan.size).every((a) => firstPlan.get(a.tenant) === a.at)}`,
  );
}

/** Workers `from`..`to`-1 in this process; returns their stop function. */
function runWorkers(
  address: string,
  from: number,
  to: number,
  tls: SecureClientSessionOptions | undefined,
): () => Promise<void> {
  let seq = 0;
  const exec: PlanExecutor = {
    async execute(plan) {
      await new Promise((r) => setTimeout(r, MIN_MS + Math.random() * (MAX_MS - MIN_MS)));
      return { outputs: [ulidOf(plan.maxTime, ++seq)] };
    },
  };
  const workers: PlannerWorker[] = [];
  for (let i = from; i < to; i++) {
    const w = createWorker({
      workerId: `bench-${i}`,
      planners: address,
      executor: exec,
      ...(tls ? { tls } : {}),
    });
    w.start();
    workers.push(w);
  }
  return async () => {
    await Promise.all(workers.map((w) => w.stop('finish')));
  };
}

/** CPU ms the worker processes used (filled in when they stop). */
let workerCpuMs = 0;

/** WORKERS workers spread over WORKER_PROCS child processes (this script with --child). */
function forkWorkers(address: string): () => Promise<void> {
  const children: ChildProcess[] = [];
  const per = Math.ceil(WORKERS / WORKER_PROCS);
  for (let p = 0; p < WORKER_PROCS; p++) {
    const from = p * per;
    const to = Math.min(WORKERS, from + per);
    children.push(
      fork(process.argv[1]!, [...process.argv.slice(2), '--child', address, String(from), String(to)]),
    );
  }
  return async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            c.on('message', (m) => {
              if (typeof m === 'object' && m !== null && 'cpuMs' in m) workerCpuMs += Number(m.cpuMs);
            });
            c.once('exit', () => resolve());
            c.send('stop');
          }),
      ),
    );
  };
}

const child = process.argv.indexOf('--child');
if (child >= 0) {
  const [address, from, to] = process.argv.slice(child + 1, child + 4);
  const stop = runWorkers(address!, Number(from), Number(to), await clientTls());
  process.on('message', () => {
    void stop().then(() => {
      process.send?.({ cpuMs: cpuMs(process.cpuUsage()) }, () => process.exit(0));
    });
  });
} else {
  await main();
}
