/**
 * Planning benchmark: 10,000 tenants × 20 blocks, one full planning pass (group, duplicates,
 * plan) and one full progress simulation. Run: `npx vite-node bench/plan.ts` (or the built
 * `node dist/bench/plan.js`). Target: a planning pass well under 2 s.
 */
import { performance } from 'node:perf_hooks';
import { compactionProgress, planAll } from '../src/plan/index.js';
import type { PlanBlock, PlanOptions } from '../src/plan/index.js';
import { mkBlock, ulidOf } from '../test/support/plan-fixtures.js';
import { DAY0, tenantBlocks } from './sim-bucket.js';

const H = 3_600_000;
const TENANTS = 10_000;

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
