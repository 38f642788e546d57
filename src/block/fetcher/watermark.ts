/**
 * The checkpoint of one tenant's listing: the highest block ID such that every ID listed up to it
 * has been handled. Reads finish out of order; the watermark only moves over a prefix of the
 * listed IDs that is entirely done, so it never passes an ID whose read is pending (or failed:
 * a failed ID holds it until a later sync handles that ID).
 */
import { InvalidArgumentError } from '../../util/errors.js';

export class Watermark {
  /** IDs added and not yet passed, in listing order; `#head` is the first one not done. */
  #ids: string[] = [];
  #done: boolean[] = [];
  #head = 0;
  #index = new Map<string, number>();
  #value: string | undefined;
  #last: string | undefined;

  /** `start`: the value restored from a checkpoint (every ID up to it already handled). */
  constructor(start?: string) {
    this.#value = start;
    this.#last = start;
  }

  /** The highest ID with nothing pending at or below it, or the start value. */
  get value(): string | undefined {
    return this.#value;
  }

  /** IDs added and not yet passed by the watermark (pending, failed, or done behind one). */
  get backlog(): number {
    return this.#ids.length - this.#head;
  }

  /** Registers a listed ID. IDs must come in strictly ascending order (listing order). */
  add(id: string): void {
    if (this.#last !== undefined && id <= this.#last) {
      throw new InvalidArgumentError(`watermark: ${id} added after ${this.#last}`);
    }
    this.#last = id;
    this.#index.set(id, this.#ids.length);
    this.#ids.push(id);
    this.#done.push(false);
  }

  /** Marks an added ID handled and advances over every handled ID at the front. */
  complete(id: string): void {
    const i = this.#index.get(id);
    if (i === undefined) throw new InvalidArgumentError(`watermark: ${id} was never added`);
    this.#done[i] = true;
    this.#index.delete(id);
    while (this.#head < this.#ids.length && this.#done[this.#head]) {
      this.#value = this.#ids[this.#head];
      this.#head++;
    }
    // Drop the passed prefix now and then so a long listing does not keep every ID alive.
    if (this.#head > 1024 && this.#head * 2 > this.#ids.length) {
      this.#ids = this.#ids.slice(this.#head);
      this.#done = this.#done.slice(this.#head);
      for (const [k, v] of this.#index) this.#index.set(k, v - this.#head);
      this.#head = 0;
    }
  }

  /** Whether `id` was added and is still pending (not completed). */
  isPending(id: string): boolean {
    return this.#index.has(id);
  }
}
