/**
 * An unbounded push → async-iterable queue: the bridge between event-driven code (timers,
 * message handlers) and the pull-based streams of a gRPC call. One consumer.
 */
export class Channel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter: (() => void) | undefined;
  private closed = false;
  private error: unknown;
  private failed = false;

  /** False once closed or failed: the value was dropped. */
  push(value: T): boolean {
    if (this.closed) return false;
    this.items.push(value);
    this.wake();
    return true;
  }

  /** Ends the iteration after the queued items. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wake();
  }

  /** Ends the iteration with `err` after the queued items. */
  fail(err: unknown): void {
    if (this.closed) return;
    this.failed = true;
    this.error = err;
    this.close();
  }

  /** Whether `value` was the last one pushed and is still queued (not yet taken). */
  holdsLast(value: T): boolean {
    return this.items.length > 0 && this.items[this.items.length - 1] === value;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.items.length > 0) {
        yield this.items.shift()!;
        continue;
      }
      if (this.closed) {
        if (this.failed) throw this.error;
        return;
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }
}
