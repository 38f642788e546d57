/**
 * Whole-bucket compaction benchmark: `strata compact` over a filesystem bucket of 10 tenants ×
 * 2 HA replicas × 2 days of 2h blocks (1,000 series each), made by
 * `strata tsdb synth --tenants 10 --replicas 2 --hours 48 --series 1000` in the Cortex layout.
 * Each concurrency runs on a fresh copy of the bucket, as a child process (the real binary, fsync
 * and all), with --debug.print-summary for the time per phase.
 *
 * Reports per run: wall time, input samples per second (per wall second and per CPU second of
 * the child: the machine may be shared, so the 1-minute load average is printed too), peak RSS
 * (VmHWM of the child from /proc, polled, and the child's own getrusage maximum), and each
 * phase's share of the summed phase time (sync, plan, download, compact, upload, mark, cleanup; with concurrency > 1 plan
 * phases overlap, so the sum exceeds the wall time).
 *
 * Run: `npm run build && node dist/bench/bucket.js`. Environment: BENCH_TENANTS (10),
 * BENCH_HOURS (48), BENCH_SERIES (1000), BENCH_CONCURRENCY ("1,2"), BENCH_DEDUP ("penalty", or ""
 * for exact), BENCH_RUNS (1: with more, the concurrencies alternate and medians are printed, with
 * the wall speed-up of concurrency 2 over 1), BENCH_PLANS_AHEAD ("1": --compact.plans-ahead values,
 * e.g. "0,1"), BENCH_SOURCE (reuse a synth bucket dir instead of making one), BENCH_KEEP=1 (keep
 * the temp dir).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BIN, REPO } from './repo.js';

/** A 2-day boundary: the synthetic data starts here, so level ranges are aligned. */
const START_MS = 1_700_006_400_000;

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  return v === undefined || v === '' ? dflt : Number(v);
}

interface ChildRun {
  code: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  /** Max VmHWM seen while polling /proc/<pid>/status (bytes). */
  vmHwmBytes: number;
}

async function readVmHwm(pid: number): Promise<number> {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Runs `node bin/strata.js ARGS`, timing it and polling its peak RSS. */
async function runStrata(args: readonly string[]): Promise<ChildRun> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
    if (stderr.length > 2_000_000) stderr = stderr.slice(-1_000_000);
  });
  let hwm = 0;
  const poll = setInterval(() => {
    if (child.pid !== undefined) void readVmHwm(child.pid).then((v) => (hwm = Math.max(hwm, v)));
  }, 100);
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  clearInterval(poll);
  return { code, stdout, stderr, wallMs: performance.now() - t0, vmHwmBytes: hwm };
}

interface BucketStats {
  blocks: number;
  samples: number;
  bytes: number;
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? await dirBytes(p) : (await stat(p)).size;
  }
  return total;
}

/** Blocks with a meta.json and no deletion mark, over every tenant dir of a Cortex-layout bucket. */
async function bucketStats(root: string): Promise<BucketStats> {
  const s: BucketStats = { blocks: 0, samples: 0, bytes: 0 };
  for (const tenant of await readdir(root, { withFileTypes: true })) {
    if (!tenant.isDirectory() || tenant.name.startsWith('.')) continue;
    for (const b of await readdir(join(root, tenant.name), { withFileTypes: true })) {
      const dir = join(root, tenant.name, b.name);
      if (
        !b.isDirectory() ||
        !existsSync(join(dir, 'meta.json')) ||
        existsSync(join(dir, 'deletion-mark.json'))
      )
        continue;
      const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as {
        stats?: { numSamples?: number };
      };
      s.blocks++;
      s.samples += meta.stats?.numSamples ?? 0;
      s.bytes += await dirBytes(dir);
    }
  }
  return s;
}

interface Summary {
  plans_done: number;
  plans_failed: number;
  deleted_marked: number;
  phase_ms: Record<string, number>;
  peak_rss_bytes: number;
  cpu_user_ms: number;
  cpu_system_ms: number;
}

const MIB = 1024 * 1024;

function median(xs: readonly number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 === 1 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
}
const fmt = (n: number, d = 1): string => n.toFixed(d);

async function main(): Promise<void> {
  const tenants = envInt('BENCH_TENANTS', 10);
  const hours = envInt('BENCH_HOURS', 48);
  const series = envInt('BENCH_SERIES', 1000);
  const concurrencies = (process.env.BENCH_CONCURRENCY ?? '1,2').split(',').map(Number);
  // --compact.plans-ahead values; '0,1' compares Thanos' one-plan-per-slot with the default.
  const aheads = (process.env.BENCH_PLANS_AHEAD ?? '1').split(',').map(Number);
  const configs = aheads.flatMap((a) => concurrencies.map((c) => ({ c, a })));
  const name = (c: number, a: number): string =>
    `concurrency ${c}${aheads.length > 1 ? `, plans-ahead ${a}` : ''}`;
  // HA pairs are deduplicated with penalty, as Thanos users configure them; '' for exact.
  const dedup = process.env.BENCH_DEDUP ?? 'penalty';
  // Concurrencies alternate within a run, so a change of load on the machine hits both alike.
  const runs = envInt('BENCH_RUNS', 1);
  const work = await mkdtemp(join(tmpdir(), 'strata-bench-bucket-'));
  try {
    let source = process.env.BENCH_SOURCE ?? '';
    if (source === '') {
      source = join(work, 'source');
      const t0 = performance.now();
      const synth = await runStrata([
        'tsdb',
        'synth',
        '--out',
        source,
        '--tenants',
        String(tenants),
        '--replicas',
        '2',
        '--hours',
        String(hours),
        '--series',
        String(series),
        '--start-time',
        String(START_MS),
      ]);
      if (synth.code !== 0) throw new Error(`synth failed:\n${synth.stderr}`);
      console.log(`synth: ${synth.stdout.trim()} in ${fmt((performance.now() - t0) / 1000)} s`);
    }
    const input = await bucketStats(source);
    console.log(
      `input: ${tenants} tenants × 2 replicas × ${hours} h × ${series} series: ${input.blocks} blocks, ` +
        `${input.samples} samples, ${fmt(input.bytes / MIB)} MiB`,
    );
    const results: Record<string, unknown>[] = [];
    const perC = new Map<string, { wallS: number; cpuS: number }[]>();
    for (let run = 0; run < runs; run++)
      for (const { c, a } of configs) {
        const bucket = join(work, `bucket-c${c}-a${a}`);
        await rm(bucket, { recursive: true, force: true });
        await cp(source, bucket, { recursive: true });
        // A fresh data dir too: a checkpoint of an earlier run would hide the copied blocks.
        await rm(join(work, `data-c${c}-a${a}`), { recursive: true, force: true });
        const run = await runStrata([
          'compact',
          '--objstore.config',
          JSON.stringify({ type: 'FILESYSTEM', config: { directory: bucket } }),
          '--data-dir',
          join(work, `data-c${c}-a${a}`),
          '--tenancy',
          'multi',
          '--consistency-delay',
          '0s',
          '--delete-delay',
          '0s',
          '--deduplication.replica-label',
          'replica',
          '--deduplication.func',
          dedup,
          '--compact.concurrency',
          String(c),
          '--compact.plans-ahead',
          String(a),
          '--http-address',
          '127.0.0.1:0',
          '--log.level',
          'warn',
          '--debug.print-summary',
        ]);
        if (run.code !== 0) throw new Error(`compact (${name(c, a)}) exited ${run.code}:\n${run.stderr}`);
        const line = run.stdout
          .split('\n')
          .reverse()
          .find((l) => l.includes('"phase_ms"'));
        if (line === undefined) throw new Error(`no pass summary in:\n${run.stdout}`);
        const s = JSON.parse(line) as Summary;
        const output = await bucketStats(bucket);
        const total = Object.values(s.phase_ms).reduce((a, b) => a + b, 0);
        const share = Object.fromEntries(
          Object.entries(s.phase_ms).map(([k, v]) => [k, Number(((100 * v) / total).toFixed(1))]),
        );
        const wallS = run.wallMs / 1000;
        const cpuS = (s.cpu_user_ms + s.cpu_system_ms) / 1000;
        const r = {
          concurrency: c,
          plans_ahead: a,
          wall_s: Number(fmt(wallS, 2)),
          plans: s.plans_done,
          failed: s.plans_failed,
          input_samples: input.samples,
          samples_per_s: Math.round(input.samples / wallS),
          cpu_s: Number(fmt(cpuS, 1)),
          samples_per_cpu_s: Math.round(input.samples / cpuS),
          load_avg_1m: Number(fmt(loadavg()[0]!, 2)),
          output_blocks: output.blocks,
          output_samples: output.samples,
          output_mib: Number(fmt(output.bytes / MIB)),
          peak_rss_mib_vmhwm: Number(fmt(run.vmHwmBytes / MIB)),
          peak_rss_mib_rusage: Number(fmt(s.peak_rss_bytes / MIB)),
          phase_ms: s.phase_ms,
          phase_share_pct: share,
        };
        results.push(r);
        perC.set(`${c}:${a}`, [...(perC.get(`${c}:${a}`) ?? []), { wallS, cpuS }]);
        console.log(
          `${name(c, a)}: ${fmt(wallS, 2)} s wall, ${s.plans_done} plans, ` +
            `${fmt(input.samples / wallS / 1e6, 2)} M input samples/s, ${fmt(cpuS)} s CPU ` +
            `(${fmt(input.samples / cpuS / 1e6, 2)} M samples per CPU s, load ${fmt(loadavg()[0]!, 2)}), peak RSS ${fmt(run.vmHwmBytes / MIB)} MiB ` +
            `(rusage ${fmt(s.peak_rss_bytes / MIB)} MiB), output ${output.blocks} blocks / ${output.samples} samples`,
        );
        console.log(
          `  phase share of ${fmt(total / 1000, 1)} s summed: ` +
            Object.entries(share)
              .map(([k, v]) => `${k} ${v}%`)
              .join(', '),
        );
        await rm(bucket, { recursive: true, force: true });
      }
    const med = (c: number, a: number, k: 'wallS' | 'cpuS'): number =>
      median((perC.get(`${c}:${a}`) ?? []).map((x) => x[k]));
    for (const { c, a } of configs) {
      console.log(
        `medians of ${runs}, ${name(c, a)}: ${fmt(med(c, a, 'wallS'), 2)} s wall, ` +
          `${fmt(input.samples / med(c, a, 'wallS') / 1e6, 2)} M input samples per wall s, ` +
          `${fmt(med(c, a, 'cpuS'))} s CPU, ${fmt(input.samples / med(c, a, 'cpuS') / 1e6, 2)} M input samples per CPU s, ` +
          `${fmt(med(c, a, 'cpuS') / med(c, a, 'wallS'), 2)} cores busy on average`,
      );
    }
    for (const a of aheads) {
      if (!perC.has(`1:${a}`) || !perC.has(`2:${a}`)) continue;
      console.log(
        `wall speed-up, ${name(2, a)} vs ${name(1, a)}: ${fmt(med(1, a, 'wallS') / med(2, a, 'wallS'), 2)}× (target ≥ 1.7×); ` +
          `input samples per CPU s at concurrency 1: ${fmt(input.samples / med(1, a, 'cpuS') / 1e6, 2)} M (target ≥ 5M); ` +
          `load ${fmt(loadavg()[0]!, 2)}`,
      );
    }
    if (perC.has('1:0') && perC.has('2:1')) {
      console.log(
        `wall speed-up, concurrency 2 with plans-ahead 1 vs concurrency 1 with plans-ahead 0 (one plan at a time): ` +
          `${fmt(med(1, 0, 'wallS') / med(2, 1, 'wallS'), 2)}×`,
      );
    }
    console.log(JSON.stringify({ tenants, hours, series, dedup, runs, input, results }));
  } finally {
    if (process.env.BENCH_KEEP !== '1') await rm(work, { recursive: true, force: true });
    else console.log(`kept ${work}`);
  }
}

await main();
