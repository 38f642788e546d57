/**
 * Executing plans on paper: each plan's sources are replaced by one output block with the union
 * time range, level + 1 and the union of sources (what compactBlocks produces). Used to count the
 * remaining work (Thanos' todo_compactions / todo_compaction_blocks) and in tests to check that
 * planning converges.
 */
import { compareStrings } from '../tsdb/labels.js';
import { findDuplicates } from '../tsdb/duplicates.js';
import { compareBlocks, groupBlocks } from './group.js';
import { stringsHash } from '../tsdb/labels-hash.js';
import { resolvePlanOptions } from './options.js';
import { blockIndexSize, planGroup, planGroupFirst } from './planner.js';
import type { Group, Plan, PlanBlock, PlanOptions, ResolvedPlanOptions } from './types.js';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** ms time of a ULID, or 0 if `id` is not one (cheap: only the 10 time characters). */
function ulidTimeOrZero(id: string): number {
  if (id.length !== 26) return 0;
  let t = 0;
  for (let i = 0; i < 10; i++) {
    const v = CROCKFORD.indexOf(id[i]!);
    if (v < 0) return 0;
    t = t * 32 + v;
  }
  return t <= 2 ** 48 - 1 ? t : 0;
}

/** A valid ULID with the given ms time whose 80 random bits are 16 zero bits + 64 hex-given bits. */
function syntheticUlid(timeMs: number, hex16: string): string {
  let out = '';
  let t = Math.max(0, Math.min(timeMs, 2 ** 48 - 1));
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[t % 32]! + out;
    t = Math.floor(t / 32);
  }
  // 20 hex digits = 80 bits = 16 base32 digits, 5 hex → 4 base32 at a time.
  const hex = `0000${hex16}`;
  for (let i = 0; i < 20; i += 5) {
    const v = parseInt(hex.slice(i, i + 5), 16);
    out +=
      CROCKFORD[(v >>> 15) & 31]! +
      CROCKFORD[(v >>> 10) & 31]! +
      CROCKFORD[(v >>> 5) & 31]! +
      CROCKFORD[v & 31]!;
  }
  return out;
}

/** The block a plan would produce. Its ULID is newer than every source, as a real output's is. */
export function simulateOutput(plan: Plan): PlanBlock {
  const sources = new Set<string>();
  let newest = 0;
  let numSamples = 0;
  let numSeries = 0;
  let numChunks = 0;
  let indexSize = 0;
  for (const b of plan.sources) {
    for (const s of b.compaction.sources.length > 0 ? b.compaction.sources : [b.ulid]) sources.add(s);
    newest = Math.max(newest, ulidTimeOrZero(b.ulid));
    numSamples += b.stats.numSamples;
    numSeries = Math.max(numSeries, b.stats.numSeries);
    numChunks += b.stats.numChunks;
    // Thanos' estimate: indexes share nothing.
    indexSize += blockIndexSize(b);
  }
  return {
    ulid: syntheticUlid(newest + 1, stringsHash([plan.id])),
    minTime: plan.minTime,
    maxTime: plan.maxTime,
    stats: { numSamples, numSeries, numChunks, numTombstones: 0 },
    compaction: {
      level: plan.outputLevel,
      sources: [...sources].sort(compareStrings),
      parents: plan.sources.map((b) => ({ ulid: b.ulid, minTime: b.minTime, maxTime: b.maxTime })),
    },
    version: 1,
    thanos: {
      labels: { ...plan.labels },
      downsample: { resolution: plan.resolution },
      source: 'compactor',
    },
    tenant: plan.tenant,
    noCompact: false,
    indexSizeBytes: indexSize,
  };
}

/** Blocks after running `plans` (which must not conflict): sources out, outputs in. */
export function applyPlans(blocks: readonly PlanBlock[], plans: readonly Plan[]): PlanBlock[] {
  const gone = new Set<string>();
  for (const p of plans) for (const s of p.sources) gone.add(`${s.tenant}\u0000${s.ulid}`);
  const out = blocks.filter((b) => !gone.has(`${b.tenant}\u0000${b.ulid}`));
  for (const p of plans) out.push(simulateOutput(p));
  return out;
}

export type SimulationMode = 'all' | 'first';

export interface GroupSimulation {
  /** The group's blocks once no plan remains (duplicates dropped, requested marks applied). */
  readonly blocks: PlanBlock[];
  /** Every plan executed, in order. */
  readonly plans: Plan[];
  /** Planning passes that produced work (with 'all', the length of the critical path). */
  readonly rounds: number;
}

/** Upper bound on passes; a correct planner needs far fewer (each pass merges blocks). */
const MAX_ROUNDS = 100_000;

/**
 * Plans and executes until nothing is left. 'all': every pass runs all concurrent plans
 * (planGroup); 'first': one plan per pass, like Thanos' compaction loop.
 */
export function simulateGroup(
  group: Group,
  opts: ResolvedPlanOptions,
  mode: SimulationMode = 'all',
): GroupSimulation {
  const planner = mode === 'all' ? planGroup : planGroupFirst;
  const dups = findDuplicates(group.blocks);
  let blocks = group.blocks.filter((b) => !dups.has(b.ulid));
  const plans: Plan[] = [];
  let rounds = 0;
  for (;;) {
    const res = planner({ ...group, blocks }, opts);
    if (res.noCompact.length > 0) {
      const marked = new Set(res.noCompact.map((r) => r.ulid));
      blocks = blocks.map((b) => (marked.has(b.ulid) ? { ...b, noCompact: true } : b));
    }
    if (res.plans.length === 0) break;
    if (++rounds > MAX_ROUNDS) throw new Error(`planning of group ${group.key} does not converge`);
    plans.push(...res.plans);
    blocks = applyPlans(blocks, res.plans).sort(compareBlocks);
  }
  return { blocks, plans, rounds };
}

export interface Simulation {
  readonly blocks: PlanBlock[];
  readonly plans: Plan[];
  /** Max over groups. */
  readonly rounds: number;
}

/** simulateGroup over every group of `blocks`. */
export function simulate(
  blocks: readonly PlanBlock[],
  options: PlanOptions = {},
  mode: SimulationMode = 'all',
): Simulation {
  const opts = resolvePlanOptions(options);
  const out: PlanBlock[] = [];
  const plans: Plan[] = [];
  let rounds = 0;
  for (const g of groupBlocks(blocks, opts.replicaLabels)) {
    const sim = simulateGroup(g, opts, mode);
    out.push(...sim.blocks);
    plans.push(...sim.plans);
    rounds = Math.max(rounds, sim.rounds);
  }
  return { blocks: out, plans, rounds };
}

export interface TenantProgress {
  readonly tenant: string;
  /** Thanos thanos_compact_todo_compactions: compactions left until nothing is plannable. */
  readonly todoCompactions: number;
  /** Thanos thanos_compact_todo_compaction_blocks: input blocks of those compactions. */
  readonly todoCompactionBlocks: number;
  /** Waves of concurrent plans left (critical path), a lower bound on passes to finish. */
  readonly rounds: number;
}

/** Remaining compaction work per tenant (tenants with nothing to do included), sorted by tenant. */
export function compactionProgress(
  blocks: readonly PlanBlock[],
  options: PlanOptions = {},
): TenantProgress[] {
  const opts = resolvePlanOptions(options);
  const byTenant = new Map<
    string,
    { todoCompactions: number; todoCompactionBlocks: number; rounds: number }
  >();
  for (const g of groupBlocks(blocks, opts.replicaLabels)) {
    let t = byTenant.get(g.tenant);
    if (t === undefined) {
      t = { todoCompactions: 0, todoCompactionBlocks: 0, rounds: 0 };
      byTenant.set(g.tenant, t);
    }
    if (g.blocks.length < 2) continue;
    const sim = simulateGroup(g, opts, 'all');
    t.todoCompactions += sim.plans.length;
    for (const p of sim.plans) t.todoCompactionBlocks += p.sources.length;
    t.rounds = Math.max(t.rounds, sim.rounds);
  }
  return [...byTenant.entries()]
    .sort((a, b) => compareStrings(a[0], b[0]))
    .map(([tenant, t]) => ({ tenant, ...t }));
}
