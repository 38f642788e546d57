/**
 * When the cleaner sweeps a filesystem bucket for temporary files of killed writers. The sweep
 * walks every folder of the bucket (it costs what exists, ~0.3 ms a block folder), while what it
 * removes must only be older than the partial-block delay: sweeping every `intervalMs` (a
 * quarter of that delay) removes a leftover at most a quarter-delay late. The time of the last
 * sweep is the mtime of a file in the data dir, so a restarted process does not sweep again.
 */
import { stat, utimes, writeFile } from 'node:fs/promises';
import type { TemporarySweep } from './cleanup.js';

export class SweepSchedule implements TemporarySweep {
  private lastMs: number | undefined;

  constructor(
    private readonly stampPath: string,
    private readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  async due(): Promise<boolean> {
    if (this.intervalMs <= 0) return true;
    if (this.lastMs === undefined) {
      try {
        this.lastMs = (await stat(this.stampPath)).mtimeMs;
      } catch {
        return true; // never swept from this data dir (or unreadable): sweep now
      }
    }
    const age = this.now() - this.lastMs;
    // A clock set back makes the age negative: sweep rather than wait for the clock to catch up.
    return age < 0 || age >= this.intervalMs;
  }

  async done(): Promise<void> {
    const t = this.now();
    this.lastMs = t;
    try {
      await utimes(this.stampPath, t / 1000, t / 1000);
    } catch {
      // Missing (first sweep) or unwritable: the next process sweeps once more, nothing worse.
      await writeFile(this.stampPath, '').catch(() => undefined);
      await utimes(this.stampPath, t / 1000, t / 1000).catch(() => undefined);
    }
  }
}
