/**
 * Planning benchmark: 10,000 tenants × 20 blocks, one full planning pass (group, duplicates,
 * plan) and one full progress simulation. Run: `npx vite-node bench/plan.ts` (or the built
 * `node dist/bench/plan.js`). Target: a planning pass well under 2 s.
 */
import { performance } from 'node:perf_hooks';
import { mkBlock, ulidOf } from '../test/support/plan-fixtures.js';
import { compactionProgress, planAll } from '../src/plan/index.js';
import type { PlanBlock, PlanOptions } from '../src/plan/index.js';

const H = 3_600_000;
const TENANTS = 10_000;
const DAY0 = 1_699_488_000_000; // 2023-11-09T00:00Z, a multiple of 14d (so of 2d and 8h)

/**
 * 20 blocks per tenant, three shapes: HA pairs (8 overlapping 2h pairs + 4 older 8h blocks),
 * a single source with 20 consecutive 2h blocks, and 10 days of 2d blocks plus a day of 8h ones.
 */
function tenantBlocks(t: number, nextId: () => number): PlanBlock[] {
  const tenant = `tenant-${String(t).padStart(5, '0')}`;
  const labels = { cluster: `c${t % 7}`, env: t % 2 ? 'prod' : 'dev' };
  const block = (min: number, len: number, level: number, replica?: string): PlanBlock => {
    const id = nextId();
    return mkBlock({
      id: ulidOf(min, id),
      min,
      max: min + len,
      level,
      tenant,
      labels: replica ? { ...labels, replica } : labels,
      indexSize: 1 << 20,
    });
  };
  const out: PlanBlock[] = [];
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

function main(): void {
  let seq = 0;
  const next = (): number => ++seq;
  const blocks: PlanBlock[] = [];
  for (let t = 0; t < TENANTS; t++) blocks.push(...tenantBlocks(t, next));
  const opts: PlanOptions = { replicaLabels: ['replica'] };

  // Warm up the JIT on a slice, then measure full passes. CPU time is printed too: wall time
  // on a shared machine says more about the neighbours than about the planner.
  planAll(blocks.slice(0, 20_000), opts);
  const wall: number[] = [];
  const cpu: number[] = [];
  let res = planAll(blocks, opts);
  for (let i = 0; i < 5; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    res = planAll(blocks, opts);
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const med = (xs: number[]): string => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(0);
  const vertical = res.plans.filter((p) => p.kind === 'vertical').length;
  console.log(
    `planAll: ${TENANTS} tenants, ${blocks.length} blocks, ${res.groups} groups -> ${res.plans.length} plans ` +
      `(${vertical} vertical); median of 5: ${med(wall)} ms wall, ${med(cpu)} ms CPU ` +
      `(best ${Math.min(...wall).toFixed(0)} ms wall)`,
  );

  const c1 = process.cpuUsage();
  const t1 = performance.now();
  const progress = compactionProgress(blocks, opts);
  const ms = performance.now() - t1;
  const c = process.cpuUsage(c1);
  const todo = progress.reduce((n, p) => n + p.todoCompactions, 0);
  const todoBlocks = progress.reduce((n, p) => n + p.todoCompactionBlocks, 0);
  console.log(
    `compactionProgress: ${todo} compactions over ${todoBlocks} blocks left, ` +
      `max ${Math.max(...progress.map((p) => p.rounds))} waves; ${ms.toFixed(0)} ms wall, ` +
      `${((c.user + c.system) / 1000).toFixed(0)} ms CPU`,
  );

  // One long-lived single-tenant bucket: 5 years of 2h blocks from two HA replicas, half of it
  // already compacted to 2d blocks. Checks that one huge group stays linear-ish.
  const big: PlanBlock[] = [];
  const start = DAY0 - 5 * 365 * 24 * H;
  for (let t = start; t < DAY0; t += 2 * H) {
    if (t < start + 2.5 * 365 * 24 * H && t % (48 * H) === 0) {
      big.push(
        mkBlock({ id: ulidOf(t, next()), min: t, max: t + 48 * H, level: 3, labels: { replica: 'a' } }),
      );
    }
    if (t < start + 2.5 * 365 * 24 * H) continue;
    for (const replica of ['a', 'b']) {
      big.push(mkBlock({ id: ulidOf(t, next()), min: t, max: t + 2 * H, labels: { replica } }));
    }
  }
  const c2 = process.cpuUsage();
  const t2 = performance.now();
  const bigRes = planAll(big, opts);
  const c2d = process.cpuUsage(c2);
  console.log(
    `planAll, one group: ${big.length} blocks -> ${bigRes.plans.length} plans; ` +
      `${(performance.now() - t2).toFixed(0)} ms wall, ${((c2d.user + c2d.system) / 1000).toFixed(0)} ms CPU`,
  );
  const c3 = process.cpuUsage();
  const t3 = performance.now();
  const bigProgress = compactionProgress(big, opts);
  const c3d = process.cpuUsage(c3);
  console.log(
    `compactionProgress, one group: ${bigProgress[0]!.todoCompactions} compactions, ` +
      `${bigProgress[0]!.rounds} waves; ${(performance.now() - t3).toFixed(0)} ms wall, ` +
      `${((c3d.user + c3d.system) / 1000).toFixed(0)} ms CPU`,
  );
}

main();
