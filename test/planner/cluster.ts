/**
 * Helpers for the `strata planner` + `strata worker` tests: real child processes (bin/strata.js)
 * against filesystem buckets holding the HA fixture of test/compactor, the planner's HTTP status
 * and metrics, log lines, and what a bucket ends with (live blocks, dumps) read independently of
 * the compactor.
 */
import { join } from 'node:path';
import { expect } from 'vitest';
import { forEachLimit } from '../../src/block/concurrency.js';
import { uploadBlock } from '../../src/block/upload.js';
import type { Bucket } from '../../src/objstore/bucket.js';
import type { HaFixture } from '../compactor/fixtures.js';
import {
  downloadBlocks,
  dumpBlocksSeparately,
  layout,
  liveBlocks,
  partialBlocks,
  readTenant,
  type TenantState,
} from '../compactor/inspect.js';
import {
  logRecords,
  plannerArgs,
  startStrata,
  tail,
  waitExit,
  workerArgs,
  type StartOptions,
} from '../compactor/run.js';
import { freePort, waitFor, type TrackedProcess } from '../support/processes.js';

/** Generous: the CI machine is a loaded 2-core box. */
export const WAIT_MS = 60_000;

/** Uploads every block of the fixture to `bucket` (multi-tenant layout). */
/** The tenants a check looks at (an HaFixture is one). */
export interface TenantList {
  readonly tenants: readonly { readonly tenant: string }[];
}

export async function uploadFixture(bucket: Bucket, fx: HaFixture): Promise<void> {
  const uploads = fx.tenants.flatMap((t) => t.blocks.map((b) => ({ tenant: t.tenant, dir: b.dir })));
  await forEachLimit(uploads, 6, async (u) => {
    await uploadBlock(bucket, layout, u.tenant, u.dir);
  });
}

/** The logfmt records of a process so far. */
export function records(p: TrackedProcess): Record<string, string>[] {
  return logRecords(p.output());
}

/** Waits until `p` logged a record matching `pred` (fails early if `p` exits first). */
export async function waitForLog(
  p: TrackedProcess,
  what: string,
  pred: (r: Record<string, string>) => boolean,
  timeoutMs = WAIT_MS,
): Promise<Record<string, string>> {
  return waitFor(
    `${p.name} (pid ${p.pid}) to log ${what}`,
    () => {
      const hit = records(p).find(pred);
      if (hit) return Promise.resolve(hit);
      if (p.exited()) {
        return Promise.reject(new Error(`${p.name} exited without logging ${what}:\n${tail(p.output())}`));
      }
      return Promise.resolve(undefined);
    },
    timeoutMs,
    100,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\n--- output of ${p.name}:\n${tail(p.output())}`);
  });
}

export interface Planner {
  proc: TrackedProcess;
  grpcPort: number;
  /** host:port of /metrics and /api/v1/status. */
  http: string;
}

/** `strata planner` (plannerArgs) on a free gRPC port; resolves once it logged its start. */
export async function startPlanner(o: {
  objstore: string;
  dataDir: string;
  extra?: readonly string[];
  env?: StartOptions['env'];
}): Promise<Planner> {
  const grpcPort = await freePort();
  const proc = startStrata(
    plannerArgs({ objstore: o.objstore, dataDir: o.dataDir, grpcPort, extra: o.extra ?? [] }),
    o.env ? { env: o.env } : {},
  );
  const started = await waitForLog(
    proc,
    "'strata planner started'",
    (r) => r.msg === 'strata planner started',
  );
  const http = started.http;
  if (http === undefined || http === '') throw new Error(`no http field in ${JSON.stringify(started)}`);
  return { proc, grpcPort, http };
}

/** `strata worker` (workerArgs) against the planner; resolves once it logged its start. */
export async function startWorker(o: {
  planner: Planner;
  objstore: string;
  dataDir: string;
  id: string;
  extra?: readonly string[];
  env?: StartOptions['env'];
}): Promise<TrackedProcess> {
  const proc = startStrata(
    workerArgs({
      objstore: o.objstore,
      dataDir: o.dataDir,
      id: o.id,
      plannerPorts: [o.planner.grpcPort],
      extra: o.extra ?? [],
    }),
    o.env ? { env: o.env } : {},
  );
  await waitForLog(proc, "'strata worker started'", (r) => r.msg === 'strata worker started');
  return proc;
}

/** SIGTERM, then the exit code and output (SIGKILL and an error after timeoutMs). */
export async function stopGracefully(
  p: TrackedProcess,
  timeoutMs = WAIT_MS,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string; ms: number }> {
  const t = Date.now();
  if (!p.exited()) {
    try {
      process.kill(p.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
  const r = await waitExit(p, timeoutMs);
  await p.stop('SIGKILL', 1000);
  return { ...r, ms: Date.now() - t };
}

/** SIGTERM and expect exit code 0. */
export async function stopOk(p: TrackedProcess): Promise<void> {
  const r = await stopGracefully(p);
  expect(r.code, `${p.name} (pid ${p.pid}) exit after SIGTERM:\n${tail(r.output)}`).toBe(0);
}

export interface PlannerStatus {
  leader: unknown;
  pending: number;
  running: number;
  parked: number;
  workers: { worker: string; capacity: number; stream: string }[];
  running_plans: unknown[];
  sync: { passes: number; cleanups: number };
  [k: string]: unknown;
}

export async function plannerStatus(p: Planner): Promise<PlannerStatus> {
  const res = await fetch(`http://${p.http}/api/v1/status`);
  if (!res.ok) throw new Error(`/api/v1/status: HTTP ${res.status}`);
  return (await res.json()) as PlannerStatus;
}

export async function plannerMetrics(p: Planner): Promise<string> {
  const res = await fetch(`http://${p.http}/metrics`);
  if (!res.ok) throw new Error(`/metrics: HTTP ${res.status}`);
  return res.text();
}

/** The value of one sample line (`name{labels} value`) of a Prometheus text exposition. */
export function metricValue(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/** A live block as the planner's result is compared: range, level, sorted sources. */
export function blockKey(b: {
  meta?: {
    minTime: number;
    maxTime: number;
    compaction: { level: number; sources: string[] };
    thanos?: { downsample: { resolution: number } };
  };
}): string {
  const m = b.meta!;
  const res = m.thanos?.downsample.resolution ?? 0;
  return `${m.minTime}-${m.maxTime} r${res} L${m.compaction.level} ${[...m.compaction.sources].sort().join(',')}`;
}

/**
 * Live blocks (blockKeys) equal to the expected ones: first by time range and sources (what data
 * is where), then with their levels. A level-only difference means the same data went through a
 * different chain of compactions (e.g. a range compacted around the blocks of a plan that
 * completed while the planner was syncing, then once more with its output: one extra rewrite).
 */
export function expectSameBlocks(
  got: readonly string[],
  want: readonly string[],
  what: string,
  chains?: () => string,
): void {
  const noLevel = (keys: readonly string[]): string[] => keys.map((k) => k.replace(/ L\d+ /, ' ')).sort();
  expect(noLevel(got), `${what}: time ranges and sources`).toEqual(noLevel(want));
  const sameLevels = JSON.stringify([...got].sort()) === JSON.stringify([...want].sort());
  expect(
    [...got].sort(),
    `${what}: levels (same ranges and sources, another chain of compactions)${
      sameLevels || chains === undefined ? '' : `\n${chains()}`
    }`,
  ).toEqual([...want].sort());
}

/** The live blocks of every tenant of the fixture, as sorted blockKeys. */
export async function liveKeys(bucket: Bucket, fx: TenantList): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const t of fx.tenants)
    out.set(
      t.tenant,
      liveBlocks(await readTenant(bucket, t.tenant))
        .map(blockKey)
        .sort(),
    );
  return out;
}

export async function readTenants(bucket: Bucket, fx: TenantList): Promise<Map<string, TenantState>> {
  const out = new Map<string, TenantState>();
  for (const t of fx.tenants) out.set(t.tenant, await readTenant(bucket, t.tenant));
  return out;
}

/** Everything compacted and cleaned: no partial block, no marked block, nothing in markers/. */
export function settled(st: TenantState): boolean {
  return (
    partialBlocks(st).length === 0 &&
    [...st.blocks.values()].every((b) => b.deletionMark === undefined) &&
    st.markerCopies.length === 0
  );
}

/** The sorted dump of every live block of a tenant, each block dumped on its own. */
export async function liveDump(bucket: Bucket, st: TenantState, dir: string): Promise<string[]> {
  const dirs = await downloadBlocks(
    bucket,
    st.tenant,
    liveBlocks(st).map((b) => b.ulid),
    join(dir, st.tenant),
  );
  return dumpBlocksSeparately(dirs);
}

/** Pairs of live blocks of a tenant whose time ranges overlap. */
export function overlappingLive(st: TenantState): string[] {
  const live = liveBlocks(st);
  const out: string[] = [];
  for (let i = 1; i < live.length; i++) {
    const a = live[i - 1]!.meta!;
    const b = live[i]!.meta!;
    if (b.minTime < a.maxTime)
      out.push(
        `${live[i - 1]!.ulid} [${a.minTime},${a.maxTime}) / ${live[i]!.ulid} [${b.minTime},${b.maxTime})`,
      );
  }
  return out;
}

/**
 * Waits until the planner has nothing pending or running, everything is cleaned up (no partial
 * or marked block) and every tenant's live blocks are `want`; or, if they never become `want`,
 * until that quiet state has not changed for `idleMs` (several planning passes: nothing will
 * change any more). The caller compares the blocks.
 */
export async function waitForEndState(
  planner: Planner,
  bucket: Bucket,
  fx: TenantList,
  want: Map<string, string[]>,
  timeoutMs = 120_000,
  idleMs = 15_000,
): Promise<PlannerStatus> {
  let last = '';
  let idle: { since: number; snapshot: string } | undefined;
  try {
    return await waitFor(
      'the planner to finish the bucket',
      async () => {
        const s = await plannerStatus(planner);
        const states = await readTenants(bucket, fx);
        const keys = new Map([...states].map(([t, st]) => [t, liveBlocks(st).map(blockKey).sort()]));
        const same = [...want].every(([t, k]) => JSON.stringify(keys.get(t)) === JSON.stringify(k));
        const isSettled = [...states.values()].every(settled);
        last = `pending=${s.pending} running=${s.running} parked=${s.parked} live blocks=${JSON.stringify(
          [...keys].map(([t, k]) => [t, k.length]),
        )} settled=${isSettled}`;
        const quiet = s.pending === 0 && s.running === 0 && isSettled;
        if (quiet && same) return s;
        const snapshot = JSON.stringify([...keys]);
        if (!quiet) idle = undefined;
        else if (idle?.snapshot !== snapshot) idle = { since: Date.now(), snapshot };
        else if (Date.now() - idle.since >= idleMs) return s;
        return undefined;
      },
      timeoutMs,
      500,
    );
  } catch (err) {
    throw new Error(`${String(err)}\nlast: ${last}\n--- planner:\n${tail(planner.proc.output())}`);
  }
}

/** The plan ids a process logged with `msg` (field `plan`), in order. */
export function plansLogged(p: TrackedProcess, msg: string): string[] {
  return records(p)
    .filter((r) => r.msg === msg && r.plan !== undefined)
    .map((r) => r.plan!);
}

/** The compactions of `tenant` in a process's logs (`sources -> output`), for failure messages. */
export function compactionsLogged(output: string, tenant: string): string[] {
  return logRecords(output)
    .filter((r) => r.msg === 'compaction done' && r.tenant === tenant)
    .map((r) => `${r.blocks ?? '?'} -> ${r.output ?? '?'}`);
}

/** `err` with the last lines of every process's output appended (for a failing test). */
export function withOutputs(err: unknown, procs: readonly TrackedProcess[], lines = 30): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  const outs = procs.map(
    (p) => `--- ${p.name} (pid ${p.pid}, ${p.child.spawnargs[2] ?? ''}):\n${tail(p.output(), lines)}`,
  );
  e.message = `${e.message}\n${outs.join('\n')}`;
  return e;
}
