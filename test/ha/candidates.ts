/**
 * Candidates in child processes (test/ha/candidate.ts run by vite-node, which ships with vitest
 * and runs TypeScript directly: no build step, and the PID is the candidate's own node process),
 * and checks over the events they print.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess, type TrackedProcess } from '../support/processes.js';
import type { CandidateConfig } from './candidate.js';

const here = dirname(fileURLToPath(import.meta.url));
const VITE_NODE = join(
  dirname(createRequire(import.meta.url).resolve('vite-node/package.json')),
  'vite-node.mjs',
);

export interface CandidateEvent {
  ev: 'ready' | 'elected' | 'lost' | 'act' | 'error' | 'closed';
  id: string;
  at: number;
  epoch?: number;
  reason?: string;
  message?: string;
}

export interface ChildCandidate {
  readonly id: string;
  readonly proc: TrackedProcess;
  readonly events: CandidateEvent[];
  /** Resolves with the first event (from now on, or already seen if `seen` allows) matching `pred`. */
  next(pred: (e: CandidateEvent) => boolean, timeoutMs: number, from?: number): Promise<CandidateEvent>;
  signal(sig: NodeJS.Signals): void;
  stop(): Promise<void>;
}

export function startCandidate(cfg: CandidateConfig): ChildCandidate {
  const proc = startProcess(`candidate-${cfg.id}`, process.execPath, [
    VITE_NODE,
    join(here, 'candidate.ts'),
    JSON.stringify(cfg),
  ]);
  const events: CandidateEvent[] = [];
  const waiters = new Set<() => void>();
  let buf = '';
  proc.child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.startsWith('{')) events.push(JSON.parse(line) as CandidateEvent);
    }
    for (const w of [...waiters]) w();
  });
  return {
    id: cfg.id,
    proc,
    events,
    next(pred, timeoutMs, from = 0): Promise<CandidateEvent> {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const hit = events.slice(from).find(pred);
          if (hit === undefined) return false;
          cleanup();
          resolve(hit);
          return true;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `candidate ${cfg.id}: no matching event in ${timeoutMs} ms; events: ` +
                JSON.stringify(events.filter((e) => e.ev !== 'act').slice(-20)) +
                `\noutput:\n${proc.output().slice(-4000)}`,
            ),
          );
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(onData);
        };
        const onData = (): void => {
          check();
        };
        if (!check()) waiters.add(onData);
      });
    },
    signal(sig): void {
      process.kill(proc.pid, sig);
    },
    async stop(): Promise<void> {
      await proc.stop('SIGTERM', 10_000);
    },
  };
}

export interface ActInterval {
  id: string;
  epoch: number;
  first: number;
  last: number;
}

/** Per (candidate, epoch): the first and last time it acted as leader. */
export function actIntervals(candidates: readonly ChildCandidate[]): ActInterval[] {
  const map = new Map<string, ActInterval>();
  for (const c of candidates) {
    for (const e of c.events) {
      if (e.ev !== 'act' || e.epoch === undefined) continue;
      const k = `${c.id}/${e.epoch}`;
      const cur = map.get(k);
      if (cur === undefined) map.set(k, { id: c.id, epoch: e.epoch, first: e.at, last: e.at });
      else {
        cur.first = Math.min(cur.first, e.at);
        cur.last = Math.max(cur.last, e.at);
      }
    }
  }
  return [...map.values()].sort((a, b) => a.first - b.first);
}

/**
 * Throws unless acting intervals never overlap, no epoch is held by two candidates, and epochs
 * strictly increase with time.
 */
export function assertNoOverlap(intervals: readonly ActInterval[]): void {
  const byEpoch = new Map<number, string>();
  for (const iv of intervals) {
    const other = byEpoch.get(iv.epoch);
    if (other !== undefined && other !== iv.id) {
      throw new Error(`epoch ${iv.epoch} held by ${other} and ${iv.id}`);
    }
    byEpoch.set(iv.epoch, iv.id);
  }
  for (let i = 1; i < intervals.length; i++) {
    const a = intervals[i - 1]!;
    const b = intervals[i]!;
    if (b.first <= a.last) {
      throw new Error(`two leaders at once: ${JSON.stringify(a)} overlaps ${JSON.stringify(b)}`);
    }
    if (b.epoch <= a.epoch)
      throw new Error(`epoch did not increase: ${JSON.stringify(a)} then ${JSON.stringify(b)}`);
  }
}
