/**
 * What both histogram chunk appenders share: the chunk bytes and header, the layout dictated by
 * the first sample, and Prometheus' rules for whether a sample fits the open chunk
 * (appendable / appendableGauge in tsdb/chunkenc): same schema and zero threshold, no bucket
 * dropped, no count going down; otherwise a new chunk, flagged as a counter reset when counts
 * went down or buckets vanished.
 */
import { InvalidArgumentError } from '../../util/errors.js';
import { isStaleNaN, spanBuckets, type AnyHistogram, type Span } from '../histogram/types.js';
import { HistBitWriter } from './hist-bits.js';
import {
  HEADER_GAUGE,
  HEADER_MASK,
  HIST_HEADER_BYTES,
  sameSpans,
  type CounterResetHeader,
} from './hist-meta.js';
import { bucketCountDropped, expandSpansBothWays, expandSpansForward, type Insert } from './hist-spans.js';

/** Samples per chunk: the sample count is a uint16. */
export const HIST_MAX_SAMPLES = 65535;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Outcome of `appendable` for a counter histogram. */
export interface AppendCheck {
  /** The sample fits (possibly after recoding with the inserts). */
  ok: boolean;
  /** It does not fit because a count went down or a bucket vanished (or the hint says reset). */
  counterReset: boolean;
  positiveInserts: Insert[];
  negativeInserts: Insert[];
}

/** Outcome of `appendableGauge`. */
export interface GaugeCheck {
  ok: boolean;
  positiveInserts: Insert[];
  negativeInserts: Insert[];
  /** Buckets the sample lacks: it is expanded to the union layout (`merged*Spans`). */
  backwardPositive: Insert[];
  backwardNegative: Insert[];
  mergedPositiveSpans: Span[];
  mergedNegativeSpans: Span[];
}

const NONE: Insert[] = [];

export abstract class HistAppenderBase<H extends AnyHistogram> {
  protected readonly w = new HistBitWriter();
  protected n = 0;
  protected flags = 0;
  schema = 0;
  zeroThreshold = 0;
  positiveSpans: Span[] = [];
  negativeSpans: Span[] = [];
  protected t = 0;
  protected tDelta = 0;

  constructor() {
    this.w.reset(HIST_HEADER_BYTES);
  }

  abstract readonly encoding: number;

  /** Empties the chunk; `header` is its counter-reset header. */
  reset(header: CounterResetHeader = 0): void {
    this.w.reset(HIST_HEADER_BYTES);
    this.n = 0;
    this.flags = header & HEADER_MASK;
    this.t = 0;
    this.tDelta = 0;
    this.resetValues();
  }

  get numSamples(): number {
    return this.n;
  }

  get header(): CounterResetHeader {
    return this.flags & HEADER_MASK;
  }

  set header(h: CounterResetHeader) {
    this.flags = (this.flags & ~HEADER_MASK) | (h & HEADER_MASK);
  }

  /** Timestamp of the last sample. */
  get lastT(): number {
    return this.t;
  }

  get byteLength(): number {
    return this.w.byteLength;
  }

  /** The chunk bytes, as Prometheus' Bytes(). A view valid until the next append or reset. */
  bytes(): Uint8Array {
    return this.w.bytes(this.n, this.flags);
  }

  /**
   * Appends with no checks of the layout (Prometheus' appendHistogram): the first sample sets the
   * layout; later ones must have exactly the chunk's layout (see appendable). A stale sample (sum
   * is the stale marker) is written without buckets.
   */
  appendRaw(t: number, h: H): void {
    if (this.n >= HIST_MAX_SAMPLES)
      throw new InvalidArgumentError(`histogram chunk is full: ${HIST_MAX_SAMPLES} samples`);
    if (!Number.isSafeInteger(t))
      throw new InvalidArgumentError(`timestamp ${t} is not an integer within ±(2^53−1)`);
    const stale = isStaleNaN(h.sum);
    if (this.n === 0) {
      this.writeFirst(t, h, stale);
      this.tDelta = 0;
    } else {
      const d = t - this.t;
      if (!(Math.abs(d) <= MAX_SAFE && Math.abs(d - this.tDelta) <= MAX_SAFE)) {
        throw new InvalidArgumentError(`timestamp delta ${t} − ${this.t} exceeds ±(2^53−1)`);
      }
      if (!stale) this.checkBuckets(h);
      this.writeNext(t, d - this.tDelta, h, stale);
      this.tDelta = d;
    }
    this.t = t;
    this.n++;
  }

  private checkBuckets(h: H): void {
    const p = spanBuckets(this.positiveSpans);
    const q = spanBuckets(this.negativeSpans);
    if (h.positiveBuckets.length !== p || h.negativeBuckets.length !== q) {
      throw new InvalidArgumentError(
        `histogram with ${h.positiveBuckets.length}+${h.negativeBuckets.length} buckets appended to a chunk laid out for ${p}+${q}`,
      );
    }
  }

  protected abstract resetValues(): void;
  protected abstract writeFirst(t: number, h: H, stale: boolean): void;
  protected abstract writeNext(t: number, tDod: number, h: H, stale: boolean): void;
  /** Last sample's count, zero count and absolute bucket counts. */
  protected abstract lastCount(): number;
  protected abstract lastZeroCount(): number;
  protected abstract lastSumStale(): boolean;
  protected abstract lastAbsolute(): { positive: Float64Array; negative: Float64Array };
  protected abstract absolute(h: H): { positive: Float64Array; negative: Float64Array };
  /** A bucket count went down, same layout: compared in place (the per-sample common case). */
  protected abstract sameLayoutDropped(h: H): boolean;
  /** Re-encodes the chunk with new spans, inserting empty buckets. */
  abstract recode(
    positive: readonly Insert[],
    negative: readonly Insert[],
    pSpans: Span[],
    nSpans: Span[],
  ): void;
  /** Expands h (in place) to the merged layout with empty buckets. */
  abstract expandSample(
    h: H,
    positive: readonly Insert[],
    negative: readonly Insert[],
    pSpans: Span[],
    nSpans: Span[],
  ): void;

  private readonly check: AppendCheck = {
    ok: false,
    counterReset: false,
    positiveInserts: NONE,
    negativeInserts: NONE,
  };

  /** Whether a counter histogram fits this (non-empty) chunk. The result is reused per call. */
  appendable(h: H): AppendCheck {
    const res = this.check;
    res.ok = false;
    res.counterReset = false;
    res.positiveInserts = NONE;
    res.negativeInserts = NONE;
    if (this.n > 0 && this.header === HEADER_GAUGE) return res;
    if (h.counterResetHint === 1) {
      res.counterReset = true;
      return res;
    }
    if (isStaleNaN(h.sum)) {
      res.ok = true;
      return res;
    }
    if (this.lastSumStale()) return res;
    if (h.count < this.lastCount()) {
      res.counterReset = true;
      return res;
    }
    if (h.schema !== this.schema || h.zeroThreshold !== this.zeroThreshold) return res;
    if (h.zeroCount < this.lastZeroCount()) {
      res.counterReset = true;
      return res;
    }
    const sameP = sameSpans(this.positiveSpans, h.positiveSpans);
    const sameN = sameSpans(this.negativeSpans, h.negativeSpans);
    const pIns = sameP ? NONE : expandSpansForward(this.positiveSpans, h.positiveSpans);
    const nIns = sameN ? NONE : expandSpansForward(this.negativeSpans, h.negativeSpans);
    if (pIns === null || nIns === null) {
      res.counterReset = true;
      return res;
    }
    if (sameP && sameN ? this.sameLayoutDropped(h) : this.bucketDropped(h)) {
      res.counterReset = true;
      return res;
    }
    res.ok = true;
    res.positiveInserts = pIns;
    res.negativeInserts = nIns;
    return res;
  }

  /** A bucket count went down, layouts differing (new covers old): by bucket index. */
  private bucketDropped(h: H): boolean {
    const old = this.lastAbsolute();
    const cur = this.absolute(h);
    return (
      bucketCountDropped(old.positive, this.positiveSpans, cur.positive, h.positiveSpans) ||
      bucketCountDropped(old.negative, this.negativeSpans, cur.negative, h.negativeSpans)
    );
  }

  /** Whether a gauge histogram fits this chunk (any layout of the same schema and threshold). */
  appendableGauge(h: H): GaugeCheck {
    const res: GaugeCheck = {
      ok: false,
      positiveInserts: NONE,
      negativeInserts: NONE,
      backwardPositive: NONE,
      backwardNegative: NONE,
      mergedPositiveSpans: h.positiveSpans,
      mergedNegativeSpans: h.negativeSpans,
    };
    if (this.n > 0 && this.header !== HEADER_GAUGE) return res;
    if (isStaleNaN(h.sum)) {
      res.ok = true;
      return res;
    }
    if (this.lastSumStale()) return res;
    if (h.schema !== this.schema || h.zeroThreshold !== this.zeroThreshold) return res;
    // Always rebuilt, as Prometheus does: the merged spans' form is written if the chunk is recoded.
    const p = expandSpansBothWays(this.positiveSpans, h.positiveSpans);
    const q = expandSpansBothWays(this.negativeSpans, h.negativeSpans);
    res.positiveInserts = p.forward;
    res.backwardPositive = p.backward;
    res.mergedPositiveSpans = p.merged;
    res.negativeInserts = q.forward;
    res.backwardNegative = q.backward;
    res.mergedNegativeSpans = q.merged;
    res.ok = true;
    return res;
  }
}
