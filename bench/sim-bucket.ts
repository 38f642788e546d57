/**
 * The simulated bucket of the planner benchmarks (bench:planner, bench:ring): block metadata only,
 * in the three shapes of bench/plan.ts, and a PlanSource over it whose compactions replace their
 * sources with the simulated output.
 */
import { mkBlock, ulidOf } from '../test/support/plan-fixtures.js';
import { planAll, simulateOutput } from '../src/plan/index.js';
import type { Plan, PlanBlock, PlanFootprint, PlanOptions } from '../src/plan/index.js';
import type { PlanSource } from '../src/scheduler/passes.js';
import type { PlanSet } from '../src/scheduler/queue.js';

const H = 3_600_000;
export const DAY0 = 1_699_488_000_000; // 2023-11-09T00:00Z, a multiple of 14d

export function tenantName(t: number): string {
  return `tenant-${String(t).padStart(5, '0')}`;
}

/** The three bucket shapes of bench/plan.ts: HA pairs, one source of 2h blocks, older 2d blocks. */
export function tenantBlocks(t: number, nextId: () => number, shape = 'mixed'): PlanBlock[] {
  const tenant = tenantName(t);
  const labels = { cluster: `c${t % 7}`, env: t % 2 ? 'prod' : 'dev' };
  const block = (min: number, len: number, level: number, replica?: string): PlanBlock =>
    mkBlock({
      id: ulidOf(min, nextId()),
      min,
      max: min + len,
      level,
      tenant,
      labels: replica ? { ...labels, replica } : labels,
      indexSize: 1 << 20,
    });
  const out: PlanBlock[] = [];
  if (shape === 'ha') {
    for (let i = 0; i < 10; i++) {
      out.push(block(DAY0 + i * 2 * H, 2 * H, 1, 'a'));
      out.push(block(DAY0 + i * 2 * H, 2 * H, 1, 'b'));
    }
    return out;
  }
  switch (t % 3) {
    case 0:
      for (let i = 0; i < 4; i++) out.push(block(DAY0 + i * 8 * H, 8 * H, 2, 'a'));
      for (let i = 0; i < 8; i++) {
        out.push(block(DAY0 + 32 * H + i * 2 * H, 2 * H, 1, 'a'));
        out.push(block(DAY0 + 32 * H + i * 2 * H, 2 * H, 1, 'b'));
      }
      break;
    case 1:
      for (let i = 0; i < 20; i++) out.push(block(DAY0 + i * 2 * H, 2 * H, 1));
      break;
    default:
      for (let i = 0; i < 17; i++) out.push(block(DAY0 - (17 - i) * 48 * H, 48 * H, 3));
      for (let i = 0; i < 3; i++) out.push(block(DAY0 + i * 8 * H, 8 * H, 2));
  }
  return out;
}

/**
 * The bucket in memory. Planning is per tenant and incremental: only tenants whose blocks changed
 * since the last pass are planned again (what a bucket sync that knows the changed tenants
 * allows); the other tenants' plan arrays are handed back as they were, which the queue skips.
 */
export class BenchSource implements PlanSource {
  readonly blocks = new Map<string, PlanBlock[]>();
  private readonly cache = new Map<string, readonly Plan[]>();
  /** Every plan handed out, by id: a completion names only the plan's footprint. */
  private readonly planned = new Map<string, Plan>();
  readonly dirty = new Set<string>();
  passes = 0;
  passCpuMs = 0;
  /** CPU of recording completions (the simulated bucket's own work: outputs for sources). */
  completeCpuMs = 0;
  completed = 0;

  constructor(
    all: readonly PlanBlock[],
    private readonly opts: PlanOptions,
  ) {
    for (const b of all) {
      let list = this.blocks.get(b.tenant);
      if (list === undefined) this.blocks.set(b.tenant, (list = []));
      list.push(b);
      this.dirty.add(b.tenant);
    }
  }

  async nextPlans(): Promise<PlanSet> {
    const c0 = process.cpuUsage();
    for (const t of this.dirty) {
      const plans = planAll(this.blocks.get(t) ?? [], this.opts).plans;
      for (const p of plans) this.planned.set(p.id, p);
      this.cache.set(t, plans);
    }
    this.dirty.clear();
    // Tenants not planned again keep their array: the queue skips them.
    const out = new Map(this.cache);
    const c = process.cpuUsage(c0);
    this.passes++;
    this.passCpuMs += (c.user + c.system) / 1000;
    return out;
  }

  async onComplete(done: PlanFootprint): Promise<void> {
    // Synchronous, so its wall time is its CPU (getrusage twice per completion would cost more).
    const t0 = performance.now();
    const plan = this.planned.get(done.id);
    if (plan === undefined) throw new Error(`completion of unknown plan ${done.id}`);
    this.planned.delete(done.id);
    const ids = new Set(plan.sources.map((b) => b.ulid));
    const kept = (this.blocks.get(plan.tenant) ?? []).filter((b) => !ids.has(b.ulid));
    kept.push(simulateOutput(plan));
    this.blocks.set(plan.tenant, kept);
    this.dirty.add(plan.tenant);
    this.completed++;
    this.completeCpuMs += performance.now() - t0;
  }

  async onParked(
    plan: PlanFootprint,
    failingBlock: string | undefined,
    _r: unknown,
    reason: string,
  ): Promise<void> {
    console.error(`parked ${plan.id} (${failingBlock ?? '-'}): ${reason}`);
  }

  async sourcesExist(plan: PlanFootprint): Promise<boolean> {
    const have = new Set((this.blocks.get(plan.tenant) ?? []).map((b) => b.ulid));
    return plan.sources.every((b) => have.has(b.ulid));
  }
}
