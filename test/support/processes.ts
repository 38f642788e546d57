/**
 * Child processes started by tests. Every server a test starts goes through `startProcess`, is
 * stopped by PID (SIGTERM, then SIGKILL), and `assertNoLeakedProcesses` fails a test file that
 * leaves one running.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { logFile } from './secrets.js';

const LOG_CAP_BYTES = 8 * 1024 * 1024;

export interface TrackedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Everything the process printed (stdout and stderr interleaved), for diagnostics. */
  output(): string;
  exited(): boolean;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const live = new Set<TrackedProcess>();

export function startProcess(
  name: string,
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): TrackedProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  let out = '';
  // Also kept on disk for the suite's secret scan (test/support/secrets.ts), up to a cap.
  const log = createWriteStream(logFile(name));
  let logged = 0;
  const keep = (d: Buffer): void => {
    out += d.toString('utf8');
    if (out.length > 1_000_000) out = out.slice(-500_000);
    if (logged < LOG_CAP_BYTES) {
      log.write(d);
      logged += d.length;
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let done = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      log.end();
      done = true;
      resolve();
    });
  });
  const proc: TrackedProcess = {
    name,
    pid: child.pid,
    child,
    output: () => out,
    exited: () => done,
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
      if (!done) {
        try {
          process.kill(proc.pid, signal);
        } catch {
          /* already gone */
        }
        const timer = new Promise<boolean>((r) => setTimeout(() => r(false), graceMs).unref());
        const ok = await Promise.race([exitPromise.then(() => true), timer]);
        if (!ok) {
          try {
            process.kill(proc.pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
          await exitPromise;
        }
      }
      live.delete(proc);
    },
  };
  live.add(proc);
  void exitPromise.then(() => live.delete(proc));
  return proc;
}

export function liveProcesses(): TrackedProcess[] {
  return [...live].filter((p) => !p.exited());
}

/** Call from afterAll: throws when a test left a process running (and kills it). */
export async function assertNoLeakedProcesses(): Promise<void> {
  const leaked = liveProcesses();
  for (const p of leaked) await p.stop('SIGKILL', 1000);
  if (leaked.length > 0) {
    throw new Error(`leaked processes: ${leaked.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}`);
  }
}

/**
 * Ports handed out by this test process, never twice: processes started together (a stack whose
 * members bind later, concurrently) cannot be given the same port, which the kernel may hand to
 * two successive bind(0) calls once the first is closed.
 */
const handedOut = new Set<number>();

/** A free TCP port on 127.0.0.1, not handed out before by this process. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await pickPort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

function pickPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`,
  );
}
