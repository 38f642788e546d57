/**
 * Re-encoding of clusters that hold histogram chunks (encodings 2 and 3), alone or mixed with XOR
 * chunks of the same series. Each input's samples become a stream of (t, kind, index): kind 0 a
 * float (index into `vals`), 1 an integer histogram, 2 a float histogram (index into `hists`), so
 * the float merges (mergeExact, mergeReplicas) pick samples by timestamp unchanged: one dedup
 * algorithm for every kind.
 *
 * Output as Prometheus v2.53's compacting merger (storage/merge.go chainSampleIterator, then
 * storage/series.go seriesToChunkEncoder): samples of all kinds in time order; a new chunk when
 * the kind changes or after `maxSamplesPerChunk` samples, histogram chunks also where the
 * appender needs one (HistogramSeriesEncoder, SplitEvery); a histogram sample keeps its decoded
 * counter-reset hint only when the previous output sample came from the same input chunk (the
 * chain iterator's `consecutive`), otherwise the hint becomes unknown (gauge hints are kept).
 * Allocates per histogram sample (decoded copies); the float-only path never comes here.
 */
import type { BlockWriter } from '../block/writer.js';
import type { WriteSeam } from '../block/write-seam.js';
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
import {
  cloneHistogram,
  HINT_GAUGE,
  HINT_UNKNOWN,
  type AnyHistogram,
  type FloatHistogram,
  type Histogram,
} from '../histogram/types.js';
import { mergeExact, mergeReplicas, type DedupMode } from '../samples/dedup.js';
import { SampleBuf } from '../samples/sample-buf.js';
import { errorMessage, StrataError } from '../../util/errors.js';
import { CompactionInputError } from './errors.js';
import { sameHistogramValue } from './hist-equal.js';
import { hits, type Entry, type InputSeries } from './input-series.js';

export type EmitChunk = (mint: number, maxt: number, ref: number) => void;

export const KIND_FLOAT = 0;
export const KIND_HISTOGRAM = 1;
export const KIND_FLOAT_HISTOGRAM = 2;

export function isHistogramEncoding(enc: number): boolean {
  return enc === ENC_HISTOGRAM || enc === ENC_FLOAT_HISTOGRAM;
}

export class HistClusterReencoder {
  private readonly streams: SampleBuf[] = [];
  private readonly merged = new SampleBuf();
  private readonly replicaBufs: SampleBuf[] = [];
  private readonly replicaOf: number[] = [];
  private readonly tmp = new SampleBuf();
  private readonly check = new SampleBuf();
  private readonly run = new SampleBuf();
  /** Float samples' values (ts unused). */
  private readonly vals = new SampleBuf();
  private readonly hists: AnyHistogram[] = [];
  /** Ordinal of the input chunk each `hists` entry came from. */
  private readonly srcChunk: number[] = [];
  private chunkNo = 0;
  private readonly intIt = new HistogramChunkIterator();
  private readonly floatIt = new FloatHistogramChunkIterator();
  private readonly xor = new XorAppender();
  private readonly intEnc: HistogramSeriesEncoder<Histogram>;
  private readonly floatEnc: HistogramSeriesEncoder<FloatHistogram>;

  constructor(
    private readonly writer: BlockWriter,
    private readonly dedup: DedupMode,
    private readonly maxSamplesPerChunk: number,
    private readonly seam: WriteSeam | undefined,
  ) {
    this.intEnc = new HistogramSeriesEncoder<Histogram>(
      () => new HistogramAppender(),
      new SplitEvery(maxSamplesPerChunk),
    );
    this.floatEnc = new HistogramSeriesEncoder<FloatHistogram>(
      () => new FloatHistogramAppender(),
      new SplitEvery(maxSamplesPerChunk),
    );
  }

  /** Merges and writes the cluster `group` of `inputs` (sorted by priority); returns chunks written. */
  async reencode(
    inputs: readonly InputSeries[],
    group: readonly Entry[],
    seriesName: () => string,
    emit: EmitChunk,
  ): Promise<number> {
    this.vals.reset();
    this.hists.length = 0;
    this.srcChunk.length = 0;
    this.chunkNo = 0;
    while (this.streams.length < inputs.length) this.streams.push(new SampleBuf());
    const streams = this.streams.slice(0, inputs.length);
    for (let k = 0; k < inputs.length; k++) {
      const s = inputs[k]!;
      streams[k]!.reset();
      for (const e of group) {
        if (e.s !== s) continue;
        const chunks = s.block.chunks;
        try {
          const chunk = chunks.tryReadRaw(e.c.ref) ?? (await chunks.read(e.c.ref));
          this.decodeAppend(e, chunk, chunks.fileFor(e.c.ref), streams[k]!, seriesName);
        } catch (err) {
          throw CompactionInputError.wrap(err, s.block.ulid, seriesName());
        }
      }
    }
    const merged = this.merged;
    if (this.dedup === 'penalty') {
      const r = this.replicaOf;
      r.length = 0;
      for (const s of inputs) r.push(s.replica);
      mergeReplicas(streams, r, merged, this.replicaBufs);
    } else mergeExact(streams, merged);
    this.fixHints();
    let written = 0;
    for (let from = 0; from < merged.len;) {
      const kind = merged.hi[from]!;
      let to = from + 1;
      while (to < merged.len && merged.hi[to] === kind) to++;
      written +=
        kind === KIND_FLOAT
          ? await this.writeFloats(from, to, seriesName, emit)
          : await this.writeHistograms(kind, from, to, seriesName, emit);
      from = to;
    }
    return written;
  }

  /** One input chunk's samples onto `buf`: after its last sample, outside tombstones, in order. */
  private decodeAppend(
    e: Entry,
    chunk: StoredChunk,
    file: string,
    buf: SampleBuf,
    seriesName: () => string,
  ): void {
    const deleted = e.s.deleted;
    const last = buf.len > 0 ? buf.ts[buf.len - 1]! : -Infinity;
    let prev = -Infinity;
    const order = (t: number): boolean => {
      if (!(t > prev) && prev !== -Infinity) {
        throw new CompactionInputError(
          'ERR_TSDB_OUT_OF_ORDER',
          e.s.block.ulid,
          seriesName(),
          `chunk ref ${e.c.ref}: sample at ${t} after ${prev}`,
        );
      }
      prev = t;
      return t > last && !(deleted && hits(deleted, t, t));
    };
    if (!isHistogramEncoding(chunk.encoding)) {
      const tmp = this.tmp;
      decodeChunkInto(chunk, tmp, file);
      for (let i = 0; i < tmp.len; i++) {
        const t = tmp.ts[i]!;
        if (!order(t)) continue;
        buf.push(t, KIND_FLOAT, this.vals.len);
        this.vals.push(t, tmp.hi[i]!, tmp.lo[i]!);
      }
      return;
    }
    const it = chunk.encoding === ENC_HISTOGRAM ? this.intIt : this.floatIt;
    const kind = chunk.encoding === ENC_HISTOGRAM ? KIND_HISTOGRAM : KIND_FLOAT_HISTOGRAM;
    const no = this.chunkNo++;
    it.reset(chunk.data, file, chunk.dataOffset);
    while (it.next()) {
      const t = it.t;
      if (!order(t)) continue;
      buf.push(t, kind, this.hists.length);
      this.hists.push(cloneHistogram(it.at()));
      this.srcChunk.push(no);
    }
  }

  /** Hints as the chain iterator leaves them: unknown unless the sample follows one of its own chunk. */
  private fixHints(): void {
    const m = this.merged;
    let prevSrc = -1;
    for (let i = 0; i < m.len; i++) {
      if (m.hi[i] === KIND_FLOAT) {
        prevSrc = -1;
        continue;
      }
      const idx = m.lo[i]!;
      const src = this.srcChunk[idx]!;
      const h = this.hists[idx]!;
      if (src !== prevSrc && h.counterResetHint !== HINT_GAUGE) h.counterResetHint = HINT_UNKNOWN;
      prevSrc = src;
    }
  }

  private async writeFloats(
    from: number,
    to: number,
    seriesName: () => string,
    emit: EmitChunk,
  ): Promise<number> {
    const m = this.merged;
    const run = this.run;
    run.reset();
    for (let i = from; i < to; i++) {
      const j = m.lo[i]!;
      run.push(m.ts[i]!, this.vals.hi[j]!, this.vals.lo[j]!);
    }
    let n = 0;
    for (let a = 0; a < run.len; a += this.maxSamplesPerChunk) {
      const b = Math.min(run.len, a + this.maxSamplesPerChunk);
      this.xor.reset();
      this.xor.appendRange(run.ts, run.hi, run.lo, a, b);
      const c: EncodedChunk = {
        mint: run.ts[a]!,
        maxt: run.ts[b - 1]!,
        encoding: ENC_XOR,
        data: this.xor.bytes(),
        numSamples: b - a,
      };
      this.checkFloats(c, a, seriesName);
      await this.write(c, emit);
      n++;
    }
    return n;
  }

  private checkFloats(c: EncodedChunk, from: number, seriesName: () => string): void {
    const got = this.check;
    const want = this.run;
    let bad = -1;
    try {
      decodeChunkInto({ encoding: c.encoding, data: c.data, dataOffset: 0 }, got, 're-encoded chunk');
    } catch (err) {
      throw notDecodable(c, seriesName, err);
    }
    if (got.len !== c.numSamples) bad = Math.min(got.len, c.numSamples);
    for (let i = 0; bad < 0 && i < got.len; i++) {
      const j = from + i;
      if (got.ts[i] !== want.ts[j] || got.hi[i] !== want.hi[j] || got.lo[i] !== want.lo[j]) bad = i;
    }
    if (bad >= 0) throw mismatch(c, seriesName, bad);
  }

  private async writeHistograms(
    kind: number,
    from: number,
    to: number,
    seriesName: () => string,
    emit: EmitChunk,
  ): Promise<number> {
    const m = this.merged;
    let chunks: EncodedChunk[];
    if (kind === KIND_HISTOGRAM) {
      for (let i = from; i < to; i++) this.intEnc.append(m.ts[i]!, this.hists[m.lo[i]!] as Histogram);
      chunks = this.intEnc.finish();
    } else {
      for (let i = from; i < to; i++) this.floatEnc.append(m.ts[i]!, this.hists[m.lo[i]!] as FloatHistogram);
      chunks = this.floatEnc.finish();
    }
    let at = from;
    for (const c of chunks) {
      this.checkHistograms(c, at, seriesName);
      at += c.numSamples;
      await this.write(c, emit);
    }
    if (at !== to) {
      throw new StrataError(
        'ERR_TSDB_CORRUPT',
        `series ${seriesName()}: re-encoded histogram chunks hold ${at - from} samples, not ${to - from}`,
      );
    }
    return chunks.length;
  }

  /** Decodes a re-encoded histogram chunk from memory: it must hold merged samples [from, from + n). */
  private checkHistograms(c: EncodedChunk, from: number, seriesName: () => string): void {
    const m = this.merged;
    const it = c.encoding === ENC_HISTOGRAM ? this.intIt : this.floatIt;
    let n = 0;
    let bad = -1;
    try {
      it.reset(c.data, 're-encoded chunk', 0);
      while (it.next()) {
        const j = from + n;
        if (
          bad < 0 &&
          (j >= this.merged.len || it.t !== m.ts[j] || !sameHistogramValue(it.at(), this.hists[m.lo[j]!]!))
        )
          bad = n;
        n++;
      }
    } catch (err) {
      throw notDecodable(c, seriesName, err);
    }
    if (bad < 0 && n !== c.numSamples) bad = Math.min(n, c.numSamples);
    if (bad < 0 && (c.mint !== m.ts[from] || c.maxt !== m.ts[from + n - 1])) bad = 0;
    if (bad >= 0) throw mismatch(c, seriesName, bad);
  }

  private async write(c: EncodedChunk, emit: EmitChunk): Promise<void> {
    this.seam?.encodedChunk?.(c);
    const r = this.writer.writeChunk(c);
    emit(c.mint, c.maxt, typeof r === 'number' ? r : await r);
  }
}

function notDecodable(c: EncodedChunk, seriesName: () => string, err: unknown): StrataError {
  return new StrataError(
    'ERR_TSDB_CORRUPT',
    `series ${seriesName()}: re-encoded chunk [${c.mint}, ${c.maxt}] does not decode: ${errorMessage(err)}`,
    { cause: err },
  );
}

function mismatch(c: EncodedChunk, seriesName: () => string, bad: number): StrataError {
  return new StrataError(
    'ERR_TSDB_CORRUPT',
    `series ${seriesName()}: re-encoded chunk [${c.mint}, ${c.maxt}] does not hold the samples it was encoded from (first difference at sample ${bad})`,
  );
}
