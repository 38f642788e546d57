/**
 * Aggregated → coarser aggregated downsampling of the sum and counter aggregates of a native
 * histogram series' chunks (Thanos' downsampleHistogramAggrBatch); the count aggregate goes the
 * float way (sum of counts per window, aggr.ts). Per batch of input chunks:
 *
 * - counter: the counter sub-chunks' histograms concatenated (stale markers and samples going back
 *   in time within a chunk dropped) and run through the histogram aggregator again, so resets
 *   between input chunks (each starts its running total afresh) are applied; one running total
 *   per output window, at the batch's smallest schema;
 * - sum: the sum sub-chunks' histograms summed per output window.
 */
import { ENC_FLOAT_HISTOGRAM } from '../chunkenc/encoding.js';
import { HINT_GAUGE } from '../histogram/types.js';
import { FormatError } from '../../util/errors.js';
import { AGGR_COUNTER, AGGR_NAMES, AGGR_SUM, type AggrParts, type AggrType } from './aggr-chunk.js';
import type { AggrInput } from './aggr.js';
import { FloatHistSubChunk, HistSeries, histWindows } from './hist-aggregator.js';

export interface HistAggrOut {
  sum: Uint8Array | undefined;
  counter: Uint8Array | undefined;
}

/** Reuse one instance across series. */
export class HistAggrBatcher {
  private readonly series = new HistSeries();
  private readonly sum = new FloatHistSubChunk();
  private readonly counter = new FloatHistSubChunk();

  /** Sum and counter sub-chunks of chunks [from, to) at resolution r; range[0..1] gets the window ends. */
  aggregate(
    chunks: readonly AggrInput[],
    parts: readonly AggrParts[],
    from: number,
    to: number,
    r: number,
    range: Float64Array,
  ): HistAggrOut {
    const see = (t: number): void => {
      if (t < range[0]!) range[0] = t;
      if (t > range[1]!) range[1] = t;
    };
    const out: HistAggrOut = { sum: undefined, counter: undefined };
    const s = this.series;
    if (this.load(chunks, parts, from, to, AGGR_COUNTER)) {
      const gauge = s.hs[0]!.counterResetHint === HINT_GAUGE;
      const c = this.counter;
      c.reset(gauge);
      histWindows(s, 0, s.len, r, (t, a) => {
        see(t);
        if (gauge) a.counter!.counterResetHint = HINT_GAUGE;
        c.append(t, a.counter!);
      });
      out.counter = c.bytes();
    }
    if (this.load(chunks, parts, from, to, AGGR_SUM)) {
      const c = this.sum;
      c.reset(true);
      histWindows(s, 0, s.len, r, (t, a) => {
        see(t);
        c.append(t, a.sum!);
      });
      out.sum = c.bytes();
    }
    return out;
  }

  /** Loads aggregate `a` of chunks [from, to) into the series; false when none holds a sample. */
  private load(
    chunks: readonly AggrInput[],
    parts: readonly AggrParts[],
    from: number,
    to: number,
    a: AggrType,
  ): boolean {
    const s = this.series;
    s.reset();
    for (let i = from; i < to; i++) {
      const p = parts[i]!;
      if (!p.has(a)) continue;
      const c = chunks[i]!;
      const off = c.dataOffset + p.start[a]!;
      if (p.enc[a] !== ENC_FLOAT_HISTOGRAM) {
        throw new FormatError(
          'ERR_TSDB_CORRUPT',
          c.file,
          off - 1,
          `aggregated chunk of a histogram series: ${AGGR_NAMES[a]} sub-chunk has encoding ${p.enc[a]}, not float histogram`,
        );
      }
      s.appendChunk(ENC_FLOAT_HISTOGRAM, c.data.subarray(p.start[a]!, p.end[a]!), c.file, off);
    }
    return s.len > 0;
  }
}
