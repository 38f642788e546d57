/**
 * Input buckets for the compactor tests: promtool-written 2h blocks of HA replica pairs, with a
 * Thanos section (external labels {cluster, replica}) added to each meta.json.
 *
 * promtool costs ~0.3 s per 2h window whatever the sample count, so windows are written by several
 * promtool processes at once, and a fixture is built once per machine (under os.tmpdir(), keyed by
 * its parameters) and reused by every test file and run: tests upload from it, never modify it.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { readMetaFile, writeMetaFile } from '../../src/tsdb/meta.js';
import { ulidSource } from '../../src/tsdb/ulid.js';
import { generateSamples, openMetricsFromSamples } from '../support/openmetrics.js';
import type { Sample } from '../support/dump.js';
import { createBlocksFromOpenMetrics, promtoolDump, type CreatedBlock } from '../services/prometheus.js';
import { copyBlockAs } from '../compact/helpers.js';

export const HOUR = 3600_000;
export const TWO_HOURS = 2 * HOUR;
export const EIGHT_HOURS = 8 * HOUR;
export const TWO_DAYS = 48 * HOUR;
/** A multiple of 2 days since the epoch, so every level range [D0 + k·r, D0 + (k+1)·r) is aligned. */
export const D0 = 1_700_006_400_000;
/** Replica r2 scrapes this long after r1 in the offset tenant. */
export const OFFSET_MS = 3000;

const FIXTURE_VERSION = 3;
const newUlid = ulidSource();

/** Window index of a time: floor((t - D0) / 2h). */
export function windowOf(t: number): number {
  return Math.floor((t - D0) / TWO_HOURS);
}

/**
 * promtool blocks for `samples` (one per 2h window) in `outDir`, each window written by its own
 * promtool run, `concurrency` runs at once. Returns the new blocks by minTime.
 */
export async function promtoolBlocksParallel(
  samples: readonly Sample[],
  outDir: string,
  concurrency = 6,
): Promise<CreatedBlock[]> {
  const windows = new Map<number, Sample[]>();
  for (const s of samples) {
    const w = Math.floor(s.t / TWO_HOURS) * TWO_HOURS;
    const list = windows.get(w);
    if (list) list.push(s);
    else windows.set(w, [s]);
  }
  const keys = [...windows.keys()].sort((a, b) => a - b);
  const out: CreatedBlock[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const w = keys[next++]!;
      const scratch = join(outDir, `.w-${w}`);
      const made = await createBlocksFromOpenMetrics(openMetricsFromSamples(windows.get(w)!), scratch);
      for (const b of made) {
        const dir = join(outDir, b.ulid);
        await rename(b.dir, dir);
        out.push({ ...b, dir });
      }
      await rm(scratch, { recursive: true, force: true });
    }
  };
  await mkdir(outDir, { recursive: true });
  await Promise.all(Array.from({ length: Math.min(concurrency, keys.length) }, worker));
  return out.sort((a, b) => a.minTime - b.minTime);
}

/**
 * The directory of a fixture made by `make` (which fills the dir it is given), built once per key
 * across test files and runs: a lock dir serializes builders, a `.done` file marks a complete one.
 */
export async function cachedFixture(key: string, make: (dir: string) => Promise<void>): Promise<string> {
  const root = join(tmpdir(), 'strata-compactor-fixtures');
  await mkdir(root, { recursive: true });
  const dir = join(root, key);
  const done = async (): Promise<boolean> =>
    (await stat(join(dir, '.done')).catch(() => undefined)) !== undefined;
  if (await done()) return dir;
  const lock = `${dir}.lock`;
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`fixture lock ${lock} held for 5 minutes`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    if (await done()) return dir;
    await rm(dir, { recursive: true, force: true });
    const scratch = await mkdtemp(`${dir}.tmp-`);
    try {
      await make(scratch);
      await writeFile(join(scratch, '.done'), '');
      await rename(scratch, dir);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
    return dir;
  } finally {
    await rmdir(lock).catch(() => undefined);
  }
}

export type ReplicaKind = 'identical' | 'offset';

export interface FixtureBlock {
  ulid: string;
  /** Absolute path of the block dir. */
  dir: string;
  replica: string;
  minTime: number;
  maxTime: number;
}

export interface HaTenant {
  tenant: string;
  cluster: string;
  /**
   * identical: r2 holds exactly r1's samples (blocks copied under new ULIDs), so exact dedup must
   * give r1's dump. offset: r2 scrapes OFFSET_MS later, starts 2 windows later, and r1 misses
   * 12 minutes of window `gapWindow`: penalty dedup must fill the gap without interleaving.
   */
  kind: ReplicaKind;
  blocks: FixtureBlock[];
  /** promtool dump of each replica's blocks. */
  dumps: Record<string, string[]>;
  /** Scrape interval (ms); samples of r1 are at D0 + k·interval. */
  intervalMs: number;
  /** offset only: r1 has no sample in [gapFrom, gapTo); r2 starts at window 2. */
  gapFrom?: number;
  gapTo?: number;
}

export interface HaFixtureOptions {
  /** 2h windows from D0 (default 30: 2.5 days). */
  windows?: number;
  series?: number;
  intervalMs?: number;
  seed?: number;
  /** Tenants and how their replicas relate (default alpha identical, beta offset). */
  tenants?: readonly { tenant: string; kind: ReplicaKind }[];
}

export interface HaFixture {
  dir: string;
  windows: number;
  tenants: HaTenant[];
}

interface Manifest {
  windows: number;
  tenants: (Omit<HaTenant, 'dumps' | 'blocks'> & {
    blocks: (Omit<FixtureBlock, 'dir'> & { rel: string })[];
  })[];
}

async function labelBlock(dir: string, labels: Record<string, string>): Promise<void> {
  const meta = await readMetaFile(dir);
  meta.thanos = { labels, downsample: { resolution: 0 }, source: 'sidecar' };
  await writeMetaFile(dir, meta);
}

async function buildTenant(
  dir: string,
  t: { tenant: string; kind: ReplicaKind },
  o: Required<Omit<HaFixtureOptions, 'tenants'>>,
  seed: number,
): Promise<Manifest['tenants'][number]> {
  const cluster = `c-${t.tenant}`;
  const base = generateSamples({
    seed,
    series: o.series,
    startMs: D0,
    durationMs: o.windows * TWO_HOURS,
    intervalMs: o.intervalMs,
    offsets: false,
  });
  const blocks: (Omit<FixtureBlock, 'dir'> & { rel: string })[] = [];
  const add = (b: CreatedBlock, replica: string): void => {
    blocks.push({ ulid: b.ulid, rel: relative(dir, b.dir), replica, minTime: b.minTime, maxTime: b.maxTime });
  };
  const r1Dir = join(dir, t.tenant, 'r1');
  const r2Dir = join(dir, t.tenant, 'r2');
  let gap: { gapFrom: number; gapTo: number } | undefined;
  let r1Samples = base;
  if (t.kind === 'offset') {
    const w = Math.min(10, o.windows - 3);
    gap = { gapFrom: D0 + w * TWO_HOURS + 40 * 60_000, gapTo: D0 + w * TWO_HOURS + 52 * 60_000 };
    r1Samples = base.filter((s) => s.t < gap!.gapFrom || s.t >= gap!.gapTo);
  }
  const r1 = await promtoolBlocksParallel(r1Samples, r1Dir);
  for (const b of r1) {
    await labelBlock(b.dir, { cluster, replica: 'r1' });
    add(b, 'r1');
  }
  if (t.kind === 'identical') {
    for (const b of r1) {
      const copy = await copyBlockAs(b.dir, r2Dir, newUlid());
      await labelBlock(copy, { cluster, replica: 'r2' });
      const meta = await readMetaFile(copy);
      blocks.push({
        ulid: meta.ulid,
        rel: relative(dir, copy),
        replica: 'r2',
        minTime: meta.minTime,
        maxTime: meta.maxTime,
      });
    }
  } else {
    const r2Samples = base
      .filter((s) => s.t >= D0 + 2 * TWO_HOURS)
      .map((s) => ({ ...s, t: s.t + OFFSET_MS }))
      .filter((s) => s.t < D0 + o.windows * TWO_HOURS);
    for (const b of await promtoolBlocksParallel(r2Samples, r2Dir)) {
      await labelBlock(b.dir, { cluster, replica: 'r2' });
      add(b, 'r2');
    }
  }
  for (const r of ['r1', 'r2']) {
    const lines = await promtoolDump(join(dir, t.tenant, r));
    await writeFile(join(dir, t.tenant, `${r}.dump`), lines.join('\n'));
  }
  return { tenant: t.tenant, cluster, kind: t.kind, blocks, intervalMs: o.intervalMs, ...gap };
}

/** The HA fixture for these options (built on first use, then read from the cache). */
/**
 * Two tenants whose HA replicas hold identical data, 12 windows of 8 series: the bucket the crash,
 * worker-kill, worker-stall and CLI tests kill and stop processes in.
 */
export const TWO_IDENTICAL_TENANTS: HaFixtureOptions = {
  windows: 12,
  series: 8,
  seed: 21,
  tenants: [
    { tenant: 'team-a', kind: 'identical' },
    { tenant: 'team-b', kind: 'identical' },
  ],
};

export async function haFixture(opts: HaFixtureOptions = {}): Promise<HaFixture> {
  const o: Required<HaFixtureOptions> = {
    windows: opts.windows ?? 30,
    series: opts.series ?? 8,
    intervalMs: opts.intervalMs ?? 30_000,
    seed: opts.seed ?? 11,
    tenants: opts.tenants ?? [
      { tenant: 'alpha', kind: 'identical' },
      { tenant: 'beta', kind: 'offset' },
    ],
  };
  const key = createHash('sha256')
    .update(JSON.stringify({ v: FIXTURE_VERSION, ...o }))
    .digest('hex')
    .slice(0, 16);
  const dir = await cachedFixture(`ha-${key}`, async (d) => {
    const manifest: Manifest = { windows: o.windows, tenants: [] };
    let seed = o.seed;
    for (const t of o.tenants) manifest.tenants.push(await buildTenant(d, t, o, seed++));
    await writeFile(join(d, 'manifest.json'), JSON.stringify(manifest));
  });
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const tenants: HaTenant[] = [];
  for (const t of manifest.tenants) {
    const dumps: Record<string, string[]> = {};
    for (const r of ['r1', 'r2']) {
      const text = await readFile(join(dir, t.tenant, `${r}.dump`), 'utf8');
      dumps[r] = text === '' ? [] : text.split('\n');
    }
    tenants.push({
      ...t,
      blocks: t.blocks.map(({ rel, ...b }) => ({ ...b, dir: join(dir, rel) })),
      dumps,
    });
  }
  return { dir, windows: manifest.windows, tenants };
}
