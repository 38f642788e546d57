/**
 * Reading downsampled data, as Thanos' querier does (pkg/query/querier.go and iter.go):
 *
 * - the aggregates asked of the stores follow the PromQL function around the selector
 *   (aggrsFromFunc): min/min_* → min, max/max_* → max, count/count_* → count, sum_* → sum,
 *   rate/increase/irate/resets/xrate/xincrease → counter, anything else → count and sum (an
 *   average per window);
 * - max_resolution_window is step / 5 with auto-downsampling (else 0: raw only), and at most
 *   half the range of functions that need two samples in their range (rate, increase, delta...);
 * - a series whose answer holds aggregated chunks becomes plain samples: one aggregate's values,
 *   sum / count for the average, or the counter aggregate through counter-reset correction
 *   (CounterResets, Thanos' ApplyCounterResetsSeriesIterator) across raw and aggregated chunks
 *   alike; where chunks overlap, samples not after the previous chunk's last are dropped. The
 *   result is XOR chunks again, so merge, dedup, remote read and the querier's own Store API
 *   treat it like raw data. Native histogram series' aggregates come back as float histogram
 *   chunks (downsampled-hist.ts).
 */
import { Aggr } from '../../gen/thanos/store/storepb/rpc_pb.js';
import { decodeChunkInto } from '../tsdb/chunkenc/chunk.js';
import { encodeXorChunks } from '../tsdb/chunkenc/encode.js';
import { ENC_XOR } from '../tsdb/chunkenc/encoding.js';
import { bitsToFloat, floatHi, lastLo } from '../tsdb/chunkenc/float-bits.js';
import { CounterResets } from '../tsdb/downsample/index.js';
import { SampleBuf } from '../tsdb/samples/sample-buf.js';
import { InvalidArgumentError, StrataError } from '../util/errors.js';
import { WIRE_XOR, type WireChunk } from './merge.js';
import { histogramRunToChunks, isHistogramChunk } from './downsampled-hist.js';

/** Thanos' aggrsFromFunc. */
export function aggrsFromFunc(f: string): Aggr[] {
  if (f === 'min' || f.startsWith('min_')) return [Aggr.MIN];
  if (f === 'max' || f.startsWith('max_')) return [Aggr.MAX];
  if (f === 'count' || f.startsWith('count_')) return [Aggr.COUNT];
  // "sum" itself wants the samples (the default); sum_over_time wants the sums.
  if (f.startsWith('sum_')) return [Aggr.SUM];
  if (COUNTER_FUNCS.has(f)) return [Aggr.COUNTER];
  return [Aggr.COUNT, Aggr.SUM];
}

const COUNTER_FUNCS: ReadonlySet<string> = new Set([
  'increase',
  'rate',
  'irate',
  'resets',
  'xincrease',
  'xrate',
]);

/** Functions that need two samples in their range (Thanos' promqlFuncRequiresTwoSamples). */
const TWO_SAMPLE_FUNCS: ReadonlySet<string> = new Set([
  'rate',
  'irate',
  'increase',
  'delta',
  'idelta',
  'deriv',
  'predict_linear',
  'holt_winters',
  'double_exponential_smoothing',
]);

/**
 * The max_resolution_window of a selection: step / 5 with auto-downsampling (0 without), capped
 * at half the range for functions that need two samples per range (Thanos'
 * maxResolutionFromSelectHints). All in ms.
 */
export function resolutionWindow(
  autoDownsampling: boolean,
  stepMs: number,
  rangeMs: number,
  func: string,
): number {
  let w = autoDownsampling && stepMs > 0 ? Math.floor(stepMs / 5) : 0;
  if (rangeMs > 0 && TWO_SAMPLE_FUNCS.has(func)) w = Math.min(w, Math.floor(rangeMs / 2));
  return w;
}

/** A Store API chunk as received (the parts used here). */
export interface WireSubChunk {
  readonly type: number;
  readonly data: Uint8Array;
}

export interface WireAggrChunk {
  readonly minTime: bigint;
  readonly maxTime: bigint;
  readonly raw?: WireSubChunk | undefined;
  readonly count?: WireSubChunk | undefined;
  readonly sum?: WireSubChunk | undefined;
  readonly min?: WireSubChunk | undefined;
  readonly max?: WireSubChunk | undefined;
  readonly counter?: WireSubChunk | undefined;
}

type Mode = 'count' | 'sum' | 'min' | 'max' | 'counter' | 'avg';

/** How the answer to a request with `aggregates` is read back (Thanos accepts one, or count+sum). */
export function aggrMode(aggregates: readonly Aggr[]): Mode {
  const set = new Set(aggregates.filter((a) => a !== Aggr.RAW));
  if (set.size === 0 || (set.size === 2 && set.has(Aggr.COUNT) && set.has(Aggr.SUM))) return 'avg';
  if (set.size === 1) {
    const a = [...set][0]!;
    return a === Aggr.COUNT
      ? 'count'
      : a === Aggr.SUM
        ? 'sum'
        : a === Aggr.MIN
          ? 'min'
          : a === Aggr.MAX
            ? 'max'
            : 'counter';
  }
  throw new InvalidArgumentError(
    `aggregates ${[...set].map((a) => Aggr[a]).join(',')}: only one aggregate, or COUNT and SUM, can be read back as samples`,
  );
}

/** Whether any chunk of a series is aggregated (no raw chunk). */
export function hasAggregated(chunks: readonly WireAggrChunk[]): boolean {
  return chunks.some((c) => c.raw === undefined);
}

function missing(what: string, c: WireAggrChunk, name: string): StrataError {
  return new StrataError(
    'ERR_STORE_AGGREGATE_MISSING',
    `${what}: chunk [${c.minTime}, ${c.maxTime}] has neither raw data nor the ${name} aggregate`,
  );
}

function decodeXor(c: WireSubChunk, out: SampleBuf, what: string): void {
  if (c.type !== WIRE_XOR) {
    throw new InvalidArgumentError(
      `${what}: chunk encoding ${c.type} of the Store API cannot be decoded (only XOR)`,
    );
  }
  decodeChunkInto({ encoding: ENC_XOR, data: c.data, dataOffset: 0 }, out, what);
}

/** Reused scratch; conversion is synchronous. */
const one = new SampleBuf(256);
const other = new SampleBuf(256);
const all = new SampleBuf(1024);
const counter = new CounterResets();

/** The samples of one chunk for `mode` into `one` (average: sum / count per window). */
function chunkSamples(c: WireAggrChunk, mode: Mode, what: string): void {
  if (c.raw !== undefined) {
    decodeXor(c.raw, one, what);
    return;
  }
  if (mode !== 'avg') {
    const sub = c[mode];
    if (sub === undefined) throw missing(what, c, mode);
    decodeXor(sub, one, what);
    return;
  }
  if (c.sum === undefined) throw missing(what, c, 'sum');
  if (c.count === undefined) throw missing(what, c, 'count');
  decodeXor(c.sum, one, what);
  decodeXor(c.count, other, what);
  if (other.len !== one.len) {
    throw new StrataError(
      'ERR_TSDB_CORRUPT',
      `${what}: chunk [${c.minTime}, ${c.maxTime}] has ${one.len} sums but ${other.len} counts`,
    );
  }
  for (let i = 0; i < one.len; i++) {
    const v = bitsToFloat(one.hi[i]!, one.lo[i]!) / bitsToFloat(other.hi[i]!, other.lo[i]!);
    one.hi[i] = floatHi(v);
    one.lo[i] = lastLo();
  }
}

/**
 * The chunks of one series (in min-time order, as stores send them) read back as XOR chunks of
 * the values `aggregates` asked for (see the file comment).
 */
export function aggregatedToXor(
  chunks: readonly WireAggrChunk[],
  aggregates: readonly Aggr[],
  what: string,
): WireChunk[] {
  const mode = aggrMode(aggregates);
  if (!chunks.some(isHistogramChunk)) return floatRun(chunks, mode, what);
  // A series that was float for a while and histogram for another: each run read back on its own.
  const out: WireChunk[] = [];
  let from = 0;
  for (let i = 1; i <= chunks.length; i++) {
    if (i < chunks.length && isHistogramChunk(chunks[i]!) === isHistogramChunk(chunks[from]!)) continue;
    const run = chunks.slice(from, i);
    out.push(
      ...(isHistogramChunk(chunks[from]!)
        ? histogramRunToChunks(run, mode, what)
        : floatRun(run, mode, what)),
    );
    from = i;
  }
  return out;
}

function floatRun(chunks: readonly WireAggrChunk[], mode: Mode, what: string): WireChunk[] {
  all.reset();
  counter.reset();
  for (const c of chunks) {
    chunkSamples(c, mode, what);
    if (mode === 'counter') {
      for (let i = 0; i < one.len; i++) {
        if (counter.push(one.ts[i]!, bitsToFloat(one.hi[i]!, one.lo[i]!))) {
          all.push(counter.t, floatHi(counter.total), lastLo());
        }
      }
      continue;
    }
    // Overlapping chunks: keep only what comes after the last sample so far (Thanos' iterator).
    let from = 0;
    if (all.len > 0) {
      const last = all.ts[all.len - 1]!;
      while (from < one.len && one.ts[from]! <= last) from++;
    }
    all.pushRange(one, from, one.len);
  }
  if (all.len === 0) return [];
  return encodeXorChunks(all).map((e) => ({
    minTime: e.mint,
    maxTime: e.maxt,
    type: WIRE_XOR,
    data: e.data,
  }));
}
