/**
 * Float histogram chunk decoder (encoding 3), bit-exact with Prometheus' floatHistogramIterator:
 * after the layout, the first sample holds t (varbit int) and raw float64 count, zero count, sum
 * and buckets; later samples a delta-of-delta of t and every float XORed against its previous
 * value. Reuse as HistogramChunkIterator: per-chunk allocation only, `at()` overwritten by next().
 */
import { newFloatHistogram, type FloatHistogram } from '../histogram/types.js';
import { FormatError } from '../../util/errors.js';
import { bitsToFloat } from './float-bits.js';
import { HistBitReader } from './hist-bits.js';
import { HIST_HEADER_BYTES, newLayout, readLayout, sampleHint, type Layout } from './hist-meta.js';
import { XorCells, xorRead } from './hist-xor.js';
import { histChunkHeader } from './histogram-decode.js';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Cells: count, zero count, sum, then the buckets. */
const C_COUNT = 0;
const C_ZERO = 1;
const C_SUM = 2;
const C_BUCKETS = 3;

export class FloatHistogramChunkIterator {
  t = 0;
  private readonly r = new HistBitReader();
  private total = 0;
  private read = 0;
  private hdr = 0;
  private err: FormatError | null = null;
  private readonly layout: Layout = newLayout();
  private tDelta = 0;
  private readonly cells = new XorCells(16);
  private vals = new Float64Array(16);
  private posView = new Float64Array(0);
  private negView = new Float64Array(0);
  private readonly h: FloatHistogram = newFloatHistogram();
  private readonly staleH: FloatHistogram = newFloatHistogram();
  private stale = false;

  reset(bytes: Uint8Array, file = '<chunk>', base = 0): void {
    this.read = 0;
    this.t = 0;
    this.err = null;
    this.total = 0;
    this.stale = false;
    try {
      const { samples, header } = histChunkHeader(bytes, file, base);
      this.total = samples;
      this.hdr = header;
      this.r.reset(bytes, HIST_HEADER_BYTES, file, base);
    } catch (e) {
      this.err = e as FormatError;
    }
  }

  get numSamples(): number {
    return this.total;
  }

  get header(): number {
    return this.hdr;
  }

  next(): boolean {
    if (this.err !== null) {
      const e = this.err;
      this.err = null;
      this.total = this.read;
      throw e;
    }
    if (this.read >= this.total) return false;
    try {
      if (this.read === 0) this.first();
      else this.following();
    } catch (e) {
      this.total = this.read;
      throw e;
    }
    this.read++;
    return true;
  }

  at(): FloatHistogram {
    const c = this.cells;
    if (this.stale) {
      const s = this.staleH;
      s.sum = bitsToFloat(c.hi[C_SUM]!, c.lo[C_SUM]!);
      return s;
    }
    const h = this.h;
    const L = this.layout;
    h.counterResetHint = sampleHint(this.hdr, this.read - 1);
    h.schema = L.schema;
    h.zeroThreshold = L.zeroThreshold;
    h.count = bitsToFloat(c.hi[C_COUNT]!, c.lo[C_COUNT]!);
    h.zeroCount = bitsToFloat(c.hi[C_ZERO]!, c.lo[C_ZERO]!);
    h.sum = bitsToFloat(c.hi[C_SUM]!, c.lo[C_SUM]!);
    h.positiveSpans = L.positiveSpans;
    h.negativeSpans = L.negativeSpans;
    const nb = L.positiveBuckets + L.negativeBuckets;
    const vals = this.vals;
    for (let i = 0; i < nb; i++) vals[i] = bitsToFloat(c.hi[C_BUCKETS + i]!, c.lo[C_BUCKETS + i]!);
    h.positiveBuckets = this.posView;
    h.negativeBuckets = this.negView;
    return h;
  }

  private first(): void {
    const r = this.r;
    const L = this.layout;
    readLayout(r, L);
    const nb = L.positiveBuckets + L.negativeBuckets;
    const c = this.cells;
    c.ensure(C_BUCKETS + nb);
    c.clear(0, C_BUCKETS + nb, 0);
    if (this.vals.length < nb) this.vals = new Float64Array(nb);
    this.posView = this.vals.subarray(0, L.positiveBuckets);
    this.negView = this.vals.subarray(L.positiveBuckets, nb);
    this.t = r.varbitInt('first timestamp');
    this.tDelta = 0;
    for (let i = 0; i < C_BUCKETS + nb; i++) {
      r.read64(64, i < C_BUCKETS ? 'count, zero count or sum' : 'bucket');
      c.hi[i] = r.hi;
      c.lo[i] = r.lo;
    }
    this.stale = c.hi[C_SUM] === 0x7ff00000 && c.lo[C_SUM] === 2;
  }

  private following(): void {
    const r = this.r;
    const at = r.pos;
    r.sample = this.read + 1;
    r.total = this.total;
    this.tDelta += r.varbitInt('timestamp');
    this.t += this.tDelta;
    if (!(Math.abs(this.t) <= MAX_SAFE && Math.abs(this.tDelta) <= MAX_SAFE)) {
      throw r.corrupt('timestamp outside ±(2^53−1)', at);
    }
    const c = this.cells;
    xorRead(r, c, C_COUNT, 'count');
    xorRead(r, c, C_ZERO, 'zero count');
    xorRead(r, c, C_SUM, 'sum');
    this.stale = c.hi[C_SUM] === 0x7ff00000 && c.lo[C_SUM] === 2;
    if (this.stale) return;
    const end = C_BUCKETS + this.layout.positiveBuckets + this.layout.negativeBuckets;
    for (let i = C_BUCKETS; i < end; i++) xorRead(r, c, i, 'bucket');
  }
}
