/**
 * `strata tsdb dump` of downsampled blocks (meta resolution > 0): aggregated chunks printed one
 * line per window and aggregate, `{labels} <aggregate> <value> <timestamp_ms>`, chunk by chunk and
 * aggregate by aggregate (count, sum, min, max, counter; the counter as stored: first raw sample,
 * one point per window, last raw value). With `--aggregate NAME` only that aggregate, in
 * promtool's `{labels} <value> <timestamp_ms>` form. Blocks are printed one after the other
 * (series of different downsampled blocks are not merged). A stray XOR chunk prints as `raw`.
 * A native histogram series' chunks hold count (a float per window) and sum and counter as float
 * histograms, printed in the text form the raw dump uses for histograms (`{count:…, sum:…, …}`).
 */
import { blockResolution } from '../tsdb/group-key.js';
import type { BlockReader } from '../tsdb/block/reader.js';
import type { Matcher } from '../tsdb/index/matchers.js';
import type { ChunkMeta } from '../tsdb/index/format.js';
import { formatLabels, type Labels } from '../tsdb/labels.js';
import { formatGoFloat } from '../tsdb/goformat.js';
import { bitsToFloat } from '../tsdb/chunkenc/float-bits.js';
import { decodeChunkInto } from '../tsdb/chunkenc/chunk.js';
import { ENC_FLOAT_HISTOGRAM, ENC_HISTOGRAM, ENC_THANOS_AGGR } from '../tsdb/chunkenc/encoding.js';
import {
  decodeFloatHistogramChunk,
  decodeHistogramChunk,
  type HistogramSamples,
} from '../tsdb/chunkenc/histogram-codec.js';
import { formatHistogram } from '../tsdb/histogram/format.js';
import type { AnyHistogram } from '../tsdb/histogram/types.js';
import { SampleBuf } from '../tsdb/samples/sample-buf.js';
import {
  AGGR_NAMES,
  AggrParts,
  NUM_AGGRS,
  decodeAggrHistograms,
  decodeAggrInto,
  parseAggrName,
  splitAggrChunk,
  type AggrType,
} from '../tsdb/downsample/index.js';
import {
  InvalidArgumentError,
  StrataError,
  errorCode,
  errorMessage,
  type ErrorCode,
} from '../util/errors.js';
import type { BufferedOut } from './output.js';

export interface AggrDumpOptions {
  matchers: readonly Matcher[];
  minTime?: number | undefined;
  maxTime?: number | undefined;
  /** One aggregate name, or undefined for all five. */
  aggregate?: string | undefined;
}

/** True for blocks holding aggregated chunks. */
export function isDownsampledBlock(b: BlockReader): boolean {
  return blockResolution(b.meta) > 0;
}

/** Checks an `--aggregate` value; undefined = all. */
export function parseAggregateOption(name: string | undefined): AggrType | undefined {
  if (name === undefined) return undefined;
  const a = parseAggrName(name);
  if (a === undefined)
    throw new InvalidArgumentError(`--aggregate must be one of ${AGGR_NAMES.join(', ')}, not "${name}"`);
  return a;
}

export async function dumpAggregated(
  blocks: readonly BlockReader[],
  o: AggrDumpOptions,
  out: BufferedOut,
): Promise<void> {
  const only = parseAggregateOption(o.aggregate);
  const mint = o.minTime ?? -Infinity;
  const maxt = o.maxTime ?? Infinity;
  const parts = new AggrParts();
  const buf = new SampleBuf();
  for (const b of blocks) {
    for await (const s of selected(b, o.matchers)) {
      const labels = formatLabels(s.labels);
      for (const m of s.chunks) {
        if (m.maxt < mint || m.mint > maxt) continue;
        try {
          const c = await b.chunks.read(m.ref);
          const file = b.chunks.fileFor(m.ref);
          if (c.encoding === ENC_HISTOGRAM || c.encoding === ENC_FLOAT_HISTOGRAM) {
            const h =
              c.encoding === ENC_HISTOGRAM
                ? decodeHistogramChunk(c.data, file, c.dataOffset)
                : decodeFloatHistogramChunk(c.data, file, c.dataOffset);
            if (only === undefined) await printHist(out, labels + ' raw ', h, mint, maxt);
            continue;
          }
          if (c.encoding !== ENC_THANOS_AGGR) {
            decodeChunkInto(c, buf, file);
            if (only === undefined) await print(out, labels + ' raw ', buf, mint, maxt);
            continue;
          }
          splitAggrChunk(c.data, parts, file, c.dataOffset);
          for (let a = 0; a < NUM_AGGRS; a++) {
            if (only !== undefined && a !== only) continue;
            const prefix = only === undefined ? `${labels} ${AGGR_NAMES[a]} ` : labels + ' ';
            if (parts.enc[a] === ENC_FLOAT_HISTOGRAM) {
              const h = decodeAggrHistograms(c.data, parts, a as AggrType, file, c.dataOffset)!;
              await printHist(out, prefix, h, mint, maxt);
              continue;
            }
            if (!decodeAggrInto(c.data, parts, a as AggrType, buf, file, c.dataOffset)) continue;
            await print(out, prefix, buf, mint, maxt);
          }
        } catch (err) {
          throw located(err, b.ulid, labels);
        }
      }
    }
  }
}

async function print(
  out: BufferedOut,
  prefix: string,
  b: SampleBuf,
  mint: number,
  maxt: number,
): Promise<void> {
  for (let i = 0; i < b.len; i++) {
    const t = b.ts[i]!;
    if (t < mint || t > maxt) continue;
    await out.write(prefix + formatGoFloat(bitsToFloat(b.hi[i]!, b.lo[i]!)) + ' ' + t + '\n');
  }
}

async function printHist(
  out: BufferedOut,
  prefix: string,
  h: HistogramSamples<AnyHistogram>,
  mint: number,
  maxt: number,
): Promise<void> {
  for (let i = 0; i < h.hs.length; i++) {
    const t = h.ts[i]!;
    if (t < mint || t > maxt) continue;
    await out.write(prefix + formatHistogram(h.hs[i]!) + ' ' + t + '\n');
  }
}

interface Selected {
  labels: Labels;
  chunks: readonly ChunkMeta[];
}

async function* selected(b: BlockReader, matchers: readonly Matcher[]): AsyncGenerator<Selected> {
  if (matchers.length === 0) {
    for await (const s of b.index.seriesIterator()) {
      yield { labels: s.labels.map((l) => ({ name: l.name, value: l.value })), chunks: s.chunks.slice() };
    }
    return;
  }
  for (const id of await b.index.select(matchers)) yield await b.index.series(id);
}

/** A format error of a chunk, named by block and series (the message already has file and offset). */
function located(err: unknown, block: string, series: string): unknown {
  const code = errorCode(err);
  if (!(err instanceof StrataError) || code === undefined || !code.startsWith('ERR_TSDB_')) return err;
  return new StrataError(code as ErrorCode, `block ${block} series ${series}: ${errorMessage(err)}`, {
    cause: err,
  });
}
