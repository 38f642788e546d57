/** Decoding a chunk read from a segment into a SampleBuf; only XOR chunks carry float samples. */
import { decodeXorInto, scanXorTimes, xorNumSamples, type XorTimeSummary } from './chunkenc/xor.js';
import { ENC_XOR, encodingName } from './chunkenc/encoding.js';
import { FormatError } from '../util/errors.js';
import type { SampleBuf } from './samples/sample-buf.js';

export interface StoredChunk {
  encoding: number;
  data: Uint8Array;
  /** File offset of data[0], for error messages. */
  dataOffset: number;
}

function checkXor(c: StoredChunk, file: string): void {
  if (c.encoding !== ENC_XOR) {
    throw new FormatError(
      'ERR_TSDB_UNKNOWN_ENCODING',
      file,
      c.dataOffset - 1,
      `chunk encoding ${encodingName(c.encoding)} cannot be decoded (only XOR float chunks are supported)`,
    );
  }
}

export function decodeChunkInto(c: StoredChunk, out: SampleBuf, file: string): void {
  checkXor(c, file);
  const n = xorNumSamples(c.data, file, c.dataOffset);
  out.reset();
  out.ensure(n);
  out.len = decodeXorInto(c.data, out.ts, out.hi, out.lo, file, c.dataOffset);
}

/** Decodes a chunk for checking: its sample count, time span and order (see scanXorTimes). */
export function scanChunkTimes(c: StoredChunk, out: XorTimeSummary, file: string): void {
  checkXor(c, file);
  scanXorTimes(c.data, out, file, c.dataOffset);
}
