/**
 * Decoded samples held column-wise in typed arrays. Values are kept as their two 32-bit halves so
 * NaN payloads (the stale marker among them) survive a decode/merge/encode round trip bit for bit.
 */

export class SampleBuf {
  ts: Float64Array;
  hi: Uint32Array;
  lo: Uint32Array;
  len = 0;

  constructor(capacity = 256) {
    this.ts = new Float64Array(capacity);
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
  }

  reset(): void {
    this.len = 0;
  }

  ensure(n: number): void {
    if (n <= this.ts.length) return;
    let cap = this.ts.length * 2;
    while (cap < n) cap *= 2;
    const ts = new Float64Array(cap);
    const hi = new Uint32Array(cap);
    const lo = new Uint32Array(cap);
    ts.set(this.ts.subarray(0, this.len));
    hi.set(this.hi.subarray(0, this.len));
    lo.set(this.lo.subarray(0, this.len));
    this.ts = ts;
    this.hi = hi;
    this.lo = lo;
  }

  push(t: number, hi: number, lo: number): void {
    if (this.len === this.ts.length) this.ensure(this.len + 1);
    const i = this.len++;
    this.ts[i] = t;
    this.hi[i] = hi;
    this.lo[i] = lo;
  }

  /** Appends samples [from, to) of `src`. */
  pushRange(src: SampleBuf, from: number, to: number): void {
    const n = to - from;
    if (n <= 0) return;
    this.ensure(this.len + n);
    this.ts.set(src.ts.subarray(from, to), this.len);
    this.hi.set(src.hi.subarray(from, to), this.len);
    this.lo.set(src.lo.subarray(from, to), this.len);
    this.len += n;
  }
}
