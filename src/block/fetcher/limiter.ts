/**
 * A counting semaphore shared by every tenant of a sync, so the number of meta.json (and marker)
 * reads in flight stays at `limit` however many tenants are listed at once. `acquire` is also the
 * backpressure point: a listing waits here instead of queueing a million reads.
 */
import { InvalidArgumentError } from '../../util/errors.js';

export class Limiter {
  readonly limit: number;
  #active = 0;
  #waiting: (() => void)[] = [];
  #waitHead = 0;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new InvalidArgumentError(`concurrency must be a positive integer, got ${limit}`);
    }
    this.limit = limit;
  }

  get active(): number {
    return this.#active;
  }

  acquire(): Promise<void> {
    if (this.#active < this.limit) {
      this.#active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    if (this.#waitHead < this.#waiting.length) {
      const next = this.#waiting[this.#waitHead]!;
      this.#waiting[this.#waitHead++] = noop;
      if (this.#waitHead > 1024 && this.#waitHead * 2 > this.#waiting.length) {
        this.#waiting = this.#waiting.slice(this.#waitHead);
        this.#waitHead = 0;
      }
      next(); // the slot passes straight to the next waiter
      return;
    }
    this.#active--;
  }

  /** Runs `fn` in a slot. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}

function noop(): void {}
