/**
 * Running the built `strata` binary with a chosen environment and, when the tests run as root,
 * as another user (permission errors cannot happen to root). Call ensureBuilt() first.
 */
import { join } from 'node:path';
import { startProcess } from '../support/processes.js';
import { REPO } from '../support/build.js';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Run as this uid/gid (only possible as root). */
  user?: { uid: number; gid: number };
  timeoutMs?: number;
}

/** The non-zero lines of a stream. */
export function lines(s: string): string[] {
  return s.split('\n').filter((l) => l.trim() !== '');
}

export async function strata(args: readonly string[], o: RunOptions = {}): Promise<Run> {
  const p = startProcess('strata', process.execPath, [join(REPO, 'bin/strata.js'), ...args], {
    cwd: REPO,
    env: o.env ?? process.env,
    ...(o.user ?? {}),
  });
  let stdout = '';
  let stderr = '';
  p.child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  p.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const code = await new Promise<number | null>((res) => {
    const timer = setTimeout(() => void p.stop('SIGKILL', 1000), o.timeoutMs ?? 60_000);
    p.child.once('close', (c) => {
      clearTimeout(timer);
      res(c);
    });
  });
  return { code, stdout, stderr };
}

/** Runs `fns` at most `limit` at a time, in order of their results. */
export async function limited<T>(limit: number, fns: readonly (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array<T>(fns.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < fns.length) {
      const i = next++;
      out[i] = await fns[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, fns.length) }, worker));
  return out;
}
