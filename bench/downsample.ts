/**
 * Downsampling benchmark: a 48h raw block of N series (15 s scrapes, Strata's synth) downsampled
 * raw → 5m by `strata tsdb downsample` in a fresh process per run, at 1×, 4× and 16× the series.
 *
 *   npm run build && node dist/bench/downsample.js [--series 10000] [--scales 1,4,16] [--runs 3]
 *                                                  [--dir DIR] [--cpu-prof DIR] [--hist]
 *                                                  [--node-arg FLAG]...
 *
 * `--hist`: the series are native histogram series (synth latency histograms: counters with
 * resets and schema changes, 15 s scrapes) instead of float ones; the figures are histogram
 * samples per second. Default --series 1000 then.
 *
 * `--node-arg FLAG` (repeatable) passes a flag to the Node running the CLI, e.g.
 * `--node-arg --min-semi-space-size=16` to start V8's young generation at the size it otherwise
 * grows to during a long run, so peak RSS compares what is held rather than when V8 grows it.
 *
 * Reported per scale (medians of --runs): raw samples decoded per second of the downsampling
 * itself (the CLI's duration_ms, module loading excluded), per CPU-second (the CLI's cpu_ms:
 * user + system of the process over the same span), and peak RSS (the process' maxRSS). Input
 * blocks are generated once into --dir (default $TMPDIR/strata-bench-downsample) and reused;
 * their pages are warm in the page cache after generation or the first run.
 *
 * Anchor: Thanos users report about 4M samples/s for its downsampler (thanos-io/thanos#1964).
 * No Thanos binary is available here, so that reported figure is printed side by side.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSynthBlocks } from '../src/tsdb/synth/write.js';
import { BIN, REPO } from './repo.js';

const H = 3600_000;
const START = 1_699_920_000_000; // 48h-aligned, Nov 2023.
const THANOS_REPORTED = 4e6;
const MiB = 1024 * 1024;

interface Args {
  series: number;
  scales: number[];
  runs: number;
  dir: string;
  cpuProf: string | undefined;
  hist: boolean;
  nodeArgs: string[];
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = {
    series: 10_000,
    scales: [1, 4, 16],
    runs: 3,
    dir: join(tmpdir(), 'strata-bench-downsample'),
    cpuProf: undefined,
    hist: false,
    nodeArgs: [],
  };
  let series: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case '--hist':
        a.hist = true;
        break;
      case '--series':
        series = Number(v);
        i++;
        break;
      case '--scales':
        a.scales = String(v).split(',').map(Number);
        i++;
        break;
      case '--runs':
        a.runs = Number(v);
        i++;
        break;
      case '--dir':
        a.dir = String(v);
        i++;
        break;
      case '--node-arg':
        a.nodeArgs.push(String(v));
        i++;
        break;
      case '--cpu-prof':
        a.cpuProf = String(v);
        i++;
        break;
      default:
        throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  a.series = series ?? (a.hist ? 1000 : 10_000);
  return a;
}

/** The 48h block of `series` series under dir (generated on first use). */
async function inputBlock(dir: string, series: number, hist: boolean): Promise<string> {
  const home = join(dir, `${hist ? 'hist' : 'series'}-${series}`);
  const marker = join(home, 'READY');
  try {
    return join(home, (await readFile(marker, 'utf8')).trim());
  } catch {
    // Not there yet.
  }
  await rm(home, { recursive: true, force: true });
  await mkdir(home, { recursive: true });
  const t0 = performance.now();
  const blocks = await writeSynthBlocks({
    outDir: home,
    series: hist ? 0 : series,
    histograms: hist ? series : 0,
    hours: 48,
    seed: 1,
    startMs: START,
    blockRangeMs: 48 * H,
  });
  const ulid = blocks[0]!.meta.ulid;
  await writeFile(marker, ulid + '\n');
  const s = blocks[0]!.meta.stats;
  console.log(
    `generated ${series} ${hist ? 'histogram ' : ''}series, ${s.numSamples} samples in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return join(home, ulid);
}

interface Run {
  durationMs: number;
  cpuMs: number;
  inputSamples: number;
  outputSamples: number;
  rssBytes: number;
}

async function runOnce(
  block: string,
  cpuProf: string | undefined,
  nodeArgs: readonly string[],
): Promise<Run> {
  const out = await mkdtemp(join(tmpdir(), 'strata-ds-out-'));
  try {
    const node = [...nodeArgs, ...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [])];
    const args = [...node, BIN, 'tsdb', 'downsample', '--resolution', '5m', block, '--out', out];
    const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    const code = await new Promise<number | null>((res) => child.once('close', res));
    if (code !== 0) throw new Error(`strata tsdb downsample exited ${code}`);
    const j = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, number>;
    return {
      durationMs: j['duration_ms']!,
      cpuMs: j['cpu_ms']!,
      inputSamples: j['input_samples']!,
      outputSamples: j['output_samples']!,
      rssBytes: j['peak_rss_bytes']!,
    };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const fmtM = (x: number): string => `${(x / 1e6).toFixed(2)}M`;

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  await mkdir(a.dir, { recursive: true });
  if (a.cpuProf) await mkdir(a.cpuProf, { recursive: true });
  const rows: string[][] = [];
  for (const scale of a.scales) {
    const series = a.series * scale;
    const block = await inputBlock(a.dir, series, a.hist);
    const runs: Run[] = [];
    for (let r = 0; r < a.runs; r++) {
      const run = await runOnce(block, a.cpuProf, a.nodeArgs);
      runs.push(run);
      console.log(
        `  ${scale}× run ${r + 1}: ${run.durationMs} ms, ${fmtM(run.inputSamples / (run.durationMs / 1000))} samples/s, ` +
          `${fmtM(run.inputSamples / (run.cpuMs / 1000))} per CPU-s, RSS ${(run.rssBytes / MiB).toFixed(0)} MiB`,
      );
    }
    const samples = runs[0]!.inputSamples;
    const sps = median(runs.map((r) => r.inputSamples / (r.durationMs / 1000)));
    const cps = median(runs.map((r) => r.inputSamples / (r.cpuMs / 1000)));
    rows.push([
      `${scale}×`,
      String(series),
      fmtM(samples),
      String(runs[0]!.outputSamples),
      `${(median(runs.map((r) => r.durationMs)) / 1000).toFixed(2)} s`,
      `${fmtM(sps)}/s`,
      `${fmtM(cps)}/CPU-s`,
      `${(median(runs.map((r) => r.rssBytes)) / MiB).toFixed(0)} MiB`,
      a.hist ? '-' : `${(sps / THANOS_REPORTED).toFixed(2)}×`,
    ]);
  }
  const header = [
    'scale',
    'series',
    a.hist ? 'histogram samples' : 'raw samples',
    'windows',
    'time',
    'samples/s',
    'per CPU-s',
    'peak RSS',
    'vs Thanos ~4M/s',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(
    `\nraw → 5m, 48h block of ${a.hist ? 'native histogram' : 'float'} series, 15 s scrapes; medians of ${a.runs} runs; Thanos anchor: ~4M samples/s reported in thanos-io/thanos#1964 (no Thanos binary here)`,
  );
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}

await main();
