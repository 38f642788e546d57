/**
 * Compaction benchmark: Strata against Prometheus' own compactor on the same input blocks.
 *
 *   npm run build && node dist/bench/compact.js [--quick] [--runs N] [--prom-runs N] [--keep DIR] [--cpu-prof DIR]
 *
 * Cases, each at ~5k series (4,600 series × 480 samples ≈ 2.2M samples per 2h block) and, unless
 * --quick, at ~50k series (46,000):
 *   horizontal  3 adjacent 2h blocks → one 6h block
 *   vertical    3 identical replicas (same data, different ULIDs) of one 2h block → one block
 * and the same two cases of histogram-heavy blocks (`hist`): --hist-series native histogram series
 * (default 2,000: `synth --histograms` latency histograms, schema 3, ~20–26 buckets, counter resets
 * and layout growth, every fifth a gauge histogram; 480 samples per 2h block) beside 200 float
 * series; Prometheus then runs with --enable-feature=native-histograms. --hist-series 0 skips them,
 * --only-hist runs only them.
 * Inputs are written by Strata's synth writer (15 s scrapes, realistic values).
 *
 * Prometheus (the anchor): the inputs are hard-linked into a fresh data dir and `prometheus
 * --storage.tsdb.path=DIR` runs on loopback with a config that scrapes nothing and
 * --storage.tsdb.min-block-duration=2h --storage.tsdb.max-block-duration=6h. Its compaction loop
 * first runs 60 s after start; the logged `compact blocks ... duration=` is its time, VmHWM from
 * /proc/<pid>/status its peak RSS (whole process: startup, open blocks, compaction).
 * - vertical: overlapping blocks are planned first, all three together, newest included.
 * - horizontal: Prometheus never compacts the newest block, and picks 2h blocks for a 6h range only
 *   when they fill it. The three inputs fill a 6h-aligned range and a fourth, small block (10
 *   series) in the next 2h window is added: the plan is exactly the three inputs (checked).
 *
 * Strata: in-process = compactBlocks() timed inside a child node process (this script with
 * --worker), so module loading is excluded; whole process = `node bin/strata.js tsdb compact`
 * wall time from spawn to exit. Peak RSS = the process' maxRSS (the CLI's peak_rss_bytes).
 * Medians of --runs runs (default 3), and of --prom-runs Prometheus runs (default 3: one run swings
 * by up to 2x). Both read warm page cache (the inputs were just written).
 *
 * CPU columns: wall times swing with other load on the machine, CPU time much less. Prometheus'
 * CPU is its process' utime+stime (/proc/<pid>/stat, sampled every 50 ms) across the logged
 * compaction window; Strata's is process.cpuUsage() around compactBlocks(). "no-verify" is
 * in-process with `verify: false` (the output is not re-read before the rename): what the
 * verification costs. "warm" is the steady state of a long-running compactor: six compactions of
 * the same inputs in one process, the median of the last three (`strata compact` keeps its
 * compaction threads between plans, so only its first plans per thread run before V8 has
 * optimized the code; a fresh process, the in-process column, pays that warm-up in full).
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { compactBlocks, type CompactOptions } from '../src/tsdb/compact/compact.js';
import { liveProcesses } from '../test/support/processes.js';
import {
  horizontalInputs,
  runPrometheus,
  verticalInputs,
  type Inputs,
  type PromResult,
} from './compact-inputs.js';

const MiB = 1024 * 1024;

type CaseKind = 'horizontal' | 'vertical';

interface WorkerSpec {
  inputs: string[];
  out: string;
  options: CompactOptions;
  /** Compactions of the same inputs in this one process (default 1); durations of each reported. */
  repeat?: number;
}

interface WorkerResult {
  durationMs: number;
  /** CPU time (user + system) of the worker during compactBlocks (includes GC threads). */
  cpuMs: number;
  peakRssBytes: number;
  inputSamples: number;
  outputSamples: number;
  chunks: number;
  copiedChunks: number;
  reencodedChunks: number;
  droppedDuplicateChunks: number;
  /** Wall time of each compaction when the spec repeats (the first is `durationMs`). */
  repeatsMs: number[];
}

interface Row {
  kind: CaseKind;
  series: number;
  /** Native histogram series per block (0: a float case). */
  histograms: number;
  samples: number;
  prom: PromResult | undefined;
  inProcessMs: number;
  inProcessCpuMs: number;
  /** In-process with `verify: false` (the output is not re-read before the rename). */
  noVerifyMs: number;
  /**
   * Warm: the last WARM_OF of WARM_RUNS compactions of the same inputs in one process, as in
   * `strata compact`, whose compaction threads are kept between plans (median over runs).
   */
  warmMs: number;
  inProcessRss: number;
  cliMs: number;
  cliRss: number;
  worker: WorkerResult;
}

interface Args {
  quick: boolean;
  runs: number;
  keep: string | undefined;
  cpuProf: string | undefined;
  sizes: number[];
  prometheus: boolean;
  /** Prometheus runs per case (its figures are medians too: one run swings by up to 2x). */
  promRuns: number;
  histSeries: number;
  onlyHist: boolean;
}

/** Float series beside the histogram series of a `hist` case. */
const HIST_CASE_FLOATS = 200;

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);

function parseArgs(argv: readonly string[]): Args {
  const a: Args = {
    quick: false,
    runs: 3,
    keep: undefined,
    cpuProf: undefined,
    sizes: [],
    prometheus: true,
    promRuns: 3,
    histSeries: 2000,
    onlyHist: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i]!;
    const next = (): string => {
      const n = argv[++i];
      if (n === undefined) throw new Error(`${v} needs a value`);
      return n;
    };
    if (v === '--quick') a.quick = true;
    else if (v === '--runs') a.runs = Number(next());
    else if (v === '--keep') a.keep = resolve(next());
    else if (v === '--cpu-prof') a.cpuProf = resolve(next());
    else if (v === '--series') a.sizes = next().split(',').map(Number);
    else if (v === '--no-prometheus') a.prometheus = false;
    else if (v === '--prom-runs') a.promRuns = Number(next());
    else if (v === '--hist-series') a.histSeries = Number(next());
    else if (v === '--only-hist') a.onlyHist = true;
    else throw new Error(`unknown argument ${v}`);
  }
  if (a.sizes.length === 0) a.sizes = a.quick ? [4600] : [4600, 46000];
  if (a.onlyHist) a.sizes = [];
  if (!(a.runs >= 1)) throw new Error('--runs must be >= 1');
  if (!(a.promRuns >= 1)) throw new Error('--prom-runs must be >= 1');
  return a;
}

// ---------------------------------------------------------------------------------------------
// Strata

interface Spawned {
  code: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
}

function run(args: readonly string[]): Promise<Spawned> {
  return new Promise((res, rej) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.once('error', rej);
    child.once('close', (code) => res({ code, stdout, stderr, wallMs: performance.now() - started }));
  });
}

function lastLine(s: Spawned, what: string): unknown {
  if (s.code !== 0) throw new Error(`${what}: exit ${s.code}: ${s.stderr.trim()}`);
  const lines = s.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function strataRuns(
  dir: string,
  name: string,
  inputs: Inputs,
  args: Args,
): Promise<{
  inProcess: WorkerResult[];
  noVerify: WorkerResult[];
  warm: number[];
  cli: { ms: number; rss: number }[];
}> {
  const options: CompactOptions = { dedup: 'exact' };
  const inProcess: WorkerResult[] = [];
  const noVerify: WorkerResult[] = [];
  const warm: number[] = [];
  const cli: { ms: number; rss: number }[] = [];
  for (let r = 0; r < args.runs; r++) {
    const out = join(dir, `strata-${r}`);
    const spec: WorkerSpec = { inputs: inputs.blocks, out, options };
    const prof =
      args.cpuProf && r === 0
        ? ['--cpu-prof', `--cpu-prof-dir=${args.cpuProf}`, `--cpu-prof-name=${name}.cpuprofile`]
        : [];
    inProcess.push(
      lastLine(await run([...prof, SELF, '--worker', JSON.stringify(spec)]), 'worker') as WorkerResult,
    );
    await rm(out, { recursive: true, force: true });

    const nv: WorkerSpec = { inputs: inputs.blocks, out, options: { ...options, verify: false } };
    noVerify.push(lastLine(await run([SELF, '--worker', JSON.stringify(nv)]), 'worker') as WorkerResult);
    await rm(out, { recursive: true, force: true });

    const rep: WorkerSpec = { inputs: inputs.blocks, out, options, repeat: WARM_RUNS };
    const w = lastLine(await run([SELF, '--worker', JSON.stringify(rep)]), 'worker') as WorkerResult;
    warm.push(median(w.repeatsMs.slice(-WARM_OF)));

    const c = await run([join(REPO, 'bin/strata.js'), 'tsdb', 'compact', '--out', out, ...inputs.blocks]);
    const j = lastLine(c, 'strata tsdb compact') as { peak_rss_bytes: number; output_samples: number };
    if (j.output_samples !== inProcess[0]!.outputSamples)
      throw new Error('CLI and in-process outputs differ');
    cli.push({ ms: c.wallMs, rss: j.peak_rss_bytes });
    await rm(out, { recursive: true, force: true });
  }
  return { inProcess, noVerify, warm, cli };
}

async function worker(specText: string): Promise<void> {
  const spec = JSON.parse(specText) as WorkerSpec;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await compactBlocks(spec.inputs, spec.out, spec.options);
  const durationMs = performance.now() - t0;
  const c1 = process.cpuUsage(c0);
  const repeatsMs = [durationMs];
  for (let i = 1; i < (spec.repeat ?? 1); i++) {
    await rm(spec.out, { recursive: true, force: true });
    const t = performance.now();
    await compactBlocks(spec.inputs, spec.out, spec.options);
    repeatsMs.push(performance.now() - t);
  }
  const out: WorkerResult = {
    durationMs,
    cpuMs: (c1.user + c1.system) / 1000,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    inputSamples: r.inputSamples,
    outputSamples: r.outputSamples,
    chunks: r.chunks,
    copiedChunks: r.copiedChunks,
    reencodedChunks: r.reencodedChunks,
    droppedDuplicateChunks: r.droppedDuplicateChunks,
    repeatsMs,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

// ---------------------------------------------------------------------------------------------
// Table

/** Issue 13's targets: 5k series ≤ 1.0× both cases; 50k horizontal ≤ 0.7×, vertical ≤ 1.0×. */
const TARGET: Record<CaseKind, (series: number) => number> = {
  horizontal: (series) => (series >= 10_000 ? 0.7 : 1.0),
  vertical: () => 1.0,
};
/** Compactions per warm process, and how many of the last count (steady state). */
const WARM_RUNS = 6;
const WARM_OF = 3;
/** Issue 14: histogram-heavy compaction at or under Prometheus' time, both cases. */
const HIST_TARGET = 1.0;
const target = (r: Row): number => (r.histograms > 0 ? HIST_TARGET : TARGET[r.kind](r.series));
const caseName = (r: Row): string => (r.histograms > 0 ? `${r.kind} hist` : r.kind);

function fmtMs(ms: number | undefined): string {
  return ms === undefined ? '-' : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

function printTable(rows: readonly Row[]): void {
  const head = [
    'case',
    'series',
    'samples in',
    'prometheus',
    'strata in-proc',
    'ratio',
    'strata CLI',
    'ratio',
    'prom CPU',
    'strata CPU',
    'ratio',
    'no-verify',
    'warm',
    'ratio',
    'prom RSS',
    'strata RSS',
    'CLI RSS',
    'targets (in-proc wall)',
  ];
  const x = (a: number, b: number | undefined): string =>
    b === undefined || !Number.isFinite(b) ? '-' : `${(a / b).toFixed(2)}x`;
  const body = rows.map((r) => {
    const p = r.prom;
    const timeOk = p !== undefined && r.inProcessMs / p.durationMs <= target(r);
    const warmOk = p !== undefined && r.warmMs / p.durationMs <= target(r);
    const rssOk = p !== undefined && Math.max(r.inProcessRss, r.cliRss) <= p.peakRssBytes;
    return [
      caseName(r),
      r.histograms > 0 ? `${r.histograms}+${r.series}` : String(r.series),
      `${(r.samples / 1e6).toFixed(2)}M`,
      fmtMs(p?.durationMs),
      fmtMs(r.inProcessMs),
      x(r.inProcessMs, p?.durationMs),
      fmtMs(r.cliMs),
      x(r.cliMs, p?.durationMs),
      fmtMs(p?.cpuMs),
      fmtMs(r.inProcessCpuMs),
      x(r.inProcessCpuMs, p?.cpuMs),
      fmtMs(r.noVerifyMs),
      fmtMs(r.warmMs),
      x(r.warmMs, p?.durationMs),
      p ? `${Math.round(p.peakRssBytes / MiB)} MiB` : '-',
      `${Math.round(r.inProcessRss / MiB)} MiB`,
      `${Math.round(r.cliRss / MiB)} MiB`,
      p
        ? `time ≤${target(r)}x ${timeOk ? 'ok' : 'MISSED'} (warm ${warmOk ? 'ok' : 'MISSED'}), RSS ${rssOk ? 'ok' : 'MISSED'}`
        : '-',
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
  for (const r of rows) {
    const w = r.worker;
    console.log(
      `${caseName(r)} ${r.series}: chunks ${w.chunks} (copied ${w.copiedChunks}, re-encoded ${w.reencodedChunks}, duplicates dropped ${w.droppedDuplicateChunks}); ` +
        `prometheus RSS when ready ${r.prom ? Math.round(r.prom.readyRssBytes / MiB) + ' MiB' : '-'}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------

/** Median of each figure of several Prometheus runs. */
function medianProm(rs: readonly PromResult[]): PromResult {
  return {
    durationMs: median(rs.map((r) => r.durationMs)),
    cpuMs: median(rs.map((r) => r.cpuMs)),
    peakRssBytes: median(rs.map((r) => r.peakRssBytes)),
    readyRssBytes: median(rs.map((r) => r.readyRssBytes)),
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--worker') {
    await worker(argv[1]!);
    return;
  }
  const args = parseArgs(argv);
  await stat(join(REPO, 'dist/src/cli/main.js')); // the CLI runs the build
  const work = args.keep ?? (await mkdtemp(join(tmpdir(), 'strata-bench-compact-')));
  await mkdir(work, { recursive: true });
  if (args.cpuProf) await mkdir(args.cpuProf, { recursive: true });
  const rows: Row[] = [];
  try {
    const cases: { kind: CaseKind; series: number; histograms: number }[] = [];
    for (const series of args.sizes)
      for (const kind of ['horizontal', 'vertical'] as const) cases.push({ kind, series, histograms: 0 });
    if (args.histSeries > 0)
      for (const kind of ['horizontal', 'vertical'] as const)
        cases.push({ kind, series: HIST_CASE_FLOATS, histograms: args.histSeries });
    for (const { kind, series, histograms } of cases) {
      const name = `${kind}${histograms > 0 ? '-hist' : ''}-${histograms || series}`;
      const dir = join(work, name);
      await rm(dir, { recursive: true, force: true });
      process.stderr.write(`${name}: writing inputs...\n`);
      const inputs =
        kind === 'horizontal'
          ? await horizontalInputs(dir, series, histograms)
          : await verticalInputs(dir, series, histograms);
      process.stderr.write(`${name}: strata x${args.runs}...\n`);
      const s = await strataRuns(dir, name, inputs, args);
      let prom: PromResult | undefined;
      if (args.prometheus) {
        const proms: PromResult[] = [];
        for (let i = 0; i < args.promRuns; i++) {
          process.stderr.write(
            `${name}: prometheus ${i + 1}/${args.promRuns} (compacts ~60 s after start)...\n`,
          );
          proms.push(await runPrometheus(dir, inputs, histograms > 0));
        }
        prom = medianProm(proms);
      }
      rows.push({
        kind,
        series,
        histograms,
        samples: inputs.samples,
        prom,
        inProcessMs: median(s.inProcess.map((w) => w.durationMs)),
        inProcessCpuMs: median(s.inProcess.map((w) => w.cpuMs)),
        noVerifyMs: median(s.noVerify.map((w) => w.durationMs)),
        warmMs: median(s.warm),
        inProcessRss: Math.max(...s.inProcess.map((w) => w.peakRssBytes)),
        cliMs: median(s.cli.map((c) => c.ms)),
        cliRss: Math.max(...s.cli.map((c) => c.rss)),
        worker: s.inProcess[0]!,
      });
      if (!args.keep) await rm(dir, { recursive: true, force: true });
    }
  } finally {
    for (const p of liveProcesses()) await p.stop('SIGKILL', 1000);
    if (!args.keep) await rm(work, { recursive: true, force: true });
  }
  console.log(
    `\nstrata: median of ${args.runs} runs; prometheus: median of ${args.promRuns}; node ${process.version}; inputs in ${work}`,
  );
  printTable(rows);
}

await main();
