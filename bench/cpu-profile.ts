/**
 * Summarises V8 `.cpuprofile` files (node --cpu-prof): per process, the busy time and the top
 * functions and files by self time. Used by bench/query.ts --cpu-prof; also runnable on its own:
 * `node dist/bench/cpu-profile.js DIR [TOP]` (DIR holds profiles, or one subdir of them per role).
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  readonly file: string;
  readonly totalMs: number;
  /** Total minus (idle). */
  readonly busyMs: number;
  readonly functions: [string, number][];
  readonly files: [string, number][];
}

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** Where a function lives, short: src/store/x.ts (via dist), node_modules/<pkg>, node:internal/... */
function fileOf(url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native)';
  let p = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (p.startsWith(REPO)) p = p.slice(REPO.length);
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(p);
  if (nm !== null) return `node_modules/${nm[1]}`;
  return p.replace(/^dist\//, '').replace(/\.js$/, '.ts');
}

function top(m: Map<string, number>, n: number): [string, number][] {
  return [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
}

export async function summariseProfile(file: string, n = 12): Promise<ProfileSummary> {
  const p = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, CallFrame>();
  for (const node of p.nodes) byId.set(node.id, node.callFrame);
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const ms = (p.timeDeltas[i] ?? 0) / 1000;
    const cf = byId.get(p.samples[i]!);
    if (cf === undefined) continue;
    total += ms;
    if (cf.functionName === '(idle)') {
      idle += ms;
      continue;
    }
    const where = fileOf(cf.url, cf.functionName);
    const name = cf.functionName || '(anonymous)';
    const fn = cf.url ? `${name} ${where}:${cf.lineNumber + 1}` : name === where ? name : `${name} ${where}`;
    fns.set(fn, (fns.get(fn) ?? 0) + ms);
    files.set(where, (files.get(where) ?? 0) + ms);
  }
  return { file, totalMs: total, busyMs: total - idle, functions: top(fns, n), files: top(files, n) };
}

/** Profiles in `dir` and in its subdirectories (one level), by path. */
export async function profilesIn(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(dir)).sort()) {
    const p = join(dir, e);
    if ((await stat(p)).isDirectory()) {
      for (const f of (await readdir(p)).sort()) if (f.endsWith('.cpuprofile')) out.push(join(p, f));
    } else if (e.endsWith('.cpuprofile')) out.push(p);
  }
  return out;
}

export function formatSummary(s: ProfileSummary, label: string): string {
  const pct = (ms: number): string => `${((100 * ms) / Math.max(s.busyMs, 1e-9)).toFixed(1).padStart(5)}%`;
  const lines = [
    `${label}: ${(s.busyMs / 1000).toFixed(2)} s busy of ${(s.totalMs / 1000).toFixed(1)} s profiled`,
    '  top files by self time (% of busy):',
    ...s.files.map(([f, ms]) => `    ${pct(ms)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${f}`),
    '  top functions by self time:',
    ...s.functions.map(([f, ms]) => `    ${pct(ms)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${f}`),
  ];
  return lines.join('\n');
}

async function main(argv: readonly string[]): Promise<void> {
  const dir = argv[0];
  if (dir === undefined) throw new Error('usage: node dist/bench/cpu-profile.js DIR [TOP]');
  const n = Number(argv[1] ?? 12);
  for (const f of await profilesIn(dir)) {
    console.log(formatSummary(await summariseProfile(f, n), f.slice(dir.length).replace(/^\//, '')));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.log(`cpu-profile: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
