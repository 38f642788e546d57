/**
 * Native histogram chunks (encodings 2 and 3), byte-compatible with Prometheus v2.42–v2.53
 * tsdb/chunkenc (histogram.go, float_histogram.go, histogram_meta.go, varbit.go). Schemas
 * -4..8 only: the custom-bucket schema -53 of Prometheus 3.x is refused as corrupt.
 *
 * Reading: HistogramChunkIterator / FloatHistogramChunkIterator (no per-sample allocation), or
 * decodeHistogramChunk / decodeFloatHistogramChunk (copies). Writing one chunk: HistogramAppender
 * / FloatHistogramAppender (appendRaw, appendable, appendableGauge, recode). Writing a series
 * with Prometheus' chunk rules: HistogramSeriesEncoder, encodeHistogramChunks,
 * encodeFloatHistogramChunks, with SplitEvery (compaction, 120) or HeadCutPolicy (head, 1 KiB).
 */
export { FloatHistogramChunkIterator } from './float-histogram-decode.js';
export { FloatHistogramAppender } from './float-histogram-encode.js';
export { HIST_MAX_SAMPLES, type AppendCheck, type GaugeCheck } from './hist-append.js';
export {
  COMPACT_SAMPLES_PER_CHUNK,
  HeadCutPolicy,
  MIN_SAMPLES_PER_HISTOGRAM_CHUNK,
  SplitEvery,
  TARGET_BYTES_PER_HISTOGRAM_CHUNK,
  type HistCutPolicy,
} from './hist-cut.js';
export {
  HEADER_COUNTER_RESET,
  HEADER_GAUGE,
  HEADER_MASK,
  HEADER_NOT_COUNTER_RESET,
  HEADER_UNKNOWN,
  headerName,
  hintToHeader,
  sampleHint,
  type CounterResetHeader,
} from './hist-meta.js';
export {
  HistogramSeriesEncoder,
  encodeFloatHistogramChunks,
  encodeHistogramChunks,
  type AppendOutcome,
} from './hist-series.js';
export {
  decodeFloatHistogramChunk,
  decodeHistogramChunk,
  floatHistogramCodec,
  histogramCodec,
  type HistogramSamples,
} from './histogram-codec.js';
export { HistogramChunkIterator, histChunkHeader } from './histogram-decode.js';
export { HistogramAppender } from './histogram-encode.js';
