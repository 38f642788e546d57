/**
 * What a chunk encoding provides to readers: one stateless codec object per encoding, found with
 * `codecFor` (chunk.ts). Codecs write into caller-owned buffers so decoding allocates nothing per
 * sample or per chunk.
 */
import type { SampleBuf } from '../samples/sample-buf.js';
import type { ChunkEncoding } from './encoding.js';

/** What `scanTimes` found in a chunk. */
export interface ChunkTimeSummary {
  samples: number;
  /** First and last timestamp (NaN when the chunk holds no sample). */
  first: number;
  last: number;
  /** Index of the first sample whose timestamp is not above its predecessor's; -1 when none. */
  disorderAt: number;
  /** With disorderAt > 0: that sample's timestamp and its predecessor's. */
  disorderT: number;
  disorderPrevT: number;
}

/** An empty summary for `scanTimes` to fill (one can be reused across chunks). */
export function newChunkTimeSummary(): ChunkTimeSummary {
  return { samples: 0, first: NaN, last: NaN, disorderAt: -1, disorderT: NaN, disorderPrevT: NaN };
}

/**
 * `file` and `dataOffset` (file offset of data[0]) only name the place of a FormatError.
 */
export interface ChunkCodec {
  readonly encoding: ChunkEncoding;
  /** The kind of samples the chunk holds; only 'float' chunks decode into a SampleBuf. */
  readonly samples: 'float' | 'histogram' | 'floathistogram';
  /** Replaces the contents of `out` with the chunk's samples (float chunks only). */
  decodeInto(data: Uint8Array, out: SampleBuf, file: string, dataOffset: number): void;
  /** Sample count, time span and order, without handing samples out. */
  scanTimes(data: Uint8Array, out: ChunkTimeSummary, file: string, dataOffset: number): void;
  /**
   * The first sample's timestamp, read from the chunk's head only (O(header), not O(samples));
   * FormatError when the chunk holds no sample or its head does not parse.
   */
  firstTime(data: Uint8Array, file: string, dataOffset: number): number;
}
