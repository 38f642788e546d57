/**
 * Series whose chunks hold histogram samples (encodings 2 and 3), alone or mixed with XOR float
 * chunks: one definition of how they are decoded, merged and re-encoded, used by the compactor
 * (compact/reencode-hist.ts), the store gateway and the querier.
 *
 * Each input's samples become a SampleBuf stream of (t, kind, index): kind KIND_FLOAT a float
 * (index into `vals`), KIND_HISTOGRAM an integer histogram, KIND_FLOAT_HISTOGRAM a float histogram
 * (index into `hists`), so the float merges (mergeExact, mergeReplicas) pick samples by timestamp
 * unchanged: one dedup algorithm for every kind.
 *
 * Output as Prometheus v2.53's compacting merger (storage/merge.go chainSampleIterator, then
 * storage/series.go seriesToChunkEncoder): samples of all kinds in time order; a new chunk when
 * the kind changes or after `maxSamplesPerChunk` samples, histogram chunks also where the
 * appender needs one (HistogramSeriesEncoder, SplitEvery); a histogram sample keeps its decoded
 * counter-reset hint only when the previous output sample came from the same input chunk (the
 * chain iterator's `consecutive`), otherwise the hint becomes unknown (gauge hints are kept).
 * Allocates per histogram sample (decoded copies); float-only series never come here.
 */
import { decodeChunkInto, type StoredChunk } from '../chunkenc/chunk.js';
import type { EncodedChunk } from '../chunkenc/encode.js';
import { ENC_FLOAT_HISTOGRAM, ENC_HISTOGRAM, ENC_XOR } from '../chunkenc/encoding.js';
import {
  FloatHistogramAppender,
  FloatHistogramChunkIterator,
  HistogramAppender,
  HistogramChunkIterator,
  HistogramSeriesEncoder,
  SplitEvery,
} from '../chunkenc/histogram.js';
import { XorAppender } from '../chunkenc/xor.js';
import { sameHistogramValue } from '../histogram/equal.js';
import {
  cloneHistogram,
  HINT_GAUGE,
  HINT_UNKNOWN,
  type AnyHistogram,
  type FloatHistogram,
  type Histogram,
} from '../histogram/types.js';
import { errorMessage, StrataError } from '../../util/errors.js';
import { SampleBuf } from './sample-buf.js';

export const KIND_FLOAT = 0;
export const KIND_HISTOGRAM = 1;
export const KIND_FLOAT_HISTOGRAM = 2;

export function isHistogramEncoding(enc: number): boolean {
  return enc === ENC_HISTOGRAM || enc === ENC_FLOAT_HISTOGRAM;
}

/** Decoded samples of every kind, shared by the streams of one series (reset per series). */
export class MixedSamples {
  /** Float samples' values (ts unused). */
  readonly vals = new SampleBuf();
  readonly hists: AnyHistogram[] = [];
  /** Ordinal of the input chunk each `hists` entry came from. */
  private readonly srcChunk: number[] = [];
  private chunkNo = 0;
  private readonly tmp = new SampleBuf();
  private readonly intIt = new HistogramChunkIterator();
  private readonly floatIt = new FloatHistogramChunkIterator();

  reset(): void {
    this.vals.reset();
    this.hists.length = 0;
    this.srcChunk.length = 0;
    this.chunkNo = 0;
  }

  /**
   * Appends one chunk's samples to the stream `buf`: those after its last sample for which
   * `accept(t)` (when given) is true. Any encoding the chunk dispatch decodes.
   */
  appendChunk(chunk: StoredChunk, file: string, buf: SampleBuf, accept?: (t: number) => boolean): void {
    const last = buf.len > 0 ? buf.ts[buf.len - 1]! : -Infinity;
    if (!isHistogramEncoding(chunk.encoding)) {
      const tmp = this.tmp;
      decodeChunkInto(chunk, tmp, file);
      for (let i = 0; i < tmp.len; i++) {
        const t = tmp.ts[i]!;
        if ((accept !== undefined && !accept(t)) || !(t > last)) continue;
        buf.push(t, KIND_FLOAT, this.vals.len);
        this.vals.push(t, tmp.hi[i]!, tmp.lo[i]!);
      }
      return;
    }
    const int = chunk.encoding === ENC_HISTOGRAM;
    const it = int ? this.intIt : this.floatIt;
    const kind = int ? KIND_HISTOGRAM : KIND_FLOAT_HISTOGRAM;
    const no = this.chunkNo++;
    it.reset(chunk.data, file, chunk.dataOffset);
    while (it.next()) {
      const t = it.t;
      if ((accept !== undefined && !accept(t)) || !(t > last)) continue;
      buf.push(t, kind, this.hists.length);
      this.hists.push(cloneHistogram(it.at()));
      this.srcChunk.push(no);
    }
  }

  /** Hints as the chain iterator leaves them: unknown unless the sample follows one of its own chunk. */
  fixHints(merged: SampleBuf): void {
    let prevSrc = -1;
    for (let i = 0; i < merged.len; i++) {
      if (merged.hi[i] === KIND_FLOAT) {
        prevSrc = -1;
        continue;
      }
      const idx = merged.lo[i]!;
      const src = this.srcChunk[idx]!;
      const h = this.hists[idx]!;
      if (src !== prevSrc && h.counterResetHint !== HINT_GAUGE) h.counterResetHint = HINT_UNKNOWN;
      prevSrc = src;
    }
  }
}

/**
 * Encodes a merged mixed stream into chunks: runs of one kind, floats as XOR cut every
 * `maxSamplesPerChunk`, histograms with Prometheus' appender rules. Every chunk is decoded again
 * from memory and compared with the samples it was made from (ERR_TSDB_CORRUPT otherwise).
 */
export class MixedEncoder {
  private readonly xor = new XorAppender();
  private readonly run = new SampleBuf();
  private readonly check = new SampleBuf();
  private readonly intIt = new HistogramChunkIterator();
  private readonly floatIt = new FloatHistogramChunkIterator();
  private readonly intEnc: HistogramSeriesEncoder<Histogram>;
  private readonly floatEnc: HistogramSeriesEncoder<FloatHistogram>;

  constructor(private readonly maxSamplesPerChunk: number) {
    this.intEnc = new HistogramSeriesEncoder<Histogram>(
      () => new HistogramAppender(),
      new SplitEvery(maxSamplesPerChunk),
    );
    this.floatEnc = new HistogramSeriesEncoder<FloatHistogram>(
      () => new FloatHistogramAppender(),
      new SplitEvery(maxSamplesPerChunk),
    );
  }

  /** The chunks of `merged` (indexes into `s`), in time order; `what` names the series in errors. */
  encode(merged: SampleBuf, s: MixedSamples, what: () => string): EncodedChunk[] {
    const out: EncodedChunk[] = [];
    for (let from = 0; from < merged.len;) {
      const kind = merged.hi[from]!;
      let to = from + 1;
      while (to < merged.len && merged.hi[to] === kind) to++;
      if (kind === KIND_FLOAT) this.floats(merged, s, from, to, what, out);
      else this.histograms(merged, s, kind, from, to, what, out);
      from = to;
    }
    return out;
  }

  private floats(
    m: SampleBuf,
    s: MixedSamples,
    from: number,
    to: number,
    what: () => string,
    out: EncodedChunk[],
  ): void {
    const run = this.run;
    run.reset();
    for (let i = from; i < to; i++) {
      const j = m.lo[i]!;
      run.push(m.ts[i]!, s.vals.hi[j]!, s.vals.lo[j]!);
    }
    for (let a = 0; a < run.len; a += this.maxSamplesPerChunk) {
      const b = Math.min(run.len, a + this.maxSamplesPerChunk);
      this.xor.reset();
      this.xor.appendRange(run.ts, run.hi, run.lo, a, b);
      const c: EncodedChunk = {
        mint: run.ts[a]!,
        maxt: run.ts[b - 1]!,
        encoding: ENC_XOR,
        data: this.xor.bytes().slice(),
        numSamples: b - a,
      };
      this.checkFloats(c, a, what);
      out.push(c);
    }
  }

  private checkFloats(c: EncodedChunk, from: number, what: () => string): void {
    const got = this.check;
    const want = this.run;
    let bad = -1;
    try {
      decodeChunkInto({ encoding: c.encoding, data: c.data, dataOffset: 0 }, got, 're-encoded chunk');
    } catch (err) {
      throw notDecodable(c, what, err);
    }
    if (got.len !== c.numSamples) bad = Math.min(got.len, c.numSamples);
    for (let i = 0; bad < 0 && i < got.len; i++) {
      const j = from + i;
      if (got.ts[i] !== want.ts[j] || got.hi[i] !== want.hi[j] || got.lo[i] !== want.lo[j]) bad = i;
    }
    if (bad >= 0) throw mismatch(c, what, bad);
  }

  private histograms(
    m: SampleBuf,
    s: MixedSamples,
    kind: number,
    from: number,
    to: number,
    what: () => string,
    out: EncodedChunk[],
  ): void {
    let chunks: EncodedChunk[];
    if (kind === KIND_HISTOGRAM) {
      for (let i = from; i < to; i++) this.intEnc.append(m.ts[i]!, s.hists[m.lo[i]!] as Histogram);
      chunks = this.intEnc.finish();
    } else {
      for (let i = from; i < to; i++) this.floatEnc.append(m.ts[i]!, s.hists[m.lo[i]!] as FloatHistogram);
      chunks = this.floatEnc.finish();
    }
    let at = from;
    for (const c of chunks) {
      this.checkHistograms(m, s, c, at, what);
      at += c.numSamples;
      out.push(c);
    }
    if (at !== to) {
      throw new StrataError(
        'ERR_TSDB_CORRUPT',
        `series ${what()}: re-encoded histogram chunks hold ${at - from} samples, not ${to - from}`,
      );
    }
  }

  /** Decodes a re-encoded histogram chunk from memory: it must hold merged samples [from, from + n). */
  private checkHistograms(
    m: SampleBuf,
    s: MixedSamples,
    c: EncodedChunk,
    from: number,
    what: () => string,
  ): void {
    const it = c.encoding === ENC_HISTOGRAM ? this.intIt : this.floatIt;
    let n = 0;
    let bad = -1;
    try {
      it.reset(c.data, 're-encoded chunk', 0);
      while (it.next()) {
        const j = from + n;
        if (bad < 0 && (j >= m.len || it.t !== m.ts[j] || !sameHistogramValue(it.at(), s.hists[m.lo[j]!]!)))
          bad = n;
        n++;
      }
    } catch (err) {
      throw notDecodable(c, what, err);
    }
    if (bad < 0 && n !== c.numSamples) bad = Math.min(n, c.numSamples);
    if (bad < 0 && (c.mint !== m.ts[from] || c.maxt !== m.ts[from + n - 1])) bad = 0;
    if (bad >= 0) throw mismatch(c, what, bad);
  }
}

function notDecodable(c: EncodedChunk, what: () => string, err: unknown): StrataError {
  return new StrataError(
    'ERR_TSDB_CORRUPT',
    `series ${what()}: re-encoded chunk [${c.mint}, ${c.maxt}] does not decode: ${errorMessage(err)}`,
    { cause: err },
  );
}

function mismatch(c: EncodedChunk, what: () => string, bad: number): StrataError {
  return new StrataError(
    'ERR_TSDB_CORRUPT',
    `series ${what()}: re-encoded chunk [${c.mint}, ${c.maxt}] does not hold the samples it was encoded from (first difference at sample ${bad})`,
  );
}
