/**
 * Query benchmark (issue 12, "Performance"): figures printed next to their anchor of the same run.
 *
 * Run: `npm run bench:query [-- --quick] [-- --cpu-prof DIR] [-- --keep]`
 *
 *   1. the same query_range (sum(rate()) over ~1,000 of 10k series, 24 h, 1 h step) answered by a
 *      local Prometheus 2.42 holding the blocks, and by Prometheus → remote read → strata query →
 *      strata store over the same blocks in a filesystem bucket: medians, ratio (target ≤ 2×),
 *      whether the answers are equal, and where the time goes (remote read and Series alone);
 *   2. Series throughput of strata store alone (all 10k series × 24 h with chunks) next to a
 *      sequential read of the same block files;
 *   3. store start-up time and memory per block with 1,000 hard-linked blocks of 10k series;
 *   4. Series latency through strata query with one of three store replicas delayed 500 ms, for
 *      the replica strategies two-random (first answer), one-random and all.
 * --cpu-prof DIR runs the strata children of figures 1 and 2 under `node --cpu-prof` and prints
 * the top self-time functions and files per process (bench/cpu-profile.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatSummary, profilesIn, summariseProfile } from './cpu-profile.js';
import { HOUR, synthBucket } from './query-blocks.js';
import { queryFigure, seriesFigure } from './query-read.js';
import { latencyFigure, startupFigure } from './query-groups.js';
import { stopAll } from './query-procs.js';
import { fmtMs, type BenchFlags, type Running } from './query-util.js';

function parseFlags(argv: readonly string[]): BenchFlags {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const num = (name: string, dflt: number): number => {
    const v = Number(get(name) ?? dflt);
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${name}: not a positive integer`);
    return v;
  };
  const prof = get('cpu-prof');
  return {
    quick,
    ...(prof !== undefined ? { cpuProf: resolve(prof) } : {}),
    keep: argv.includes('--keep'),
    runs: num('runs', quick ? 1 : 3),
    blocks: num('blocks', quick ? 200 : 1000),
    requests: num('requests', quick ? 30 : 200),
  };
}

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2));
  const tmp = await mkdtemp(join(tmpdir(), 'strata-bench-query-'));
  const running: Running = { children: [], proms: [] };
  const t0 = performance.now();
  console.log(
    `bench:query${f.quick ? ' --quick' : ''}: ${f.runs} runs per figure after a warm-up; work dir ${tmp}` +
      (f.cpuProf !== undefined ? `; CPU profiles in ${f.cpuProf}` : '') +
      `; load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`,
  );
  try {
    // Blocks aligned to 2 h, ending at least 2 h before now (no head block overlaps them).
    const start = Math.floor((Date.now() - 26 * HOUR) / (2 * HOUR)) * 2 * HOUR;
    const ts = performance.now();
    const bucket = join(tmp, 'bucket');
    const blocks = await synthBucket(bucket, 10_000, 24, start);
    const samples = blocks.reduce((a, b) => a + b.meta.stats.numSamples, 0);
    console.log(
      `data: ${blocks.length} blocks × 2 h, 10,000 series, ${(samples / 1e6).toFixed(1)} M samples ` +
        `(strata tsdb synth, seed 42) in ${fmtMs(performance.now() - ts)}\n`,
    );
    await queryFigure(f, tmp, bucket, blocks, running);
    await seriesFigure(f, tmp, bucket, blocks, running);
    await stopAll(running.children);
    await startupFigure(f, tmp, blocks[0]!, running);
    await latencyFigure(f, tmp, bucket, blocks, running);
  } finally {
    await stopAll(running.children);
    for (const p of running.proms.splice(0)) await p.stop();
    if (!f.keep) await rm(tmp, { recursive: true, force: true });
  }
  if (f.cpuProf !== undefined) {
    console.log(`\nwhere the strata time goes (node --cpu-prof, self time; ${f.cpuProf}):`);
    for (const file of await profilesIn(f.cpuProf)) {
      console.log(formatSummary(await summariseProfile(file, 10), file.slice(f.cpuProf.length + 1)));
    }
  }
  console.log(
    `\nbench:query done in ${fmtMs(performance.now() - t0)}; load average ${loadavg()[0]!.toFixed(1)}`,
  );
}

main().catch((err: unknown) => {
  console.log(`bench:query failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
});
