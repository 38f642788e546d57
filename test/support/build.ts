/**
 * dist/ for tests that run the built code (bin/strata.js, or the verify worker thread, which only
 * exists compiled). ensureBuilt() runs tsc when some source file is newer than its output, one
 * build at a time across test workers (a lock directory).
 */
import { mkdir, readdir, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess } from './processes.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
const MAIN_JS = join(REPO, 'dist/src/cli/main.js');
const LOCK = join(tmpdir(), 'strata-test-build.lock');
const LOCK_WAIT_MS = 300_000;

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sources(p)));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

async function mtime(path: string): Promise<number> {
  return (await stat(path).catch(() => undefined))?.mtimeMs ?? 0;
}

/** The compiled step hook that tests load into strata processes (see test/support/step-hook.ts). */
export const STEP_HOOK_JS = join(REPO, 'dist/test/support/step-hook.js');

/** True when every source file under src/ and test/support/ has an output in dist/ at least as new. */
async function isFresh(): Promise<boolean> {
  const files = [...(await sources(join(REPO, 'src'))), ...(await sources(join(REPO, 'test/support')))];
  for (const f of files) {
    const out = join(REPO, 'dist', relative(REPO, f)).replace(/\.ts$/, '.js');
    if ((await mtime(out)) < (await mtime(f))) return false;
  }
  return true;
}

/** Builds dist/ (tsconfig.build.json and tsconfig.ui.json) unless it is newer than every source. */
export async function ensureBuilt(): Promise<void> {
  if (await isFresh()) return;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await mkdir(LOCK);
      break;
    } catch {
      if (Date.now() > deadline)
        throw new Error(`build lock ${LOCK} held for ${LOCK_WAIT_MS / 60_000} minutes`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    if (await isFresh()) return;
    const tsc = join(REPO, 'node_modules/typescript/bin/tsc');
    // The server code, then the UI's browser modules (their own tsconfig: DOM, no Node types).
    for (const project of ['tsconfig.build.json', 'tsconfig.ui.json']) {
      const p = startProcess('tsc', process.execPath, [tsc, '-p', join(REPO, project)], { cwd: REPO });
      await new Promise<void>((r) => p.child.once('exit', () => r()));
    }
    // tsc exits non-zero on type errors elsewhere in the tree but still emits; only a missing
    // build is fatal here.
    await stat(MAIN_JS);
  } finally {
    await rmdir(LOCK).catch(() => undefined);
  }
}
