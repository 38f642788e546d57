/**
 * Inputs of the compaction benchmark (bench/compact.ts) and Prometheus' side of it: synth blocks
 * (float series, optionally native histogram series), block copies under new ULIDs, and one run of
 * Prometheus' own compactor on a data dir of hard links, timed from its log and /proc.
 */
import { cp, link, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { readMetaFile, writeMetaFile } from '../src/tsdb/meta.js';
import { writeSynthBlocks } from '../src/tsdb/synth/write.js';
import { seededRandom, ulidSource } from '../src/tsdb/ulid.js';
import { parseLogfmt, startPrometheus, waitForCompaction } from '../test/services/prometheus.js';

export const H = 3600_000;
/** A multiple of 6h (so the three 2h inputs fill one 6h range), in Nov 2023. */
export const START = 1_699_984_800_000;

export interface PromResult {
  durationMs: number;
  /** CPU time (user + system) of the server around the logged compaction window. */
  cpuMs: number;
  peakRssBytes: number;
  /** VmRSS once the server was ready (blocks opened), before compacting. */
  readyRssBytes: number;
}

export interface Inputs {
  blocks: string[];
  /** Blocks given to Prometheus besides the inputs (the newer one it leaves alone). */
  extra: string[];
  samples: number;
}

export async function horizontalInputs(dir: string, series: number, histograms = 0): Promise<Inputs> {
  const blocks = await writeSynthBlocks({
    outDir: join(dir, 'in'),
    series,
    histograms,
    hours: 6,
    seed: 1,
    startMs: START,
  });
  const newer = await writeSynthBlocks({
    outDir: join(dir, 'newer'),
    series: 10,
    hours: 2,
    seed: 2,
    startMs: START + 6 * H,
  });
  return {
    blocks: blocks.map((b) => b.dir),
    extra: newer.map((b) => b.dir),
    samples: blocks.reduce((a, b) => a + b.meta.stats.numSamples, 0),
  };
}

export async function verticalInputs(dir: string, series: number, histograms = 0): Promise<Inputs> {
  const [one] = await writeSynthBlocks({
    outDir: join(dir, 'src'),
    series,
    histograms,
    hours: 2,
    seed: 3,
    startMs: START,
  });
  const ulids = ulidSource(seededRandom(series));
  const blocks: string[] = [];
  for (let r = 0; r < 3; r++)
    blocks.push(await linkBlock(one!.dir, join(dir, 'in'), ulids(START + 2 * H + r)));
  return { blocks, extra: [], samples: 3 * one!.meta.stats.numSamples };
}

/** A copy of a block under a new ULID: data files hard-linked, meta.json rewritten. */
async function linkBlock(src: string, parent: string, ulid: string): Promise<string> {
  const dst = join(parent, ulid);
  await linkTree(src, dst);
  const meta = await readMetaFile(dst);
  meta.ulid = ulid;
  meta.compaction.sources = [ulid];
  await rm(join(dst, 'meta.json'));
  await writeMetaFile(dst, meta);
  return dst;
}

async function linkTree(src: string, dst: string): Promise<void> {
  await mkdir(dst, { recursive: true });
  for (const e of await readdir(src, { withFileTypes: true })) {
    if (e.isDirectory()) await linkTree(join(src, e.name), join(dst, e.name));
    else if (e.name === 'meta.json') await cp(join(src, e.name), join(dst, e.name));
    else await link(join(src, e.name), join(dst, e.name));
  }
}

async function procStatusKb(pid: number, field: string): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** utime + stime of a process in ms (from /proc/<pid>/stat, clock ticks of 10 ms). */
async function procCpuMs(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10; // fields 14 and 15, CLK_TCK = 100
}

export async function runPrometheus(
  dir: string,
  inputs: Inputs,
  nativeHistograms = false,
): Promise<PromResult> {
  const dataDir = join(dir, 'prometheus');
  for (const b of [...inputs.blocks, ...inputs.extra]) await linkTree(b, join(dataDir, basename(b)));
  const prom = await startPrometheus({
    dataDir,
    extraArgs: [
      '--storage.tsdb.min-block-duration=2h',
      '--storage.tsdb.max-block-duration=6h',
      ...(nativeHistograms ? ['--enable-feature=native-histograms'] : []),
    ],
  });
  // CPU samples every 50 ms: the compaction's CPU is the difference across its logged window.
  const samples: [number, number][] = [];
  let sampling = true;
  const sampler = (async (): Promise<void> => {
    while (sampling) {
      samples.push([Date.now(), await procCpuMs(prom.process.pid).catch(() => NaN)]);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    const readyRssBytes = await procStatusKb(prom.process.pid, 'VmRSS');
    const res = await waitForCompaction(prom, { timeoutMs: 300_000, settleMs: 3000 });
    const want = inputs.blocks.map((b) => basename(b)).sort();
    const c = res.compactions;
    if (c.length !== 1 || JSON.stringify([...c[0]!.sources].sort()) !== JSON.stringify(want)) {
      throw new Error(
        `prometheus compacted ${JSON.stringify(c.map((x) => x.sources))}, expected one compaction of ${want.join(' ')}`,
      );
    }
    const peakRssBytes = await procStatusKb(prom.process.pid, 'VmHWM');
    sampling = false;
    await sampler;
    const end = Date.parse(parseLogfmt(c[0]!.line).ts ?? '');
    const start = end - c[0]!.durationMs;
    const before = samples.filter(([t]) => t <= start).at(-1);
    const after = samples.find(([t]) => t >= end);
    const cpuMs = before && after ? after[1] - before[1] : NaN;
    return { durationMs: res.durationMs, cpuMs, peakRssBytes, readyRssBytes };
  } finally {
    sampling = false;
    await sampler;
    await prom.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
