/**
 * Child processes of bench/query.ts: `strata store` / `strata query` started from dist (optionally
 * under `--cpu-prof`, stopped with SIGTERM so the profile is written), and what /proc says about
 * them (RSS, CPU time). Every child goes through test/support/processes.ts: tracked, stopped by PID.
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startProcess, waitFor, type TrackedProcess } from '../test/support/processes.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const STRATA = join(REPO, 'bin', 'strata.js');
/** USER_HZ: the unit of utime/stime in /proc/PID/stat (100 on every Linux we run on). */
const CLK_TCK = 100;

export interface StrataChild {
  readonly role: string;
  readonly proc: TrackedProcess;
  /** host:port of the gRPC Store API. */
  readonly grpc: string;
  /** http://host:port */
  readonly http: string;
  /** When the process was spawned (performance.now()). */
  readonly startedAt: number;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Profiles go to `<cpuProfDir>/<role>/` when set. */
  readonly cpuProfDir?: string;
}

/** Spawns `strata <command> ARGS --grpc-address … --http-address …` on free loopback ports. */
export async function startStrata(
  role: string,
  command: 'store' | 'query',
  args: readonly string[],
  o: StartOptions = {},
): Promise<StrataChild> {
  const grpc = `127.0.0.1:${await freePort()}`;
  const http = `127.0.0.1:${await freePort()}`;
  const nodeArgs: string[] = [];
  if (o.cpuProfDir !== undefined) {
    const dir = join(o.cpuProfDir, role);
    await mkdir(dir, { recursive: true });
    nodeArgs.push('--cpu-prof', '--cpu-prof-dir', dir);
  }
  const startedAt = performance.now();
  const proc = startProcess(
    `strata ${role}`,
    process.execPath,
    [
      ...nodeArgs,
      STRATA,
      command,
      ...args,
      '--grpc-address',
      grpc,
      '--http-address',
      http,
      '--log.level',
      'warn',
    ],
    { cwd: REPO },
  );
  return {
    role,
    proc,
    grpc,
    http: `http://${http}`,
    startedAt,
    // SIGTERM: graceful shutdown, so --cpu-prof writes its profile; SIGKILL after 20 s.
    stop: () => proc.stop('SIGTERM', 20_000),
  };
}

/** Resolves with the ms from spawn to the first 200 from /-/ready. */
export async function waitReady(c: StrataChild, timeoutMs = 120_000): Promise<number> {
  await waitFor(
    `${c.role} /-/ready`,
    async () => {
      if (c.proc.exited()) throw new Error(`${c.role} exited:\n${c.proc.output().slice(-3000)}`);
      const res = await fetch(`${c.http}/-/ready`);
      await res.arrayBuffer();
      return res.status === 200 ? true : undefined;
    },
    timeoutMs,
    20,
  );
  return performance.now() - c.startedAt;
}

interface StatusEndpoint {
  address: string;
  healthy: boolean;
}

/** Waits until a querier's /api/v1/status lists `n` healthy endpoints. */
export async function waitHealthyEndpoints(q: StrataChild, n: number, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    `${q.role}: ${n} healthy endpoints`,
    async () => {
      if (q.proc.exited()) throw new Error(`${q.role} exited:\n${q.proc.output().slice(-3000)}`);
      const res = await fetch(`${q.http}/api/v1/status`);
      const body = (await res.json()) as { endpoints?: StatusEndpoint[] };
      const healthy = (body.endpoints ?? []).filter((e) => e.healthy).length;
      return healthy >= n ? true : undefined;
    },
    timeoutMs,
    100,
  );
}

/** VmRSS of a live process, bytes. */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** User + system CPU time of a live process, ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / CLK_TCK;
}

/** A gauge from a child's /metrics (first sample of the family), or undefined. */
export async function scrapeGauge(c: StrataChild, name: string): Promise<number | undefined> {
  const res = await fetch(`${c.http}/metrics`);
  const text = await res.text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text);
  return m === null ? undefined : Number(m[1]);
}

/** Stops the children by PID, in reverse start order. */
export async function stopAll(children: StrataChild[]): Promise<void> {
  for (const c of children.splice(0).reverse()) await c.stop();
}
