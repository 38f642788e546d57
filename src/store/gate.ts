/**
 * A concurrency gate (Thanos' gate): at most `max` holders; the rest wait in arrival order until
 * a slot frees up or their signal aborts. max 0 means no limit.
 */
export class Gate {
  private active = 0;
  private readonly waiting: { resolve: () => void; reject: (err: unknown) => void }[] = [];

  constructor(readonly max: number) {}

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async acquire(signal?: AbortSignal): Promise<void> {
    if (this.max <= 0 || this.active < this.max) {
      this.active++;
      return;
    }
    signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const w = {
        resolve: (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      const onAbort = (): void => {
        const i = this.waiting.indexOf(w);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(w);
    });
  }

  /** Hands the slot to the next waiter, if any. */
  release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next.resolve();
    else this.active--;
  }
}
