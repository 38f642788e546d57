/**
 * Thanos-compatible downsampling (5m and 1h aggregates): the public API of src/tsdb/downsample.
 * Block level: downsampleBlock. Series level (pure): RawDownsampler, AggrDownsampler. Aggregated
 * chunk format (encoding 0xff): encodeAggrChunk, splitAggrChunk, readAggregate, decodeAggrInto,
 * scanAggrTimes. Counter semantics across chunks: CounterResets.
 */
export {
  AGGR_COUNT,
  AGGR_COUNTER,
  AGGR_MAX,
  AGGR_MIN,
  AGGR_NAMES,
  AGGR_SUM,
  AggrParts,
  NUM_AGGRS,
  aggrNumSamples,
  decodeAggrInto,
  decodeAggrHistograms,
  encodeAggrChunk,
  isHistogramAggr,
  parseAggrName,
  readAggregate,
  scanAggrTimes,
  splitAggrChunk,
  type AggrName,
  type AggrSubChunks,
  type AggrType,
} from './aggr-chunk.js';
export { AggrDownsampler, appendWindows, type AggrInput } from './aggr.js';
export {
  DOWNSAMPLE_RANGE_1H_MS,
  DOWNSAMPLE_RANGE_5M_MS,
  RES_1H,
  RES_5M,
  RES_RAW,
  downsampleBlock,
  type DownsampleOptions,
  type DownsampleResult,
} from './block.js';
export { CounterResets } from './counter.js';
export { DownsampleInputError } from './errors.js';
export { FloatSeries } from './float-series.js';
export { HistSeries } from './hist-aggregator.js';
export { HIST_AGGR_ENCODINGS, HistRawDownsampler } from './hist-raw.js';
export { MAX_WINDOWS_PER_CHUNK, RawDownsampler, targetChunkCount, windowEnd } from './raw.js';
