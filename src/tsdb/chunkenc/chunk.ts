/**
 * Chunks as read from a segment, decoded through the codec of their encoding byte (the shape of
 * Prometheus' chunkenc.FromData). This is the one place that refuses an encoding Strata cannot
 * decode. Adding an encoding: its codec file, plus one entry in CODECS.
 */
import { FormatError } from '../../util/errors.js';
import type { SampleBuf } from '../samples/sample-buf.js';
import type { ChunkCodec, ChunkTimeSummary } from './codec.js';
import { encodingName, type ChunkEncoding } from './encoding.js';
import { floatHistogramCodec, histogramCodec } from './histogram-codec.js';
import { xorCodec } from './xor-codec.js';

const CODECS: readonly ChunkCodec[] = [xorCodec, histogramCodec, floatHistogramCodec];

/** Indexed by encoding byte: one array load per chunk. */
const BY_ENCODING: readonly (ChunkCodec | undefined)[] = (() => {
  const t = new Array<ChunkCodec | undefined>(256).fill(undefined);
  for (const c of CODECS) t[c.encoding] = c;
  return t;
})();

const DECODABLE = CODECS.map((c) => encodingName(c.encoding)).join(', ');

export interface StoredChunk {
  readonly encoding: ChunkEncoding;
  readonly data: Uint8Array;
  /** File offset of data[0], for error messages (the encoding byte sits just before it). */
  readonly dataOffset: number;
}

/**
 * The codec of `encoding`; FormatError ERR_TSDB_UNKNOWN_ENCODING at `offset` (of the encoding
 * byte in `file`) when Strata cannot decode it.
 */
export function codecFor(encoding: ChunkEncoding, file: string, offset: number): ChunkCodec {
  const c = BY_ENCODING[encoding];
  if (c === undefined) {
    throw new FormatError(
      'ERR_TSDB_UNKNOWN_ENCODING',
      file,
      offset,
      `chunk encoding ${encodingName(encoding)} cannot be decoded (decodable: ${DECODABLE})`,
    );
  }
  return c;
}

/**
 * Replaces the contents of `out` with the chunk's float samples; a histogram chunk is refused
 * (ERR_TSDB_UNKNOWN_ENCODING): see histogram-codec.ts.
 */
export function decodeChunkInto(c: StoredChunk, out: SampleBuf, file: string): void {
  codecFor(c.encoding, file, c.dataOffset - 1).decodeInto(c.data, out, file, c.dataOffset);
}

/** Decodes a chunk (float or histogram) for checking: its sample count, time span and order. */
export function scanChunkTimes(c: StoredChunk, out: ChunkTimeSummary, file: string): void {
  codecFor(c.encoding, file, c.dataOffset - 1).scanTimes(c.data, out, file, c.dataOffset);
}

/** The chunk's first timestamp from its head only (see ChunkCodec.firstTime). */
export function chunkFirstTime(c: StoredChunk, file: string): number {
  return codecFor(c.encoding, file, c.dataOffset - 1).firstTime(c.data, file, c.dataOffset);
}
