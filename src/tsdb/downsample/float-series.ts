/**
 * One series' float samples held as a timestamp column and a float64 value column, the value
 * column aliased as uint32 halves so XOR-decoded (hi, lo) pairs are stored without a conversion
 * call per sample. Reused across series: grows to the longest series, never shrinks.
 */
import type { SampleBuf } from '../samples/sample-buf.js';

/** Index of the high (sign/exponent) word of a float64 in a Uint32Array view (platform order). */
const HI = new Uint32Array(new Float64Array([1]).buffer)[1] === 0x3ff00000 ? 1 : 0;
const LO = 1 - HI;
const STALE_HI = 0x7ff00000;
const STALE_LO = 0x00000002;

export class FloatSeries {
  ts: Float64Array;
  vs: Float64Array;
  private bits: Uint32Array;
  len = 0;

  constructor(capacity = 1024) {
    this.ts = new Float64Array(capacity);
    this.vs = new Float64Array(capacity);
    this.bits = new Uint32Array(this.vs.buffer);
  }

  reset(): void {
    this.len = 0;
  }

  ensure(n: number): void {
    if (n <= this.ts.length) return;
    let cap = this.ts.length * 2;
    while (cap < n) cap *= 2;
    const ts = new Float64Array(cap);
    const vs = new Float64Array(cap);
    ts.set(this.ts.subarray(0, this.len));
    vs.set(this.vs.subarray(0, this.len));
    this.ts = ts;
    this.vs = vs;
    this.bits = new Uint32Array(vs.buffer);
  }

  push(t: number, v: number): void {
    if (this.len === this.ts.length) this.ensure(this.len + 1);
    this.ts[this.len] = t;
    this.vs[this.len++] = v;
  }

  /**
   * Appends the samples of one decoded chunk the way Thanos' expandXorChunkIterator does: stale
   * markers (exact bit pattern) are dropped, and so is every sample older than the last one kept
   * from this chunk (starting from 0, so negative timestamps are dropped too). Other NaNs stay.
   */
  appendExpanded(src: SampleBuf): void {
    const n = src.len;
    this.ensure(this.len + n);
    const sts = src.ts;
    const shi = src.hi;
    const slo = src.lo;
    const ts = this.ts;
    const bits = this.bits;
    let k = this.len;
    let lastT = 0;
    for (let i = 0; i < n; i++) {
      const hi = shi[i]!;
      const lo = slo[i]!;
      if (hi === STALE_HI && lo === STALE_LO) continue;
      const t = sts[i]!;
      if (t < lastT) continue;
      lastT = t;
      ts[k] = t;
      bits[2 * k + HI] = hi;
      bits[2 * k + LO] = lo;
      k++;
    }
    this.len = k;
  }
}
