/**
 * Integer histogram chunk decoder (encoding 2), bit-exact with Prometheus' histogramIterator.
 * One iterator is reused across chunks: it allocates per chunk (the layout), not per sample; the
 * histogram from `at()` is overwritten by the next `next()` (cloneHistogram to keep it).
 * Corruption is thrown by the `next()` that reaches it, after the good samples before it.
 */
import { HINT_UNKNOWN, newHistogram, type Histogram } from '../histogram/types.js';
import { FormatError } from '../../util/errors.js';
import { bitsToFloat } from './float-bits.js';
import { HistBitReader } from './hist-bits.js';
import {
  HIST_HEADER_BYTES,
  HEADER_MASK,
  newLayout,
  readLayout,
  sampleHint,
  type Layout,
} from './hist-meta.js';
import { XorCells, xorRead } from './hist-xor.js';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Sample count and header of a histogram chunk (either encoding). */
export function histChunkHeader(
  bytes: Uint8Array,
  file = '<chunk>',
  base = 0,
): { samples: number; header: number } {
  if (bytes.length < HIST_HEADER_BYTES) {
    throw new FormatError('ERR_TSDB_TRUNCATED', file, base, 'histogram chunk shorter than its 3-byte header');
  }
  return { samples: (bytes[0]! << 8) | bytes[1]!, header: bytes[2]! & HEADER_MASK };
}

export class HistogramChunkIterator {
  /** Timestamp of the current sample. */
  t = 0;
  private readonly r = new HistBitReader();
  private total = 0;
  private read = 0;
  private hdr = 0;
  private err: FormatError | null = null;
  private readonly layout: Layout = newLayout();
  private tDelta = 0;
  private cnt = 0;
  private zCnt = 0;
  private cntDelta = 0;
  private zCntDelta = 0;
  private readonly sum = new XorCells(1);
  private vals = new Float64Array(16);
  private deltas = new Float64Array(16);
  private posView = new Float64Array(0);
  private negView = new Float64Array(0);
  private readonly h: Histogram = newHistogram();
  private readonly staleH: Histogram = newHistogram();
  private stale = false;

  /** Starts on `bytes` (a whole chunk); `base` is the file offset of bytes[0], for errors. */
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

  /** The chunk's counter-reset header (HEADER_* value). */
  get header(): number {
    return this.hdr;
  }

  /** Advances; false at the end. Throws the FormatError of a corrupt chunk once reached. */
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

  /** The current sample (reused object). A stale sample has only `sum` set (the stale marker). */
  at(): Histogram {
    if (this.stale) {
      const s = this.staleH;
      s.sum = bitsToFloat(this.sum.hi[0]!, this.sum.lo[0]!);
      return s;
    }
    const h = this.h;
    const L = this.layout;
    h.counterResetHint = sampleHint(this.hdr, this.read - 1);
    h.schema = L.schema;
    h.zeroThreshold = L.zeroThreshold;
    h.count = this.cnt;
    h.zeroCount = this.zCnt;
    h.sum = bitsToFloat(this.sum.hi[0]!, this.sum.lo[0]!);
    h.positiveSpans = L.positiveSpans;
    h.negativeSpans = L.negativeSpans;
    h.positiveBuckets = this.posView;
    h.negativeBuckets = this.negView;
    return h;
  }

  private first(): void {
    const r = this.r;
    const L = this.layout;
    readLayout(r, L);
    const nb = L.positiveBuckets + L.negativeBuckets;
    if (this.vals.length < nb) {
      this.vals = new Float64Array(nb);
      this.deltas = new Float64Array(nb);
    }
    this.deltas.fill(0, 0, nb);
    this.posView = this.vals.subarray(0, L.positiveBuckets);
    this.negView = this.vals.subarray(L.positiveBuckets, nb);
    this.t = r.varbitInt('first timestamp');
    this.cnt = r.varbitUint('count');
    this.zCnt = r.varbitUint('zero count');
    this.tDelta = this.cntDelta = this.zCntDelta = 0;
    r.read64(64, 'sum');
    this.sum.hi[0] = r.hi;
    this.sum.lo[0] = r.lo;
    this.sum.lead[0] = 0;
    this.sum.trail[0] = 0;
    const vals = this.vals;
    for (let i = 0; i < nb; i++) vals[i] = r.varbitInt('bucket');
    this.stale = isStale(this.sum);
    this.h.counterResetHint = HINT_UNKNOWN;
  }

  private following(): void {
    const r = this.r;
    const at = r.pos;
    r.sample = this.read + 1;
    r.total = this.total;
    this.tDelta += r.varbitInt('timestamp');
    this.t += this.tDelta;
    this.cntDelta += r.varbitInt('count');
    this.cnt += this.cntDelta;
    this.zCntDelta += r.varbitInt('zero count');
    this.zCnt += this.zCntDelta;
    if (!(Math.abs(this.t) <= MAX_SAFE && Math.abs(this.tDelta) <= MAX_SAFE)) {
      throw r.corrupt('timestamp outside ±(2^53−1)', at);
    }
    xorRead(r, this.sum, 0, 'sum');
    this.stale = isStale(this.sum);
    if (this.stale) return;
    // Counts are uint64: a negative value here would be 2^63 or more.
    if (!(this.cnt >= 0 && this.cnt <= MAX_SAFE && this.zCnt >= 0 && this.zCnt <= MAX_SAFE)) {
      throw r.corrupt('count or zero count outside 0..2^53−1', at);
    }
    const nb = this.layout.positiveBuckets + this.layout.negativeBuckets;
    const vals = this.vals;
    const deltas = this.deltas;
    let ok = true;
    for (let i = 0; i < nb; i++) {
      const d = r.skipZeroBit() ? deltas[i]! : deltas[i]! + r.varbitInt('bucket');
      const v = vals[i]! + d;
      deltas[i] = d;
      vals[i] = v;
      ok = ok && Math.abs(v) <= MAX_SAFE && Math.abs(d) <= MAX_SAFE;
    }
    if (!ok) throw r.corrupt('bucket value outside ±(2^53−1)', at);
  }
}

function isStale(c: XorCells): boolean {
  return c.hi[0] === 0x7ff00000 && c.lo[0] === 2;
}
