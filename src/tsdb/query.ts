/**
 * Reading samples back out of blocks, merged across blocks like Prometheus' querier: series with
 * equal labels become one, samples sorted by time with one sample per timestamp. Used by
 * `strata tsdb dump` and by tests.
 */
import type { BlockReader } from './block/reader.js';
import type { ChunkMeta } from './index/format.js';
import type { Matcher } from './index/matchers.js';
import { compareLabels, type Label, type Labels } from './labels.js';
import { SampleBuf } from './samples/sample-buf.js';
import { mergeExact } from './samples/dedup.js';
import { decodeChunkInto } from './chunkenc/chunk.js';
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
  /** Valid until the next series is yielded. */
  samples: SampleBuf;
}

/** Appends the samples of one block series within [mint, maxt], tombstones applied. */
async function readSeriesSamples(
  b: BlockReader,
  s: SeriesRef,
  mint: number,
  maxt: number,
  out: SampleBuf,
  tmp: SampleBuf,
): Promise<void> {
  const deleted: readonly Interval[] | undefined = b.tombstones.get(s.id);
  for (const c of s.chunks) {
    if (c.maxt < mint || c.mint > maxt) continue;
    const chunk = await b.chunks.read(c.ref);
    decodeChunkInto(chunk, tmp, b.chunks.fileFor(c.ref));
    for (let i = 0; i < tmp.len; i++) {
      const t = tmp.ts[i]!;
      if (t < mint || t > maxt) continue;
      if (deleted && isDeleted(deleted, t)) continue;
      out.push(t, tmp.hi[i]!, tmp.lo[i]!);
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
  const out = new SampleBuf();
  const streams: SampleBuf[] = [];
  for (;;) {
    let min: Labels | undefined;
    for (const h of heads) if (h && (min === undefined || compareLabels(h.labels, min) < 0)) min = h.labels;
    if (min === undefined) return;
    streams.length = 0;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      if (!h || compareLabels(h.labels, min) !== 0) continue;
      const buf = perBlock[i]!;
      buf.reset();
      await readSeriesSamples(blocks[i]!, h, mint, maxt, buf, tmp);
      streams.push(buf);
      heads[i] = (await its[i]!.next()).value ?? undefined;
    }
    mergeExact(streams, out);
    if (out.len > 0) yield { labels: min, samples: out };
  }
}
