/** Making files and directories durable: fsync of a directory, and write-back started early. */
import { open, type FileHandle } from 'node:fs/promises';

/** fsyncs a directory (after creating, renaming or removing entries in it). */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Starts an fdatasync of a file being written each time `every` more bytes have reached it, at
 * most one at a time and without anyone waiting for it, so the page cache writes back while the
 * writer still computes and the fsync at the end finds little left to do (that wait was ~10% of a
 * small compaction). A failed sync is kept and thrown by settle().
 */
export class EarlyWriteback {
  private pending = 0;
  private inFlight: Promise<void> | undefined;
  private error: unknown = undefined;

  constructor(
    private readonly fh: FileHandle,
    private readonly every: number,
  ) {}

  /** `n` more bytes have been written to the file. */
  written(n: number): void {
    this.pending += n;
    if (this.pending < this.every || this.inFlight !== undefined) return;
    this.pending = 0;
    this.inFlight = this.fh.datasync().then(
      () => {
        this.inFlight = undefined;
      },
      (err: unknown) => {
        this.error ??= err;
        this.inFlight = undefined;
      },
    );
  }

  /** Waits for the sync in flight, if any; throws the first failed sync's error. */
  async settle(): Promise<void> {
    if (this.inFlight !== undefined) await this.inFlight;
    if (this.error !== undefined) throw this.error;
  }
}
