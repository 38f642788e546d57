/**
 * The ChunkCodecs of histogram chunks (encodings 2 and 3) for the chunk dispatch, and whole-chunk
 * decoding helpers. Their samples are not floats: `decodeInto` (float samples) refuses them with
 * ERR_TSDB_UNKNOWN_ENCODING; use the iterators or decodeHistogramChunk / decodeFloatHistogramChunk.
 */
import { FormatError, errorCode } from '../../util/errors.js';
import { cloneHistogram, type FloatHistogram, type Histogram } from '../histogram/types.js';
import type { ChunkCodec, ChunkTimeSummary } from './codec.js';
import { ENC_FLOAT_HISTOGRAM, ENC_HISTOGRAM, encodingName } from './encoding.js';
import { FloatHistogramChunkIterator } from './float-histogram-decode.js';
import { HistogramChunkIterator, histChunkHeader } from './histogram-decode.js';
import { HistBitReader } from './hist-bits.js';
import { HIST_HEADER_BYTES, newLayout, readLayout, type Layout } from './hist-meta.js';

interface TimeIterator {
  t: number;
  reset(bytes: Uint8Array, file: string, base: number): void;
  next(): boolean;
}

const scanInt = new HistogramChunkIterator();
const scanFloat = new FloatHistogramChunkIterator();

function scan(it: TimeIterator, data: Uint8Array, out: ChunkTimeSummary, file: string, off: number): void {
  it.reset(data, file, off);
  let n = 0;
  let first = NaN;
  let prev = NaN;
  out.disorderAt = -1;
  while (it.next()) {
    const t = it.t;
    if (n === 0) first = t;
    else if (out.disorderAt < 0 && !(t > prev)) {
      out.disorderAt = n;
      out.disorderT = t;
      out.disorderPrevT = prev;
    }
    prev = t;
    n++;
  }
  out.samples = n;
  out.first = first;
  out.last = prev;
}

function notFloats(encoding: number, file: string, off: number): FormatError {
  return new FormatError(
    'ERR_TSDB_UNKNOWN_ENCODING',
    file,
    off - 1,
    `chunk encoding ${encodingName(encoding)} holds histogram samples and cannot be decoded as float samples`,
  );
}

export const histogramCodec: ChunkCodec = {
  encoding: ENC_HISTOGRAM,
  samples: 'histogram',
  decodeInto(_data, _out, file, off): void {
    throw notFloats(ENC_HISTOGRAM, file, off);
  },
  scanTimes(data, out, file, off): void {
    scan(scanInt, data, out, file, off);
  },
  firstTime(data, file, off): number {
    return histogramChunkHead(data, file, off);
  },
};

export const floatHistogramCodec: ChunkCodec = {
  encoding: ENC_FLOAT_HISTOGRAM,
  samples: 'floathistogram',
  decodeInto(_data, _out, file, off): void {
    throw notFloats(ENC_FLOAT_HISTOGRAM, file, off);
  },
  scanTimes(data, out, file, off): void {
    scan(scanFloat, data, out, file, off);
  },
  firstTime(data, file, off): number {
    return histogramChunkHead(data, file, off);
  },
};

/** Decoded samples of one chunk (copies: they may be kept). */
export interface HistogramSamples<H> {
  ts: Float64Array;
  hs: H[];
  /** The chunk's counter-reset header (HEADER_* value). */
  header: number;
}

/** All samples of an encoding-2 chunk; FormatError on corruption. Allocates per sample. */
export function decodeHistogramChunk(
  data: Uint8Array,
  file = '<chunk>',
  off = 0,
): HistogramSamples<Histogram> {
  const it = new HistogramChunkIterator();
  it.reset(data, file, off);
  const ts = new Float64Array(it.numSamples);
  const hs: Histogram[] = [];
  while (it.next()) {
    ts[hs.length] = it.t;
    hs.push(cloneHistogram(it.at()));
  }
  return { ts, hs, header: it.header };
}

/** All samples of an encoding-3 chunk; FormatError on corruption. Allocates per sample. */
export function decodeFloatHistogramChunk(
  data: Uint8Array,
  file = '<chunk>',
  off = 0,
): HistogramSamples<FloatHistogram> {
  const it = new FloatHistogramChunkIterator();
  it.reset(data, file, off);
  const ts = new Float64Array(it.numSamples);
  const hs: FloatHistogram[] = [];
  while (it.next()) {
    ts[hs.length] = it.t;
    hs.push(cloneHistogram(it.at()));
  }
  return { ts, hs, header: it.header };
}

const headReader = new HistBitReader();
const headLayout: Layout = newLayout();

/**
 * The cheap check of a histogram chunk (either encoding) that is copied byte for byte: a sample
 * count, a bucket layout that parses, and the first timestamp (returned, for the caller to compare
 * with the chunk's mint). O(layout), not O(samples): the rest is covered by the CRC, as for XOR.
 */
function histogramChunkHead(data: Uint8Array, file: string, off: number): number {
  const { samples } = histChunkHeader(data, file, off);
  if (samples === 0) throw new FormatError('ERR_TSDB_CORRUPT', file, off, 'histogram chunk with 0 samples');
  // Most heads fit in the first bytes: load only those (the reader converts what it is given to
  // words), and the whole chunk only when the head runs past them.
  if (data.length > HEAD_PREFIX_BYTES) {
    try {
      return readHead(data, file, off, HEAD_PREFIX_BYTES);
    } catch (err) {
      if (errorCode(err) !== 'ERR_TSDB_TRUNCATED') throw err;
    }
  }
  return readHead(data, file, off, data.length);
}

const HEAD_PREFIX_BYTES = 128;

function readHead(data: Uint8Array, file: string, off: number, len: number): number {
  headReader.reset(data, HIST_HEADER_BYTES, file, off, len);
  readLayout(headReader, headLayout, false);
  return headReader.varbitInt('first timestamp');
}

/**
 * The check of a histogram chunk copied byte for byte: its head parses and its first timestamp is
 * `mint` (the index entry's); the samples after the head are covered by the CRC, as for XOR chunks
 * (decoding every copied chunk cost ~80% of a histogram compaction).
 */
export function checkHistogramChunkHead(data: Uint8Array, file: string, off: number, mint: number): void {
  const first = histogramChunkHead(data, file, off);
  if (first !== mint) {
    throw new FormatError(
      'ERR_TSDB_CORRUPT',
      file,
      off,
      `histogram chunk starts at ${first}, its index entry says ${mint}`,
    );
  }
}
