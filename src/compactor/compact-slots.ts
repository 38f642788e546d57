/**
 * The compaction slots of `strata compact`: `--compact.concurrency` compactions at once, while
 * up to `--compact.plans-ahead` more plans download their sources or upload and mark their
 * outputs (I/O that needs no compaction thread), so a thread is not idle through its plan's
 * transfers. Counts the compactions running for /api/v1/status and /metrics.
 */
import { Limiter } from '../block/fetcher/limiter.js';
import type { CompactorMetrics } from './metrics.js';

export class CompactSlots {
  readonly #limiter: Limiter;
  readonly #metrics: Pick<CompactorMetrics, 'runningCompactions' | 'peakRunningCompactions'>;
  #running = 0;
  #peak = 0;

  constructor(
    limit: number,
    metrics: Pick<CompactorMetrics, 'runningCompactions' | 'peakRunningCompactions'>,
  ) {
    this.#limiter = new Limiter(limit);
    this.#metrics = metrics;
  }

  get running(): number {
    return this.#running;
  }

  /** Most compactions that ran at once. */
  get peak(): number {
    return this.#peak;
  }

  /** Runs `work` (a plan's compact phase) once a slot is free. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    return this.#limiter.run(async () => {
      this.#running++;
      this.#peak = Math.max(this.#peak, this.#running);
      this.#metrics.runningCompactions.set(this.#running);
      this.#metrics.peakRunningCompactions.set(this.#peak);
      try {
        return await work();
      } finally {
        this.#running--;
        this.#metrics.runningCompactions.set(this.#running);
      }
    });
  }
}
