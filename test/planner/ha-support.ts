/**
 * Shared pieces of the HA tests of `strata planner` / `strata worker` and of `strata compact` as
 * an HA singleton (test/planner/ha-*.test.ts): fresh filesystem buckets holding the HA fixture,
 * the reference end state (`strata compact` on an identical copy), replicas and workers on free
 * loopback ports, /api/v1/status polling, and the reading of the workers' logs into plan runs with
 * the cross-epoch conflict check.
 *
 * Every process goes through startStrata (tracked, stopped by PID). Nothing here waits on a fixed
 * sleep for correctness: log lines and status polls with generous timeouts.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { uploadBlock } from '../../src/block/upload.js';
import { forEachLimit } from '../../src/block/concurrency.js';
import { haFixture, type HaFixture, type HaFixtureOptions } from '../compactor/fixtures.js';
import {
  downloadBlocks,
  dumpBlocksSeparately,
  layout,
  liveBlocks,
  partialBlocks,
  readTenant,
  type BucketBlock,
} from '../compactor/inspect.js';
import {
  compactArgs,
  filesystemObjstore,
  logRecords,
  plannerArgs,
  runStrataOk,
  startStrata,
  tail,
  workerArgs,
} from '../compactor/run.js';
import { ensureBuilt } from '../support/build.js';
import { freePort, waitFor, type TrackedProcess } from '../support/processes.js';

/** Lease TTL of every election here (--etcd.lease-ttl). */
export const TTL_MS = 3000;
/** How long a fail-over may take: the lease runs out, the follower is elected, its status says so. */
export const FAILOVER_LIMIT_MS = TTL_MS + 2000;
/** Generous wait for anything that should happen (CI machines are slow and loaded). */
export const LONG_MS = 60_000;
/** Sleep at the start of every step of a plan (STRATA_DEBUG_PHASE_DELAY_MS): runs last seconds. */
export const PHASE_DELAY_MS = 100;
/**
 * The bucket every test starts from: two tenants of HA replica pairs over 12 × 2h windows, one
 * with identical replicas, one with offset replicas (penalty dedup fills r1's gap from r2).
 */
export const FIXTURE: HaFixtureOptions = {
  windows: 12,
  series: 8,
  seed: 31,
  tenants: [
    { tenant: 'alpha', kind: 'identical' },
    { tenant: 'beta', kind: 'offset' },
  ],
};
/** Both the planners and the reference `strata compact` dedup this way. */
export const DEDUP_FLAGS = ['--deduplication.func', 'penalty'] as const;

// ---------------------------------------------------------------------------------------------
// Buckets and end states

export interface TestBucket {
  dir: string;
  objstore: string;
  bucket: FilesystemBucket;
}

/** A filesystem bucket under `root/name` holding every block of the fixture's `tenants` (default all). */
export async function fixtureBucket(
  root: string,
  name: string,
  fx: HaFixture,
  tenants = fx.tenants.map((t) => t.tenant),
): Promise<TestBucket> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  const b: TestBucket = {
    dir,
    objstore: filesystemObjstore(dir),
    bucket: new FilesystemBucket({ directory: dir }),
  };
  for (const t of tenants) await uploadTenant(b, fx, t);
  return b;
}

/** Uploads every block of one fixture tenant. */
export async function uploadTenant(b: TestBucket, fx: HaFixture, tenant: string): Promise<void> {
  const t = fx.tenants.find((x) => x.tenant === tenant);
  if (t === undefined) throw new Error(`no tenant ${tenant} in the fixture`);
  await forEachLimit(t.blocks, 6, async (blk) => {
    await uploadBlock(b.bucket, layout, tenant, blk.dir);
  });
}

/** `minTime maxTime level sorted-sources` of every live block of a tenant, by minTime. */
export type Shape = string[];

function shapeOf(live: readonly BucketBlock[]): Shape {
  return live.map(
    (b) =>
      `${b.meta!.minTime} ${b.meta!.maxTime} L${b.meta!.compaction.level} ` +
      [...b.meta!.compaction.sources].sort().join(','),
  );
}

/** The live blocks (complete, no deletion mark) of a tenant now. */
export async function liveShape(bucket: FilesystemBucket, tenant: string): Promise<Shape> {
  return shapeOf(liveBlocks(await readTenant(bucket, tenant)));
}

export interface EndState {
  /** tenant → live block shapes. */
  shapes: Map<string, Shape>;
  /** tenant → promtool dump of the live blocks, one block at a time, sorted. */
  dumps: Map<string, string[]>;
  /** tenant → partial blocks that are not being deleted (no deletion mark): leftover uploads. */
  strayPartials: Map<string, string[]>;
}

/** Reads the bucket's end state (downloads and dumps the live blocks under `scratch`). */
export async function endState(bucket: FilesystemBucket, fx: HaFixture, scratch: string): Promise<EndState> {
  const st: EndState = { shapes: new Map(), dumps: new Map(), strayPartials: new Map() };
  await mkdir(scratch, { recursive: true });
  const work = await mkdtemp(join(scratch, 'dump-'));
  try {
    for (const t of fx.tenants) {
      const ts = await readTenant(bucket, t.tenant);
      const live = liveBlocks(ts);
      st.shapes.set(t.tenant, shapeOf(live));
      st.strayPartials.set(
        t.tenant,
        partialBlocks(ts)
          .filter((b) => !b.objects.includes('deletion-mark.json'))
          .map((b) => b.ulid),
      );
      const dirs = await downloadBlocks(
        bucket,
        t.tenant,
        live.map((b) => b.ulid),
        join(work, t.tenant),
      );
      st.dumps.set(t.tenant, await dumpBlocksSeparately(dirs));
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return st;
}

export interface Reference {
  fx: HaFixture;
  end: EndState;
  /** Plans `strata compact` executed ('compaction done' lines). */
  plans: number;
}

/**
 * The HA fixture and what one `strata compact` (no HA) leaves in an identical copy of the bucket:
 * the end state every HA run must reach.
 */
export async function reference(root: string): Promise<Reference> {
  const [fx] = await Promise.all([haFixture(FIXTURE), ensureBuilt()]);
  const b = await fixtureBucket(root, 'reference-bucket', fx);
  try {
    const run = await runStrataOk(
      compactArgs({
        objstore: b.objstore,
        dataDir: join(root, 'reference-data'),
        extra: [...DEDUP_FLAGS, '--compact.concurrency', '2'],
      }),
    );
    const plans = logRecords(run.output).filter((r) => r.msg === 'compaction done').length;
    const end = await endState(b.bucket, fx, join(root, 'reference-scratch'));
    return { fx, end, plans };
  } finally {
    await b.bucket.close();
    await rm(join(root, 'reference-data'), { recursive: true, force: true });
  }
}

/** Waits until the bucket's live blocks have the reference's shapes in `tenants` (default all). */
export async function waitConverged(
  b: TestBucket,
  ref: Reference,
  what: string,
  diagnostics: () => string,
  tenants: readonly string[] = [...ref.end.shapes.keys()],
  timeoutMs = LONG_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const off: string[] = [];
    for (const t of tenants) {
      const now = await liveShape(b.bucket, t);
      if (JSON.stringify(now) !== JSON.stringify(ref.end.shapes.get(t)))
        off.push(`${t}: ${JSON.stringify(now)}`);
    }
    if (off.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${what}: the bucket did not reach the reference end state in ${timeoutMs} ms\n` +
          `now:\n${off.join('\n')}\nexpected:\n${JSON.stringify([...ref.end.shapes])}\n${diagnostics()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

// ---------------------------------------------------------------------------------------------
// Processes

/** `n` distinct free loopback ports. */
export async function ports(n: number): Promise<number[]> {
  const set = new Set<number>();
  while (set.size < n) set.add(await freePort());
  return [...set];
}

let prefixes = 0;

/** An etcd key prefix no other test (file, run) uses. */
export function uniquePrefix(name: string): string {
  return `/strata-test/${process.pid}-${Date.now().toString(36)}/${name}-${++prefixes}/`;
}

export interface Replica {
  readonly name: string;
  readonly proc: TrackedProcess;
  readonly httpPort: number;
  readonly grpcPort: number;
}

export interface PlannerOptions {
  name: string;
  objstore: string;
  dataDir: string;
  grpcPort: number;
  httpPort: number;
  endpoints: readonly string[];
  prefix: string;
  extra?: readonly string[];
}

/** A `strata planner` replica in the election `prefix`, TTL 3 s, grace 2 s. */
/** The etcd election flags every HA replica gets (lease TTL_MS). */
function electionFlags(endpoints: readonly string[], prefix: string): string[] {
  return [
    '--etcd.endpoints',
    endpoints.join(','),
    '--etcd.prefix',
    prefix,
    '--etcd.lease-ttl',
    `${TTL_MS / 1000}s`,
  ];
}

export function startPlanner(o: PlannerOptions): Replica {
  const proc = startStrata(
    plannerArgs({
      objstore: o.objstore,
      dataDir: o.dataDir,
      grpcPort: o.grpcPort,
      httpPort: o.httpPort,
      extra: [
        ...DEDUP_FLAGS,
        ...electionFlags(o.endpoints, o.prefix),
        '--planner.grace-period',
        '2s',
        ...(o.extra ?? []),
      ],
    }),
  );
  return { name: o.name, proc, httpPort: o.httpPort, grpcPort: o.grpcPort };
}

export interface WorkerOptions {
  id: string;
  objstore: string;
  dataDir: string;
  plannerPorts: readonly number[];
}

/**
 * A `strata worker` given every planner address, slowed down by PHASE_DELAY_MS per step, logging
 * at debug level (its 'plan completed' and the uploads' 'uploaded block' lines, with the plan).
 */
export function startWorker(o: WorkerOptions): TrackedProcess {
  return startStrata(
    workerArgs({
      objstore: o.objstore,
      dataDir: o.dataDir,
      plannerPorts: o.plannerPorts,
      id: o.id,
      extra: ['--log.level', 'debug'],
    }),
    { env: { STRATA_DEBUG_PHASE_DELAY_MS: String(PHASE_DELAY_MS) } },
  );
}

/** A `strata compact --wait` replica of the HA singleton in the election `prefix`. */
export function startCompactReplica(o: {
  name: string;
  objstore: string;
  dataDir: string;
  httpPort: number;
  endpoints: readonly string[];
  prefix: string;
  env?: Record<string, string>;
}): Replica {
  const proc = startStrata(
    compactArgs({
      objstore: o.objstore,
      dataDir: o.dataDir,
      extra: [
        ...DEDUP_FLAGS,
        '--compact.concurrency',
        '2',
        '--http-address',
        `127.0.0.1:${o.httpPort}`,
        ...electionFlags(o.endpoints, o.prefix),
        '--wait',
        '--wait-interval',
        '1s',
      ],
    }),
    o.env ? { env: o.env } : {},
  );
  return { name: o.name, proc, httpPort: o.httpPort, grpcPort: 0 };
}

/** The last lines of every process's output, for assertion messages. */
export function outputs(procs: readonly { name: string; proc: TrackedProcess }[], lines = 25): string {
  return procs.map((p) => `--- ${p.name} (pid ${p.proc.pid}):\n${tail(p.proc.output(), lines)}`).join('\n');
}

// ---------------------------------------------------------------------------------------------
// Status

export interface Status {
  leader: boolean;
  epoch?: number | null;
  pending?: number;
  running?: number;
  [k: string]: unknown;
}

/** GET /api/v1/status; undefined when the replica does not answer within `timeoutMs`. */
export async function status(r: Replica, timeoutMs = 1000): Promise<Status | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${r.httpPort}/api/v1/status`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.status !== 200) return undefined;
    return (await res.json()) as Status;
  } catch {
    return undefined;
  }
}

/**
 * Waits until exactly one of `replicas` reports leader true (the others answering leader false or
 * not at all), and returns it.
 */
export async function waitForSingleLeader(
  replicas: readonly Replica[],
  timeoutMs = LONG_MS,
): Promise<{ leader: Replica; status: Status }> {
  return waitFor(
    'exactly one replica reporting leader true',
    async () => {
      const st = await Promise.all(replicas.map((r) => status(r)));
      const leaders = replicas.filter((_, i) => st[i]?.leader === true);
      if (leaders.length > 1) throw new Error(`two leaders: ${leaders.map((l) => l.name).join(', ')}`);
      if (leaders.length === 0) return undefined;
      const i = replicas.indexOf(leaders[0]!);
      return { leader: leaders[0]!, status: st[i]! };
    },
    timeoutMs,
    50,
  );
}

export interface LeaderSample {
  /** When the requests went out. */
  at: number;
  /** Replicas that answered (within 2 s). */
  answered: string[];
  /** Replicas that answered leader true. */
  leaders: string[];
}

export interface LeaderSamples {
  readonly samples: LeaderSample[];
  stop(): Promise<void>;
}

/** Asks every replica for its status every 100 ms until stop(). */
export function sampleLeaders(replicas: readonly Replica[]): LeaderSamples {
  const samples: LeaderSample[] = [];
  let sampling = true;
  const loop = (async () => {
    while (sampling) {
      const at = Date.now();
      const st = await Promise.all(replicas.map((p) => status(p, 2000)));
      samples.push({
        at,
        answered: replicas.filter((_, i) => st[i] !== undefined).map((p) => p.name),
        leaders: replicas.filter((_, i) => st[i]?.leader === true).map((p) => p.name),
      });
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    samples,
    async stop(): Promise<void> {
      sampling = false;
      await loop;
    },
  };
}

/**
 * Samples taken in [from, to) that both replicas answered, in which `leader` was not the one and
 * only replica saying leader true. Meant for a stretch without hand-over: point samples cannot
 * tell two leaders at once from a hand-over between two answers (a resigning or stepping-down
 * leader revokes its lease, and the next one is elected milliseconds later).
 */
export function notSoleLeader(
  samples: readonly LeaderSample[],
  leader: string,
  from: number,
  to: number,
): LeaderSample[] {
  return samples.filter(
    (s) =>
      s.at >= from &&
      s.at < to &&
      s.answered.length > 1 &&
      (s.leaders.length !== 1 || s.leaders[0] !== leader),
  );
}

/** Polls `r` until it reports leader true; returns the time (Date.now()) it first did. */
export async function waitUntilLeader(
  r: Replica,
  timeoutMs = LONG_MS,
): Promise<{ at: number; status: Status }> {
  return waitFor(
    `${r.name} reporting leader true`,
    async () => {
      const st = await status(r, 500);
      return st?.leader === true ? { at: Date.now(), status: st } : undefined;
    },
    timeoutMs,
    25,
  );
}

/** Resolves once `count(records of p)` reaches `n`. */
export async function waitForLines(
  what: string,
  procs: readonly TrackedProcess[],
  pred: (r: Record<string, string>) => boolean,
  n: number,
  timeoutMs = LONG_MS,
): Promise<number> {
  return waitFor(
    what,
    () => {
      const c = procs.reduce((sum, p) => sum + logRecords(p.output()).filter(pred).length, 0);
      return Promise.resolve(c >= n ? c : undefined);
    },
    timeoutMs,
    50,
  );
}

// ---------------------------------------------------------------------------------------------
// Plan runs from the workers' logs

export type Outcome = 'completed' | 'failed' | 'abandoned' | 'cancelled';

/** One execution of a plan by a worker, from its 'plan started' line to its end. */
export interface PlanRun {
  worker: string;
  plan: string;
  tenant: string;
  epoch: number;
  sources: string[];
  /** 'plan started' time (ms). */
  start: number;
  /** How it ended, and when (see planRuns); undefined: no end line (still running?). */
  outcome: Outcome | undefined;
  end: number | undefined;
  /** It changed the bucket: uploaded its output ('uploaded block') or marked its sources. */
  wrote: boolean;
}

function ts(r: Record<string, string>): number {
  return Date.parse(r.ts ?? '');
}

/**
 * The plan runs in each worker's output. The worker logs 'plan started' (plan, tenant, epoch,
 * sources) for every plan it receives; its executor logs 'uploaded block' (debug, with the plan)
 * once the output is uploaded, and 'compaction done' once the sources are marked for deletion;
 * the worker logs 'plan failed' or 'plan abandoned' when it reports a failure, 'plan completed'
 * (debug) when it reports a completion, and 'plan cancelled by the planner' on CANCEL.
 *
 * A run ends at its 'compaction done', 'plan failed' or 'plan abandoned' line (the latter two are
 * logged when the failure is reported, after a reconnect if need be: later than the executor
 * stopped, which only makes the checks below stricter). A cancelled run is
 * aborted at its next step boundary, with no line of its own: an upload in progress is not
 * interrupted (its 'uploaded block' line follows, then the run stops before marking), a mark
 * step in progress finishes ('compaction done' follows). So a cancelled run ends at its last
 * write line if it has one, otherwise at the cancel line, and it wrote iff it has a write line.
 * Lines about a plan id go to the oldest run of that id on that worker not ended yet.
 */
export function planRuns(workers: readonly { id: string; output: string }[]): PlanRun[] {
  const runs: PlanRun[] = [];
  for (const w of workers) {
    const open = new Map<string, PlanRun[]>();
    const oldest = (plan: string | undefined): PlanRun | undefined =>
      plan === undefined ? undefined : open.get(plan)?.[0];
    const close = (run: PlanRun, outcome: Outcome, at: number): void => {
      run.outcome = outcome;
      run.end = at;
      const list = open.get(run.plan)!;
      list.splice(list.indexOf(run), 1);
    };
    for (const r of logRecords(w.output)) {
      const at = ts(r);
      switch (r.msg) {
        case 'plan started': {
          const run: PlanRun = {
            worker: w.id,
            plan: r.plan!,
            tenant: r.tenant!,
            epoch: Number(r.epoch),
            sources: (r.sources ?? '').split(',').filter((s) => s !== ''),
            start: at,
            outcome: undefined,
            end: undefined,
            wrote: false,
          };
          runs.push(run);
          const list = open.get(run.plan) ?? [];
          list.push(run);
          open.set(run.plan, list);
          break;
        }
        case 'uploaded block': {
          const run = oldest(r.plan);
          if (run) {
            run.wrote = true;
            if (run.outcome === 'cancelled') run.end = at;
          }
          break;
        }
        case 'compaction done': {
          const run = oldest(r.plan);
          if (run) {
            run.wrote = true;
            // A cancelled run that was marking finishes its marks: it ends here, still cancelled.
            if (run.outcome === 'cancelled') {
              run.end = at;
              open.get(run.plan)!.shift();
            } else close(run, 'completed', at);
          }
          break;
        }
        case 'plan failed':
        case 'plan abandoned': {
          const run = oldest(r.plan);
          if (run && run.outcome === undefined)
            close(run, r.msg === 'plan failed' ? 'failed' : 'abandoned', at);
          break;
        }
        case 'plan cancelled by the planner': {
          // The run of that id the worker still holds (one at most: it never runs an id twice at once).
          const run = open.get(r.plan ?? '')?.find((x) => x.outcome === undefined);
          if (run) {
            run.outcome = 'cancelled';
            run.end = at;
          }
          break;
        }
      }
    }
  }
  return runs.sort((a, b) => a.start - b.start);
}

function describeRun(r: PlanRun): string {
  const end = r.end === undefined ? 'no end' : `${r.outcome} ${new Date(r.end).toISOString()}`;
  return (
    `${r.worker} ${r.plan} epoch ${r.epoch} [${new Date(r.start).toISOString()} → ${end}]` +
    `${r.wrote ? ' wrote' : ' wrote nothing'}`
  );
}

/**
 * Conflicts between runs under different epochs. Two runs that share a source block (same tenant)
 * and were handed out under epochs E1 ≠ E2 conflict unless
 *   - the earlier-started one had ended when the later one started (its end line is at or before
 *     the other's 'plan started'), or
 *   - one of them was cancelled without ever writing to the bucket (no upload, no mark): it only
 *     read the sources and wrote local files, whatever it overlapped with.
 * A run without an end line never ended. Runs of the same epoch are the planner queue's business
 * (it never hands out two running plans that share a source) and are not checked here.
 */
export function crossEpochConflicts(runs: readonly PlanRun[]): string[] {
  const bySource = new Map<string, PlanRun[]>();
  for (const r of runs) {
    for (const s of r.sources) {
      const k = `${r.tenant}/${s}`;
      const list = bySource.get(k) ?? [];
      list.push(r);
      bySource.set(k, list);
    }
  }
  const out: string[] = [];
  const seen = new Set<string>();
  for (const [src, list] of bySource) {
    const sorted = [...list].sort((a, b) => a.start - b.start);
    for (let i = 0; i < sorted.length; i++) {
      for (let j = i + 1; j < sorted.length; j++) {
        const a = sorted[i]!;
        const b = sorted[j]!;
        if (a.epoch === b.epoch) continue;
        if (a.end !== undefined && a.end <= b.start) continue;
        const harmless = (r: PlanRun): boolean => r.outcome === 'cancelled' && !r.wrote;
        if (harmless(a) || harmless(b)) continue;
        const key = `${describeRun(a)} | ${describeRun(b)}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(`source ${src}: ${key}`);
      }
    }
  }
  return out;
}

/**
 * Source blocks that more than one run wrote an output for (compacted twice: two outputs with the
 * same data). Whatever the epochs, a block whose compaction was uploaded must not be compacted again.
 */
export function compactedTwice(runs: readonly PlanRun[]): string[] {
  const writers = new Map<string, PlanRun[]>();
  for (const r of runs) {
    if (!r.wrote) continue;
    for (const s of r.sources) {
      const k = `${r.tenant}/${s}`;
      writers.set(k, [...(writers.get(k) ?? []), r]);
    }
  }
  return [...writers]
    .filter(([, l]) => l.length > 1)
    .map(([k, l]) => `${k}: ${l.map(describeRun).join(' | ')}`);
}

/** Every test's scratch root. */
export async function tempRoot(name: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `strata-ha-${name}-`));
}

/** Named laps since its creation, printed with a test's measurements. */
export function timeline(): { lap(what: string): void; text(): string } {
  const t0 = Date.now();
  const laps: string[] = [];
  return {
    lap: (what) => laps.push(`${what} +${Date.now() - t0}ms`),
    text: () => laps.join(', '),
  };
}
