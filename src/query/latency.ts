/** The last N round-trip times of one endpoint and their quantiles (a moving p50/p99). */
export class LatencyWindow {
  private readonly ring: number[] = [];
  private next = 0;

  constructor(private readonly size = 100) {}

  add(ms: number): void {
    if (this.ring.length < this.size) this.ring.push(ms);
    else this.ring[this.next] = ms;
    this.next = (this.next + 1) % this.size;
  }

  /** The newest round trip. */
  get last(): number | undefined {
    return this.ring.length === 0 ? undefined : this.ring[(this.next - 1 + this.size) % this.size];
  }

  get count(): number {
    return this.ring.length;
  }

  /** The q-quantile (nearest rank) of the window; undefined while it is empty. */
  quantile(q: number): number | undefined {
    if (this.ring.length === 0) return undefined;
    const sorted = [...this.ring].sort((a, b) => a - b);
    const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
    return sorted[rank - 1];
  }
}
