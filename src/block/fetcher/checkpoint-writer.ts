/**
 * When to write the checkpoint: after every `everyReads` completed reads or `everyMs`, whichever
 * comes first, plus on demand (end of a sync, shutdown). One write at a time; a request during a
 * write is coalesced into one more write after it, so the file on disk is never older than the
 * last request. Write failures are logged and counted, never thrown into the sync.
 */
import { errorMessage } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import { writeCheckpointFile, type Checkpoint } from './checkpoint.js';

export interface CheckpointWriterOptions {
  readonly path: string;
  readonly everyReads: number;
  /**
   * Blocks the checkpoint holds: every write costs that much, so writes come no more often than
   * every tenth of it in reads (reads since the last write are in the meta journal meanwhile).
   */
  readonly size?: () => number;
  readonly everyMs: number;
  /** Monotonic milliseconds. */
  readonly now: () => number;
  readonly logger: Logger;
  readonly onWritten?: (bytes: number, ms: number) => void;
  readonly onFailed?: () => void;
  /**
   * Called synchronously with each snapshot; the returned write runs before the checkpoint is
   * written (the metas file, so a checkpoint never names blocks that file could have had first).
   */
  readonly companion?: () => () => Promise<void>;
}

export class CheckpointWriter {
  readonly #opts: CheckpointWriterOptions;
  readonly #snapshot: () => Checkpoint;
  #readsSince = 0;
  #lastAt: number;
  #running: Promise<void> | undefined;
  #again = false;
  #writes = 0;
  #failed = false;

  constructor(snapshot: () => Checkpoint, options: CheckpointWriterOptions) {
    this.#snapshot = snapshot;
    this.#opts = options;
    this.#lastAt = options.now();
  }

  /** Completed writes so far. */
  get writes(): number {
    return this.#writes;
  }

  /** Counts one completed read and writes when a threshold is crossed. */
  noteRead(): void {
    this.#readsSince++;
    this.maybeWrite();
  }

  maybeWrite(): void {
    if (
      this.#readsSince >= Math.max(this.#opts.everyReads, Math.floor((this.#opts.size?.() ?? 0) / 10)) ||
      (this.#readsSince > 0 && this.#opts.now() - this.#lastAt >= this.#opts.everyMs)
    ) {
      this.request();
    }
  }

  /** Asks for a write; returns once a write that started after this call has finished. */
  request(): Promise<void> {
    this.#readsSince = 0;
    this.#lastAt = this.#opts.now();
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#loop();
    return this.#running;
  }

  /** The last write failed (what is on disk is older than the last snapshot). */
  get failed(): boolean {
    return this.#failed;
  }

  /** Waits for any write in progress. */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async #loop(): Promise<void> {
    try {
      do {
        this.#again = false;
        // The snapshot is taken synchronously, so it is one consistent state of the fetcher.
        const cp = this.#snapshot();
        const before = this.#opts.companion?.();
        const t0 = this.#opts.now();
        try {
          await before?.();
          const bytes = await writeCheckpointFile(this.#opts.path, cp);
          this.#writes++;
          this.#failed = false;
          this.#opts.onWritten?.(bytes, this.#opts.now() - t0);
        } catch (err) {
          this.#failed = true;
          this.#opts.onFailed?.();
          this.#opts.logger.warn('writing the fetcher checkpoint failed', {
            path: this.#opts.path,
            err: errorMessage(err),
          });
        }
      } while (this.#again);
    } finally {
      this.#running = undefined;
    }
  }
}
