/**
 * Idle-pass benchmark (issue 13 item 5): `strata compact` (the real binary, one pass, no --wait)
 * over a metadata-only multi-tenant filesystem bucket with nothing to compact (every block is a
 * 14d level-4 compactor output, one per range), cold (empty --data-dir, no bucket index in the
 * bucket) and restarted (the --data-dir and the bucket indexes the cold run left), alternating,
 * `--runs` times each. Prints the medians side by side with their anchors and the ratios:
 * restart sync vs cold sync (target ≤ 0.05×) and restarted pass vs cold pass (≤ 0.15×), the pass
 * time per block, and how many bucket indexes each restart rewrote.
 *
 * Run: `npm run build && node dist/bench/idle-pass.js [--blocks 20000] [--tenants 100] [--runs 3]
 *   [--dir /tmp/strata-bench-idle]`
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { formatMeta, type BlockMeta } from '../src/tsdb/meta.js';
import { ulidOf } from '../test/support/plan-fixtures.js';
import { BIN, REPO } from './repo.js';

const H = 3_600_000;
const D14 = 14 * 24 * H;
/** A multiple of 14 days (2023-11-09T00:00Z): ranges stay aligned. */
const DAY0 = 1_699_488_000_000;
const INDEX = 'bucket-index.json.gz';

interface Flags {
  blocks: number;
  tenants: number;
  runs: number;
  dir: string;
}

function parseFlags(argv: readonly string[]): Flags {
  const get = (name: string, dflt: string): string => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && i + 1 < argv.length ? argv[i + 1]! : dflt;
  };
  const num = (name: string, dflt: number): number => {
    const v = Number(get(name, String(dflt)).replace(/_/g, ''));
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name}: not a positive number`);
    return v;
  };
  return {
    blocks: num('blocks', 20_000),
    tenants: num('tenants', 100),
    runs: num('runs', 3),
    dir: get('dir', join(tmpdir(), 'strata-bench-idle')),
  };
}

function tenantName(t: number): string {
  return `tenant-${String(t).padStart(4, '0')}`;
}

/** One 14d level-4 block per range and tenant: the planner has nothing to do. */
function blockMeta(t: number, i: number): BlockMeta {
  const min = DAY0 - (i + 1) * D14;
  const id = ulidOf(min + D14 + H, t * 1_000_000 + i);
  return {
    ulid: id,
    minTime: min,
    maxTime: min + D14,
    stats: { numSamples: 1_000_000, numSeries: 1000, numChunks: 10_000, numTombstones: 0 },
    compaction: { level: 4, sources: [id] },
    version: 1,
    thanos: {
      labels: { cluster: `c${t % 10}`, env: 'prod' },
      downsample: { resolution: 0 },
      source: 'compactor',
      segment_files: ['000001'],
      files: [
        { rel_path: 'chunks/000001', size_bytes: 1_000_000 },
        { rel_path: 'index', size_bytes: 200_000 },
        { rel_path: 'meta.json' },
      ],
    },
  };
}

function ensureBucket(f: Flags): string {
  const dir = join(f.dir, `bucket-${f.blocks}x${f.tenants}`);
  const done = `${dir}.complete`;
  if (existsSync(done)) return dir;
  rmSync(dir, { recursive: true, force: true });
  const perTenant = Math.ceil(f.blocks / f.tenants);
  let n = 0;
  for (let t = 0; t < f.tenants && n < f.blocks; t++) {
    for (let i = 0; i < perTenant && n < f.blocks; i++, n++) {
      const m = blockMeta(t, i);
      const bdir = join(dir, tenantName(t), m.ulid);
      mkdirSync(bdir, { recursive: true });
      writeFileSync(join(bdir, 'meta.json'), formatMeta(m));
    }
  }
  writeFileSync(done, `${n}\n`);
  return dir;
}

interface PassRun {
  wallMs: number;
  passMs: number;
  syncMs: number;
  plans: number;
  /** Bucket indexes whose file changed during the run. */
  indexWrites: number;
  /** The fetcher's checkpoint and metas files, when changed during the run. */
  checkpointWritten: boolean;
  cpuMs: number;
}

function indexStamps(bucket: string, tenants: number): (number | undefined)[] {
  const out: (number | undefined)[] = [];
  for (let t = 0; t < tenants; t++) {
    const p = join(bucket, tenantName(t), INDEX);
    out.push(existsSync(p) ? statSync(p).mtimeMs : undefined);
  }
  return out;
}

function checkpointStamp(dataDir: string): string {
  return ['checkpoint.json.gz', 'metas.bin']
    .map((f) => join(dataDir, 'meta-sync', f))
    .map((p) => (existsSync(p) ? String(statSync(p).mtimeMs) : '-'))
    .join(',');
}

async function runCompact(bucket: string, dataDir: string, tenants: number): Promise<PassRun> {
  const before = indexStamps(bucket, tenants);
  const cpBefore = checkpointStamp(dataDir);
  const args = [
    BIN,
    'compact',
    '--objstore.config',
    JSON.stringify({ type: 'FILESYSTEM', config: { directory: bucket } }),
    '--data-dir',
    dataDir,
    '--tenancy',
    'multi',
    '--http-address',
    '127.0.0.1:0',
    '--log.level',
    'warn',
    '--debug.print-summary',
  ];
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  const wallMs = performance.now() - t0;
  if (code !== 0) throw new Error(`strata compact exited ${code}:\n${stderr}`);
  const line = stdout.split('\n').find((l) => l.includes('"phase_ms"'));
  if (line === undefined) throw new Error(`no pass summary in:\n${stdout}`);
  const s = JSON.parse(line) as {
    plans_done: number;
    pass_ms: number;
    phase_ms: Record<string, number>;
    cpu_user_ms: number;
    cpu_system_ms: number;
  };
  const after = indexStamps(bucket, tenants);
  return {
    wallMs,
    passMs: s.pass_ms,
    syncMs: s.phase_ms['sync'] ?? 0,
    plans: s.plans_done,
    indexWrites: after.filter((v, i) => v !== before[i]).length,
    checkpointWritten: checkpointStamp(dataDir) !== cpBefore,
    cpuMs: s.cpu_user_ms + s.cpu_system_ms,
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const fmt = (n: number, d = 2): string => n.toFixed(d);

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2));
  mkdirSync(f.dir, { recursive: true });
  const bucket = ensureBucket(f);
  const dataDir = join(f.dir, 'data');
  console.log(
    `idle-pass bench: ${f.blocks} metadata-only blocks, ${f.tenants} tenants, ${f.runs} runs; ` +
      `node ${process.version}`,
  );
  const cold: PassRun[] = [];
  const restart: PassRun[] = [];
  for (let r = 0; r < f.runs; r++) {
    rmSync(dataDir, { recursive: true, force: true });
    for (let t = 0; t < f.tenants; t++) rmSync(join(bucket, tenantName(t), INDEX), { force: true });
    const c = await runCompact(bucket, dataDir, f.tenants);
    const w = await runCompact(bucket, dataDir, f.tenants);
    if (c.plans !== 0 || w.plans !== 0) throw new Error('the bench bucket had something to compact');
    cold.push(c);
    restart.push(w);
    console.log(
      `run ${r + 1}: cold pass ${fmt(c.passMs / 1000)} s (sync ${fmt(c.syncMs / 1000)} s, ` +
        `${c.indexWrites} indexes written, process ${fmt(c.wallMs / 1000)} s, CPU ${fmt(c.cpuMs / 1000)} s); ` +
        `restarted pass ${fmt(w.passMs / 1000)} s (sync ${fmt(w.syncMs / 1000)} s, ` +
        `${w.indexWrites} indexes written, checkpoint ${w.checkpointWritten ? '' : 'not '}written, process ${fmt(w.wallMs / 1000)} s, CPU ${fmt(w.cpuMs / 1000)} s); ` +
        `load ${fmt(loadavg()[0]!)}`,
    );
  }
  const m = (xs: PassRun[], k: 'wallMs' | 'passMs' | 'syncMs' | 'indexWrites' | 'cpuMs'): number =>
    median(xs.map((x) => x[k]));
  const syncRatio = m(restart, 'syncMs') / m(cold, 'syncMs');
  const passRatio = m(restart, 'passMs') / m(cold, 'passMs');
  console.log(
    `medians of ${f.runs}: restart sync ${fmt(m(restart, 'syncMs') / 1000)} s vs cold sync ` +
      `${fmt(m(cold, 'syncMs') / 1000)} s = ${fmt(syncRatio, 3)}× (target ≤ 0.05×); ` +
      `restarted pass ${fmt(m(restart, 'passMs') / 1000)} s vs cold pass ${fmt(m(cold, 'passMs') / 1000)} s ` +
      `= ${fmt(passRatio, 3)}× (target ≤ 0.15×); restarted pass ` +
      `${fmt((1000 * m(restart, 'passMs')) / f.blocks, 1)} µs per block, ` +
      `${m(restart, 'indexWrites')} of ${f.tenants} indexes rewritten; load ${fmt(loadavg()[0]!)}`,
  );
}

await main();
