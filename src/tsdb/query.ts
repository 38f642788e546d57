/**
 * Reading samples back out of blocks, merged across blocks like Prometheus' querier: series with
 * equal labels become one, samples sorted by time with one sample per timestamp (the later block
 * wins a tie). Float and histogram samples alike: histogram chunks are decoded into copies, and
 * the merge runs over (t, kind, index) entries so one dedup serves every kind. Used by
 * `strata tsdb dump` and by tests.
 */
import type { BlockReader } from './block/reader.js';
import type { ChunkMeta } from './index/format.js';
import type { Matcher } from './index/matchers.js';
import { compareLabels, type Label, type Labels } from './labels.js';
import { SampleBuf } from './samples/sample-buf.js';
import { mergeExact } from './samples/dedup.js';
import { decodeChunkInto } from './chunkenc/chunk.js';
import { ENC_FLOAT_HISTOGRAM, ENC_HISTOGRAM } from './chunkenc/encoding.js';
import { FloatHistogramChunkIterator, HistogramChunkIterator } from './chunkenc/histogram.js';
import { cloneHistogram, type AnyHistogram } from './histogram/types.js';
import { isDeleted, type Interval } from './tombstones/tombstones.js';

interface SeriesRef {
  labels: Labels;
  chunks: ChunkMeta[];
  id: number;
}

/** Sorted series of one block selected by matchers (all series when there are none). */
async function* blockSeries(b: BlockReader, matchers: readonly Matcher[]): AsyncGenerator<SeriesRef> {
  if (matchers.length === 0) {
    const c = b.index.seriesCursor();
    for (;;) {
      while (c.next()) {
        const s = c.series;
        yield {
          labels: s.labels.map((l): Label => ({ name: l.name, value: l.value })),
          chunks: s.chunks.map((m) => ({ ...m })),
          id: s.id,
        };
      }
      if (!(await c.load())) return;
    }
  }
  const ids = await b.index.select(matchers);
  for (const id of ids) {
    const s = await b.index.series(id);
    yield { labels: s.labels, chunks: s.chunks, id };
  }
}

export interface QueryOptions {
  matchers?: readonly Matcher[];
  /** Inclusive bounds. */
  minTime?: number;
  maxTime?: number;
}

export interface QueriedSeries {
  labels: Labels;
  /**
   * Valid until the next series is yielded. Sample i is a float (value bits in hi/lo) unless
   * `histograms[i]` is set.
   */
  samples: SampleBuf;
  /** Empty when the series has only float samples; else the histogram of each histogram sample. */
  histograms: (AnyHistogram | undefined)[];
}

const KIND_FLOAT = 0;
const KIND_HISTOGRAM = 1;

/** Decoded values of one series across blocks; merge entries point into it. */
class SeriesValues {
  readonly floats = new SampleBuf();
  readonly hists: AnyHistogram[] = [];
  readonly intIt = new HistogramChunkIterator();
  readonly floatIt = new FloatHistogramChunkIterator();
  reset(): void {
    this.floats.reset();
    this.hists.length = 0;
  }
}

/**
 * Appends the samples of one block series within [mint, maxt], tombstones applied, as entries
 * (t, kind, index into `vals`).
 */
async function readSeriesSamples(
  b: BlockReader,
  s: SeriesRef,
  mint: number,
  maxt: number,
  out: SampleBuf,
  tmp: SampleBuf,
  vals: SeriesValues,
): Promise<void> {
  const deleted: readonly Interval[] | undefined = b.tombstones.get(s.id);
  const keep = (t: number): boolean => t >= mint && t <= maxt && !(deleted && isDeleted(deleted, t));
  for (const c of s.chunks) {
    if (c.maxt < mint || c.mint > maxt) continue;
    const chunk = await b.chunks.read(c.ref);
    const file = b.chunks.fileFor(c.ref);
    if (chunk.encoding === ENC_HISTOGRAM || chunk.encoding === ENC_FLOAT_HISTOGRAM) {
      const it = chunk.encoding === ENC_HISTOGRAM ? vals.intIt : vals.floatIt;
      it.reset(chunk.data, file, chunk.dataOffset);
      while (it.next()) {
        if (!keep(it.t)) continue;
        out.push(it.t, KIND_HISTOGRAM, vals.hists.length);
        vals.hists.push(cloneHistogram(it.at()));
      }
      continue;
    }
    decodeChunkInto(chunk, tmp, file);
    for (let i = 0; i < tmp.len; i++) {
      const t = tmp.ts[i]!;
      if (!keep(t)) continue;
      out.push(t, KIND_FLOAT, vals.floats.len);
      vals.floats.push(t, tmp.hi[i]!, tmp.lo[i]!);
    }
  }
}

/** Series across `blocks`, merged by labels, in label order. */
export async function* querySeries(
  blocks: readonly BlockReader[],
  opts: QueryOptions = {},
): AsyncGenerator<QueriedSeries> {
  const mint = opts.minTime ?? -Infinity;
  const maxt = opts.maxTime ?? Infinity;
  const its = blocks.map((b) => blockSeries(b, opts.matchers ?? []));
  const heads: (SeriesRef | undefined)[] = await Promise.all(
    its.map(async (it) => (await it.next()).value ?? undefined),
  );
  const perBlock: SampleBuf[] = blocks.map(() => new SampleBuf());
  const tmp = new SampleBuf();
  const merged = new SampleBuf();
  const out = new SampleBuf();
  const histograms: (AnyHistogram | undefined)[] = [];
  const vals = new SeriesValues();
  const streams: SampleBuf[] = [];
  for (;;) {
    let min: Labels | undefined;
    for (const h of heads) if (h && (min === undefined || compareLabels(h.labels, min) < 0)) min = h.labels;
    if (min === undefined) return;
    streams.length = 0;
    vals.reset();
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      if (!h || compareLabels(h.labels, min) !== 0) continue;
      const buf = perBlock[i]!;
      buf.reset();
      await readSeriesSamples(blocks[i]!, h, mint, maxt, buf, tmp, vals);
      streams.push(buf);
      heads[i] = (await its[i]!.next()).value ?? undefined;
    }
    mergeExact(streams, merged);
    out.reset();
    histograms.length = 0;
    for (let i = 0; i < merged.len; i++) {
      const j = merged.lo[i]!;
      if (merged.hi[i] === KIND_FLOAT) {
        out.push(merged.ts[i]!, vals.floats.hi[j]!, vals.floats.lo[j]!);
        if (vals.hists.length > 0) histograms.push(undefined);
      } else {
        out.push(merged.ts[i]!, 0, 0);
        histograms.push(vals.hists[j]!);
      }
    }
    if (out.len > 0) yield { labels: min, samples: out, histograms };
  }
}
