/**
 * Ring sharding benchmark (`npm run bench:ring`).
 *
 * 1. Sharded compactors: 1,000 tenants of the simulated bucket of bench:planner (block metadata,
 *    one state file per tenant on disk) over 1, 2, 4 and 8 instance processes. Each instance runs
 *    Strata's ring code on a real etcd (Lifecycler, RingClient, TenantLocks, TenantSharding, the
 *    stability wait) and compacts the tenants it holds, a few at a time, with the real planner;
 *    a compaction is simulated as a 20-60 ms sleep. Figures: time to converge per instance count
 *    and the speed-up over one instance (target: at least 0.8 × linear up to 4). Then 4 instances
 *    with one SIGKILLed at 30% of the run: the time until another instance works on a tenant the
 *    dead one held (target: heartbeat timeout + one pass).
 * 2. Sharded planners: 1, 2 and 4 planner processes (PlannerService over gRPC, each planning the
 *    tenants a ring of its instances gives it) and 100 workers in another process that hold a
 *    stream to each, on the 10,000-tenant bucket of bench:planner. On this 2-core machine the
 *    figure is CPU per plan: each planner's plans handed out per CPU-second, summed (what the
 *    planners could hand out with a core each; target: 4 planners ≥ 3 × one).
 *
 * Run: `node dist/bench/ring.js [--part compact|planners|all] [--tenants N] [--cpu-prof DIR]`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { applyPlans, planAll } from '../src/plan/index.js';
import type { PlanBlock, PlanOptions } from '../src/plan/index.js';
import { RingClient } from '../src/ring/client.js';
import { ringDescCodec } from '../src/ring/codec.js';
import { EtcdKv } from '../src/ring/etcd-kv.js';
import { Lifecycler } from '../src/ring/lifecycler.js';
import { InstanceState, type Desc, type RingInstance } from '../src/ring/model.js';
import { HashRing } from '../src/ring/ring.js';
import { TenantSharding } from '../src/ring/sharding.js';
import { waitRingStability } from '../src/ring/stability.js';
import { TenantLocks } from '../src/ring/tenant-locks.js';
import { generateTokens } from '../src/ring/tokens.js';
import { startPlannerServer } from '../src/scheduler/server.js';
import { createWorker, type PlannerWorker } from '../src/scheduler/worker.js';
import type { PlanExecutor } from '../src/scheduler/worker-runs.js';
import { createEtcdClient } from '../src/util/etcd-client.js';
import { seededRandom } from '../src/tsdb/ulid.js';
import { startEtcd } from '../test/services/etcd.js';
import { ulidOf } from '../test/support/plan-fixtures.js';
import { BenchSource, tenantBlocks, tenantName } from './sim-bucket.js';

const OPTS: PlanOptions = { replicaLabels: ['replica'] };
const HEARTBEAT_TIMEOUT_MS = 5000;
const BATCH = 4;
const MIN_MS = 20;
const MAX_MS = 60;

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Msg =
  | { kind: 'ready' }
  | { kind: 'held'; tenants: string[] }
  | { kind: 'progress'; tenant: string; at: number }
  | { kind: 'done'; tenant: string }
  | { kind: 'address'; address: string }
  | { kind: 'stats'; handedOut: number; cpuMs: number; idle: boolean; passes: number; passCpuMs: number };

function send(m: Msg): void {
  process.send?.(m);
}

// ---- 1. sharded compactors ----

interface TenantFile {
  blocks: PlanBlock[];
  done: boolean;
}

async function writeTenant(dir: string, tenant: string, f: TenantFile): Promise<void> {
  const path = join(dir, `${tenant}.json`);
  await writeFile(`${path}.tmp`, JSON.stringify(f));
  await rename(`${path}.tmp`, path);
}

/** One compactor instance (a child process): the ring, then tenants in small batches forever. */
async function compactorInstance(
  id: string,
  dir: string,
  endpoints: string[],
  prefix: string,
  n: number,
): Promise<void> {
  const etcd = createEtcdClient({ endpoints, callTimeoutMs: 2000 });
  const kv = new EtcdKv<Desc>({ codec: ringDescCodec, client: etcd });
  const ringKey = `${prefix}compactor`;
  const lifecycler = new Lifecycler({
    kv,
    ringKey,
    instanceId: id,
    instanceAddr: id,
    heartbeatPeriodMs: 500,
    heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
  });
  const ring = new RingClient({
    kv,
    key: ringKey,
    heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
    pollIntervalMs: 500,
  });
  const locks = new TenantLocks({
    client: etcd,
    prefix: `bench-locks/${ringKey}/`,
    holder: id,
    ttlSeconds: 3,
  });
  const sharding = new TenantSharding({ ring, locks, instanceId: id });
  await lifecycler.start();
  await ring.start();
  await waitRingStability(() => ring.topologyKey(), { minDurationMs: 1000, maxDurationMs: 20_000 });
  send({ kind: 'ready' });
  const tenants = Array.from({ length: n }, (_, t) => tenantName(t));
  const done = new Set<string>();
  let lastHeld = '';
  for (;;) {
    let held: string[];
    try {
      held = await sharding.select(tenants);
    } catch (err) {
      console.error(`${id}: selecting tenants failed, retrying: ${String(err)}`);
      await sleep(500);
      continue;
    }
    const key = held.join(',');
    if (key !== lastHeld) send({ kind: 'held', tenants: held });
    lastHeld = key;
    const todo = held.filter((t) => !done.has(t)).slice(0, BATCH);
    if (todo.length === 0) {
      await sleep(200);
      continue;
    }
    await Promise.all(
      todo.map(async (t) => {
        const f = JSON.parse(await readFile(join(dir, `${t}.json`), 'utf8')) as TenantFile;
        while (!f.done) {
          const plans = planAll(f.blocks, OPTS).plans;
          if (plans.length === 0) {
            f.done = true;
            break;
          }
          const p = plans[0]!;
          await sleep(MIN_MS + Math.random() * (MAX_MS - MIN_MS));
          f.blocks = applyPlans(f.blocks, [p]);
          await writeTenant(dir, t, f);
          send({ kind: 'progress', tenant: t, at: Date.now() });
        }
        await writeTenant(dir, t, f);
        done.add(t);
        send({ kind: 'done', tenant: t });
      }),
    );
  }
}

interface Child {
  id: string;
  proc: ChildProcess;
  ready: Promise<void>;
  held: string[];
}

/** `--cpu-prof DIR`: the children write CPU profiles there (where the planners' time goes). */
const PROFILE_DIR = process.argv.includes('--cpu-prof') ? arg('cpu-prof', '') : '';

function forkChild(args: string[], id: string, onMsg: (c: Child, m: Msg) => void): Child {
  const proc = fork(process.argv[1]!, args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    ...(PROFILE_DIR !== '' ? { execArgv: ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] } : {}),
  });
  let ready!: () => void;
  const c: Child = { id, proc, ready: new Promise<void>((r) => (ready = r)), held: [] };
  proc.on('message', (m: Msg) => {
    if (m.kind === 'ready') ready();
    if (m.kind === 'held') c.held = m.tenants;
    onMsg(c, m);
  });
  return c;
}

async function prepareBucket(dir: string, n: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  let seq = 0;
  for (let t = 0; t < n; t++) {
    await writeTenant(dir, tenantName(t), { blocks: tenantBlocks(t, () => ++seq), done: false });
  }
}

interface CompactRun {
  instances: number;
  convergeMs: number;
  takeoverMs?: number;
}

async function compactRun(
  endpoints: string[],
  root: string,
  n: number,
  instances: number,
  kill: boolean,
): Promise<CompactRun> {
  const dir = join(root, `b${instances}${kill ? 'k' : ''}`);
  await prepareBucket(dir, n);
  const prefix = `/bench-ring/${process.pid}/${Date.now()}/collectors/`;
  const done = new Set<string>();
  let killedAt = 0;
  let orphans = new Set<string>();
  let takeoverAt = 0;
  const children: Child[] = [];
  const onMsg = (c: Child, m: Msg): void => {
    if (m.kind === 'done') done.add(m.tenant);
    if (m.kind === 'progress' && killedAt > 0 && takeoverAt === 0 && c.id !== 'i0' && orphans.has(m.tenant)) {
      takeoverAt = m.at;
    }
  };
  for (let i = 0; i < instances; i++) {
    const id = `i${i}`;
    children.push(forkChild(['--instance', id, dir, endpoints.join(','), prefix, String(n)], id, onMsg));
  }
  await Promise.all(children.map((c) => c.ready));
  const t0 = performance.now();
  while (done.size < n) {
    await sleep(50);
    if (kill && killedAt === 0 && done.size >= 0.3 * n) {
      const victim = children[0]!;
      orphans = new Set(victim.held.filter((t) => !done.has(t)));
      victim.proc.kill('SIGKILL');
      killedAt = Date.now();
    }
  }
  const convergeMs = performance.now() - t0;
  for (const c of children) c.proc.kill('SIGKILL');
  return { instances, convergeMs, ...(kill ? { takeoverMs: takeoverAt - killedAt } : {}) };
}

async function compactPart(n: number): Promise<void> {
  const etcd = await startEtcd();
  const root = await mkdtemp(join(tmpdir(), 'strata-bench-ring-'));
  try {
    const runs: CompactRun[] = [];
    for (const k of [1, 2, 4, 8]) {
      runs.push(await compactRun(etcd.endpoints, root, n, k, false));
      const r = runs[runs.length - 1]!;
      const speedup = runs[0]!.convergeMs / r.convergeMs;
      console.log(
        `compactors: ${k} instance(s), ${n} tenants: converged in ${(r.convergeMs / 1000).toFixed(1)} s; ` +
          `speed-up ${speedup.toFixed(2)}x = ${((100 * speedup) / k).toFixed(0)}% of linear` +
          (k <= 4 ? ` (target >= 80%: ${speedup / k >= 0.8 ? 'met' : 'MISSED'})` : ''),
      );
    }
    const killed = await compactRun(etcd.endpoints, root, n, 4, true);
    // One pass: a batch of tenants, each compacted to the end (about 10 plans of at most MAX_MS).
    const target = HEARTBEAT_TIMEOUT_MS + 10 * MAX_MS + 500;
    console.log(
      `compactors: 4 instances, one SIGKILLed at 30%: its tenants worked on again ${(killed.takeoverMs! / 1000).toFixed(1)} s ` +
        `after the kill (heartbeat timeout ${HEARTBEAT_TIMEOUT_MS / 1000} s + one pass of ${BATCH} tenants; ` +
        `target <= ~${(target / 1000).toFixed(1)} s: ${killed.takeoverMs! <= target ? 'met' : 'MISSED'}); ` +
        `converged in ${(killed.convergeMs / 1000).toFixed(1)} s`,
    );
  } finally {
    await etcd.stop();
    await rm(root, { recursive: true, force: true });
  }
}

// ---- 2. sharded planners ----

/** A ring of `k` planner instances (fixed tokens): who owns which tenant. */
function staticRing(k: number): HashRing {
  const random = seededRandom(42);
  const rand32 = (): number => Math.floor(random() * 2 ** 32) >>> 0;
  const taken = new Set<number>();
  const instances: RingInstance[] = [];
  for (let i = 0; i < k; i++) {
    const tokens = generateTokens(512, taken, rand32);
    for (const t of tokens) taken.add(t);
    instances.push({
      id: `p${i}`,
      addr: '',
      heartbeatSec: 0,
      state: InstanceState.ACTIVE,
      tokens,
      zone: '',
      registeredSec: 0,
    });
  }
  return new HashRing(instances, { nowMs: 0, heartbeatTimeoutMs: 0 });
}

/** One sharded planner (a child process): plans the tenants the static ring gives it. */
async function plannerInstance(id: string, k: number, n: number): Promise<void> {
  const ring = staticRing(k);
  let seq = 0;
  const blocks: PlanBlock[] = [];
  for (let t = 0; t < n; t++) {
    if (ring.ownerOfTenant(tenantName(t))?.id === id) blocks.push(...tenantBlocks(t, () => ++seq));
  }
  const source = new BenchSource(blocks, OPTS);
  let handedOut = 0;
  const server = await startPlannerServer({
    leadership: { isLeader: () => true, epoch: () => 1, leaderAddress: () => undefined },
    plannerId: id,
    source,
    graceMs: 0,
    replanDelayMs: 500,
    replanIntervalMs: 3_600_000,
    noPlanRetryMs: 50,
    events: { assigned: () => void handedOut++ },
  });
  send({ kind: 'address', address: server.address });
  process.once('SIGTERM', () => process.exit(0));
  const c0 = process.cpuUsage();
  for (;;) {
    await sleep(250);
    const s = server.service.stats();
    const cpu = process.cpuUsage(c0);
    send({
      kind: 'stats',
      handedOut,
      cpuMs: (cpu.user + cpu.system) / 1000,
      idle: s.pending === 0 && s.running === 0,
      passes: source.passes,
      passCpuMs: source.passCpuMs,
    });
  }
}

/** 100 workers (a child process) holding a stream to every planner. */
function plannerWorkers(k: number, addresses: string[]): void {
  const ring = staticRing(k);
  const planners = new Map(addresses.map((a, i) => [`p${i}`, a]));
  let seq = 0;
  const exec: PlanExecutor = {
    async execute(plan) {
      await sleep(10 + Math.random() * 40);
      return { outputs: [ulidOf(plan.maxTime, ++seq)] };
    },
  };
  const workers: PlannerWorker[] = [];
  for (let i = 0; i < 100; i++) {
    const w = createWorker({
      workerId: `w${i}`,
      discovery: {
        planners: () => planners,
        onChange: () => () => undefined,
        ownerOf: (tenant) => ring.ownerOfTenant(tenant)?.id,
      },
      executor: exec,
    });
    w.start();
    workers.push(w);
  }
}

async function plannersRun(k: number, n: number): Promise<void> {
  const stats = new Map<
    string,
    { handedOut: number; cpuMs: number; idle: boolean; passes: number; passCpuMs: number }
  >();
  const addresses: string[] = [];
  const children: Child[] = [];
  for (let i = 0; i < k; i++) {
    const id = `p${i}`;
    children.push(
      forkChild(['--planner', id, String(k), String(n)], id, (_c, m) => {
        if (m.kind === 'address') addresses[i] = m.address;
        if (m.kind === 'stats') stats.set(id, m);
      }),
    );
  }
  while (addresses.filter(Boolean).length < k) await sleep(50);
  const t0 = performance.now();
  const workers = fork(process.argv[1]!, ['--workers', String(k), ...addresses], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // Converged: every planner idle for 2 s in a row.
  let idleSince = 0;
  for (;;) {
    await sleep(250);
    const all = children.every(
      (c) => stats.get(c.id)?.idle === true && (stats.get(c.id)?.handedOut ?? 0) > 0,
    );
    if (!all) idleSince = 0;
    else if (idleSince === 0) idleSince = performance.now();
    else if (performance.now() - idleSince > 2000) break;
  }
  const wallMs = idleSince - t0;
  workers.kill('SIGKILL');
  // SIGTERM lets a profiling child write its profile.
  for (const c of children) c.proc.kill(PROFILE_DIR !== '' ? 'SIGTERM' : 'SIGKILL');
  let plans = 0;
  let capacity = 0;
  for (const [id, s] of stats) {
    plans += s.handedOut;
    capacity += s.handedOut / (s.cpuMs / 1000);
    // Where a planner's CPU goes: planning passes (sync + plan in the simulated source) vs the rest.
    console.log(
      `  ${id}: ${s.handedOut} plans, ${(s.cpuMs / 1000).toFixed(1)} s CPU (${(s.cpuMs / s.handedOut).toFixed(3)} ms/plan), ` +
        `${s.passes} passes taking ${(s.passCpuMs / 1000).toFixed(1)} s CPU`,
    );
  }
  plannerResults.push({ k, plans, wallMs, capacity });
}

const plannerResults: { k: number; plans: number; wallMs: number; capacity: number }[] = [];

async function plannersPart(): Promise<void> {
  const n = Number(arg('planner-tenants', '10000'));
  for (const k of [1, 2, 4]) {
    await plannersRun(k, n);
    const r = plannerResults[plannerResults.length - 1]!;
    const base = plannerResults[0]!.capacity;
    console.log(
      `planners: ${k} planner(s), ${n} tenants, 100 workers: ${r.plans} plans handed out in ${(r.wallMs / 1000).toFixed(1)} s ` +
        `(${(r.plans / (r.wallMs / 1000)).toFixed(0)}/s on this 2-core machine); plans per planner CPU-second, summed: ` +
        `${r.capacity.toFixed(0)}/s = ${(r.capacity / base).toFixed(2)}x one planner` +
        (k === 4 ? ` (target >= 3x: ${r.capacity / base >= 3 ? 'met' : 'MISSED'})` : ''),
    );
  }
}

async function main(): Promise<void> {
  const part = arg('part', 'all');
  if (part === 'compact' || part === 'all') await compactPart(Number(arg('tenants', '1000')));
  if (part === 'planners' || part === 'all') await plannersPart();
}

const role = process.argv[2];
if (role === '--instance') {
  const [id, dir, endpoints, prefix, n] = process.argv.slice(3);
  void compactorInstance(id!, dir!, endpoints!.split(','), prefix!, Number(n));
} else if (role === '--planner') {
  const [id, k, n] = process.argv.slice(3);
  void plannerInstance(id!, Number(k), Number(n));
} else if (role === '--workers') {
  plannerWorkers(Number(process.argv[3]), process.argv.slice(4));
} else {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
