/** Shared by the bench/query*.ts modules: flags, statistics, formatting, what is running. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PrometheusServer } from '../test/services/prometheus.js';
import type { StrataChild } from './query-procs.js';

export interface BenchFlags {
  readonly quick: boolean;
  readonly cpuProf?: string;
  readonly keep: boolean;
  /** Runs measured per figure (after a warm-up). */
  readonly runs: number;
  /** Blocks of figure 3. */
  readonly blocks: number;
  /** Sequential requests per strategy in figure 4. */
  readonly requests: number;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function fmtMs(ms: number): string {
  return ms >= 10_000
    ? `${(ms / 1000).toFixed(1)} s`
    : ms >= 1000
      ? `${(ms / 1000).toFixed(2)} s`
      : `${ms.toFixed(0)} ms`;
}

export function row(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((c, i) => c.padEnd(widths[i] ?? 0))
    .join('  ')
    .trimEnd();
}

/** Everything started, for the finally block. */
export interface Running {
  readonly children: StrataChild[];
  readonly proms: PrometheusServer[];
}

export async function objstoreConfig(dir: string, bucketDir: string, name: string): Promise<string> {
  const file = join(dir, `${name}.yml`);
  await writeFile(file, `type: FILESYSTEM\nconfig:\n  directory: ${bucketDir}\n`);
  return file;
}
