/**
 * Running the real `strata` binary (bin/strata.js → dist/) from tests. The binary runs the built
 * JavaScript, so ensureBuilt() rebuilds dist/ first when a source it runs is newer than the build
 * (one build at a time across test workers, through a lock directory).
 */
import { mkdir, readdir, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess } from '../support/processes.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
const MAIN_JS = join(REPO, 'dist/src/cli/main.js');
const SOURCES = ['src'];
const LOCK = join(tmpdir(), 'strata-test-build.lock');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, await newestMtime(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
      newest = Math.max(newest, (await stat(p)).mtimeMs);
  }
  return newest;
}

async function isFresh(): Promise<boolean> {
  let built: number;
  try {
    built = (await stat(MAIN_JS)).mtimeMs;
  } catch {
    return false;
  }
  let src = 0;
  for (const d of SOURCES) src = Math.max(src, await newestMtime(join(REPO, d)));
  // tsc writes main.js among the last files; compare with the oldest plausible output.
  const compact =
    (await stat(join(REPO, 'dist/src/tsdb/compact/compact.js')).catch(() => undefined))?.mtimeMs ?? 0;
  return Math.min(built, compact) >= src;
}

/** Builds dist/ (tsc -p tsconfig.build.json) unless it is newer than the CLI's sources. */
export async function ensureBuilt(): Promise<void> {
  if (await isFresh()) return;
  const deadline = Date.now() + 240_000;
  for (;;) {
    try {
      await mkdir(LOCK);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`build lock ${LOCK} held for 4 minutes`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    if (await isFresh()) return;
    const tsc = join(REPO, 'node_modules/typescript/bin/tsc');
    const p = startProcess('tsc', process.execPath, [tsc, '-p', join(REPO, 'tsconfig.build.json')], {
      cwd: REPO,
    });
    await new Promise<void>((r) => p.child.once('exit', () => r()));
    // tsc exits non-zero on type errors elsewhere in the tree but still emits; only a missing
    // build is fatal here.
    await stat(MAIN_JS);
  } finally {
    await rmdir(LOCK).catch(() => undefined);
  }
}

/** `node bin/strata.js ARGS...`: exit code and output. */
export async function runStrata(args: readonly string[], timeoutMs = 120_000): Promise<CliResult> {
  const p = startProcess('strata', process.execPath, [join(REPO, 'bin/strata.js'), ...args], { cwd: REPO });
  let stdout = '';
  let stderr = '';
  p.child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  p.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const code = await new Promise<number | null>((res) => {
    const timer = setTimeout(() => void p.stop('SIGKILL', 1000), timeoutMs);
    p.child.once('close', (c) => {
      clearTimeout(timer);
      res(c);
    });
  });
  return { code, stdout, stderr };
}

/** The JSON object on the last stdout line of `strata tsdb compact`. */
export interface CompactSummary {
  ulid: string | null;
  duration_ms: number;
  input_blocks: number;
  input_samples: number;
  output_samples: number;
  series: number;
  chunks: number;
  bytes_read: number;
  bytes_written: number;
  peak_rss_bytes: number;
}

export function lastJsonLine(stdout: string): CompactSummary {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  const last = lines.at(-1);
  if (last === undefined) throw new Error('no output');
  return JSON.parse(last) as CompactSummary;
}
