/**
 * Running the real `strata compact` (bin/strata.js → dist/) as a child process (call
 * ensureBuilt() from test/support/build.ts first): the usual flags, and reading its logfmt output.
 * Every process goes through test/support/processes.ts (tracked, stopped by PID).
 */
import { join } from 'node:path';
import { startProcess, type TrackedProcess } from '../support/processes.js';
import { REPO, STEP_HOOK_JS } from '../support/build.js';

const BIN = join(REPO, 'bin/strata.js');

export interface CompactFlagsInput {
  /** Inline objstore YAML (--objstore.config). */
  objstore: string;
  dataDir: string;
  /** Anything else, appended as given. */
  extra?: readonly string[];
}

/** The flags every test passes: multi-tenant, no delays, replica label `replica`, no HTTP clash. */
export function compactArgs(o: CompactFlagsInput): string[] {
  return [
    'compact',
    '--objstore.config',
    o.objstore,
    '--data-dir',
    o.dataDir,
    '--tenancy',
    'multi',
    '--consistency-delay',
    '0s',
    '--delete-delay',
    '0s',
    '--deduplication.replica-label',
    'replica',
    '--http-address',
    '127.0.0.1:0',
    ...(o.extra ?? []),
  ];
}

/**
 * `strata planner` with the flags of compactArgs (multi-tenant, no delays, replica label
 * `replica`), no grace period, cleanup after every pass, and listening on the given gRPC port.
 */
export function plannerArgs(o: CompactFlagsInput & { grpcPort: number; httpPort?: number }): string[] {
  const compact = compactArgs({ ...o, extra: [] }).slice(1);
  const http = compact.indexOf('--http-address');
  compact.splice(http, 2);
  return [
    'planner',
    ...compact,
    '--grpc-address',
    `127.0.0.1:${o.grpcPort}`,
    '--http-address',
    `127.0.0.1:${o.httpPort ?? 0}`,
    '--planner.grace-period',
    '0s',
    '--cleanup-interval',
    '0s',
    '--planner.replan-interval',
    '2s',
    ...(o.extra ?? []),
  ];
}

/** `strata worker` against planners at the given gRPC ports. */
export function workerArgs(o: CompactFlagsInput & { plannerPorts: readonly number[]; id: string }): string[] {
  return [
    'worker',
    '--planner.address',
    o.plannerPorts.map((p) => `127.0.0.1:${p}`).join(','),
    '--objstore.config',
    o.objstore,
    '--data-dir',
    o.dataDir,
    '--worker-id',
    o.id,
    '--http-address',
    '127.0.0.1:0',
    '--heartbeat-interval',
    '1s',
    ...(o.extra ?? []),
  ];
}

/** A FILESYSTEM objstore config for `dir`. */
export function filesystemObjstore(dir: string): string {
  return JSON.stringify({ type: 'FILESYSTEM', config: { directory: dir } });
}

export interface StartOptions {
  env?: Readonly<Record<string, string>>;
}

/**
 * `node bin/strata.js ARGS...`, tracked; the caller waits or stops it. STRATA_DEBUG_* variables in
 * `env` load the test step hook (test/support/step-hook.ts) into the process.
 */
export function startStrata(args: readonly string[], o: StartOptions = {}): TrackedProcess {
  const hook = Object.keys(o.env ?? {}).some((k) => k.startsWith('STRATA_DEBUG_'));
  return startProcess('strata', process.execPath, [BIN, ...args], {
    cwd: REPO,
    env: { ...process.env, ...(hook ? { STRATA_TEST_STEP_HOOK: STEP_HOOK_JS } : {}), ...o.env },
  });
}

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr interleaved. */
  output: string;
}

/** Resolves when `p` exits (SIGKILL after timeoutMs). */
export async function waitExit(p: TrackedProcess, timeoutMs = 180_000): Promise<ExitResult> {
  const done = new Promise<ExitResult>((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null): void =>
      resolve({ code, signal, output: p.output() });
    if (p.child.exitCode !== null || p.child.signalCode !== null) {
      finish(p.child.exitCode, p.child.signalCode);
      return;
    }
    p.child.once('close', finish);
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), timeoutMs);
  });
  const first = await Promise.race([done, timeout]);
  clearTimeout(timer);
  if (first === 'timeout') {
    await p.stop('SIGKILL', 1000);
    throw new Error(`strata did not exit within ${timeoutMs} ms:\n${tail(p.output())}`);
  }
  return first;
}

/** Runs `strata ARGS...` to completion. */
export async function runStrata(
  args: readonly string[],
  o: StartOptions & { timeoutMs?: number } = {},
): Promise<ExitResult> {
  return waitExit(startStrata(args, o), o.timeoutMs);
}

/** Runs to completion and throws with the output tail unless it exited 0. */
export async function runStrataOk(
  args: readonly string[],
  o: StartOptions & { timeoutMs?: number } = {},
): Promise<ExitResult> {
  const r = await runStrata(args, o);
  if (r.code !== 0) throw new Error(`strata ${args[0]} exited ${r.code ?? r.signal}:\n${tail(r.output)}`);
  return r;
}

/** The last lines of a process output, for assertion messages. */
export function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** One logfmt line (`ts=... level=info k=v msg="..."`) as fields; undefined for other lines. */
export function parseLogfmt(line: string): Record<string, string> | undefined {
  if (!line.startsWith('ts=')) return undefined;
  const out: Record<string, string> = {};
  const re = /([A-Za-z0-9_.]+)=("(?:[^"\\]|\\.)*"|\S*)/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) {
    const raw = m[2]!;
    out[m[1]!] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
  }
  return out;
}

/** Every logfmt record of an output. */
export function logRecords(output: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const line of output.split('\n')) {
    const r = parseLogfmt(line);
    if (r) out.push(r);
  }
  return out;
}

/** The `--debug.print-summary` JSON lines of an output. */
export function passSummaries(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes('"phase_ms"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
