/**
 * Counter resets applied across a sequence of counter samples, as Thanos'
 * ApplyCounterResetsSeriesIterator does it: the output is a running total that only grows by the
 * positive deltas (a decrease is a reset: the new value is added). NaNs are skipped. A sample
 * whose timestamp equals the previous one is the "last raw value" point of an aggregated counter
 * sub-chunk: it emits nothing but becomes the value the next chunk's first sample is compared
 * with, which is how a reset between two chunks is seen. Older samples are skipped.
 *
 * Feed every counter sub-chunk of a series in order, raw chunks or aggregated ones; read `t` and
 * `total` after each `push` that returned true.
 */
export class CounterResets {
  /** Timestamp and running total of the last emitted sample. */
  t = 0;
  total = 0;
  /** The last raw value seen (the special last point included). */
  lastV = 0;
  private n = 0;

  reset(): void {
    this.t = 0;
    this.total = 0;
    this.lastV = 0;
    this.n = 0;
  }

  /** Number of samples emitted so far. */
  get emitted(): number {
    return this.n;
  }

  /** Feeds one sample; true when it yields an output sample (t, total). */
  push(t: number, v: number): boolean {
    if (v !== v) return false;
    if (this.n === 0) {
      this.n = 1;
      this.t = t;
      this.lastV = v;
      this.total = v;
      return true;
    }
    if (t > this.t) {
      this.total += v >= this.lastV ? v - this.lastV : v;
      this.t = t;
      this.lastV = v;
      this.n++;
      return true;
    }
    if (t === this.t) this.lastV = v;
    return false;
  }
}
