/**
 * Encodes a histogram series into chunks the way Prometheus' AppendHistogram /
 * AppendFloatHistogram drive their appenders: a new chunk when the sample does not fit (schema or
 * zero threshold changed, a bucket vanished, a count went down, explicit reset hint, a gauge
 * sample into a counter chunk or back), recoding the open chunk when the sample only adds
 * buckets, gauge samples expanded to the union layout; plus the cut policy (hist-cut.ts).
 */
import { InvalidArgumentError } from '../../util/errors.js';
import {
  cloneHistogram,
  type AnyHistogram,
  type FloatHistogram,
  type Histogram,
} from '../histogram/types.js';
import type { EncodedChunk } from './encode.js';
import { FloatHistogramAppender } from './float-histogram-encode.js';
import type { HistAppenderBase } from './hist-append.js';
import { SplitEvery, type HistCutPolicy } from './hist-cut.js';
import { HEADER_COUNTER_RESET, HEADER_GAUGE, HEADER_NOT_COUNTER_RESET, HEADER_UNKNOWN } from './hist-meta.js';
import { HistogramAppender } from './histogram-encode.js';

/** What one `append` did to the open chunk (for callers that count, e.g. metrics). */
export type AppendOutcome = 'appended' | 'recoded' | 'new-chunk' | 'cut';

export class HistogramSeriesEncoder<H extends AnyHistogram> {
  private app: HistAppenderBase<H>;
  /** The previous chunk's appender (its state at its last sample), for HeadCutPolicy headers. */
  private prev: HistAppenderBase<H>;
  private mint = 0;
  private readonly out: EncodedChunk[] = [];

  constructor(
    make: () => HistAppenderBase<H>,
    private readonly policy: HistCutPolicy = new SplitEvery(),
  ) {
    this.app = make();
    this.prev = make();
  }

  /** Appends one sample; timestamps must increase (the caller merges and drops duplicates). */
  append(t: number, h: H): AppendOutcome {
    let app = this.app;
    if (app.numSamples > 0 && !(t > app.lastT)) {
      throw new InvalidArgumentError(
        `histogram sample at ${t} does not follow the previous one at ${app.lastT}`,
      );
    }
    let outcome: AppendOutcome = 'appended';
    let prev: HistAppenderBase<H> | null = null;
    if (app.numSamples > 0 && this.policy.cutBefore(t, app.numSamples, app.byteLength)) {
      this.close();
      app = this.swap();
      prev = this.policy.carryPrev ? this.prev : null;
      outcome = 'cut';
    }
    if (app.numSamples === 0) {
      app.reset(HEADER_UNKNOWN);
      app.appendRaw(t, h);
      if (h.counterResetHint === 3) app.header = HEADER_GAUGE;
      else if (h.counterResetHint === 1) app.header = HEADER_COUNTER_RESET;
      else if (prev !== null)
        app.header = prev.appendable(h).counterReset ? HEADER_COUNTER_RESET : HEADER_NOT_COUNTER_RESET;
      this.mint = t;
      this.policy.started(t, false);
      return outcome;
    }
    if (h.counterResetHint !== 3) {
      const c = app.appendable(h);
      if (!c.ok || c.counterReset) {
        this.newChunk(t, h, c.counterReset ? HEADER_COUNTER_RESET : HEADER_UNKNOWN);
        return 'new-chunk';
      }
      if (c.positiveInserts.length > 0 || c.negativeInserts.length > 0) {
        app.recode(c.positiveInserts, c.negativeInserts, h.positiveSpans, h.negativeSpans);
        outcome = 'recoded';
      }
      app.appendRaw(t, h);
      this.policy.appended(t);
      return outcome;
    }
    const g = app.appendableGauge(h);
    if (!g.ok) {
      this.newChunk(t, h, HEADER_GAUGE);
      return 'new-chunk';
    }
    let s = h;
    if (g.backwardPositive.length + g.backwardNegative.length > 0) {
      s = cloneHistogram(h);
      app.expandSample(
        s,
        g.backwardPositive,
        g.backwardNegative,
        g.mergedPositiveSpans,
        g.mergedNegativeSpans,
      );
    }
    if (g.positiveInserts.length > 0 || g.negativeInserts.length > 0) {
      app.recode(g.positiveInserts, g.negativeInserts, s.positiveSpans, s.negativeSpans);
      outcome = 'recoded';
    }
    app.appendRaw(t, s);
    this.policy.appended(t);
    return outcome;
  }

  /** The chunks so far, the open one included (each a copy); the encoder starts over. */
  finish(): EncodedChunk[] {
    if (this.app.numSamples > 0) this.close();
    this.app.reset();
    const out = this.out.splice(0);
    return out;
  }

  private newChunk(t: number, h: H, header: number): void {
    this.close();
    const app = this.swap();
    app.reset(header);
    app.appendRaw(t, h);
    this.mint = t;
    this.policy.started(t, true);
  }

  private close(): void {
    const a = this.app;
    this.out.push({
      mint: this.mint,
      maxt: a.lastT,
      encoding: a.encoding,
      data: a.bytes().slice(),
      numSamples: a.numSamples,
    });
  }

  /** Makes the open appender the previous one and returns an empty one. */
  private swap(): HistAppenderBase<H> {
    const p = this.app;
    this.app = this.prev;
    this.prev = p;
    this.app.reset();
    return this.app;
  }
}

/** Encodes integer histogram samples (ts[i], hs[i]) into chunks (compaction policy by default). */
export function encodeHistogramChunks(
  ts: ArrayLike<number>,
  hs: readonly Histogram[],
  policy?: HistCutPolicy,
): EncodedChunk[] {
  const enc = new HistogramSeriesEncoder<Histogram>(() => new HistogramAppender(), policy);
  for (let i = 0; i < hs.length; i++) enc.append(ts[i]!, hs[i]!);
  return enc.finish();
}

export function encodeFloatHistogramChunks(
  ts: ArrayLike<number>,
  hs: readonly FloatHistogram[],
  policy?: HistCutPolicy,
): EncodedChunk[] {
  const enc = new HistogramSeriesEncoder<FloatHistogram>(() => new FloatHistogramAppender(), policy);
  for (let i = 0; i < hs.length; i++) enc.append(ts[i]!, hs[i]!);
  return enc.finish();
}
