/** Encoding decoded samples into XOR chunks cut every `maxSamples` samples. */
import type { SampleBuf } from '../samples/sample-buf.js';
import { ENC_XOR, type ChunkEncoding } from './encoding.js';
import { XorAppender } from './xor-encode.js';

export const DEFAULT_SAMPLES_PER_CHUNK = 120;

/** A chunk ready to be written to a segment. */
export interface EncodedChunk {
  mint: number;
  maxt: number;
  encoding: ChunkEncoding;
  data: Uint8Array;
  numSamples: number;
}

/**
 * Cuts samples [from, to) of `buf` into chunks. Each chunk's data is a fresh copy (the appender is
 * reused), so the result may be kept.
 */
export function encodeXorChunks(
  buf: SampleBuf,
  maxSamples: number = DEFAULT_SAMPLES_PER_CHUNK,
  app: XorAppender = new XorAppender(),
  from = 0,
  to = buf.len,
): EncodedChunk[] {
  const out: EncodedChunk[] = [];
  for (let start = from; start < to; start += maxSamples) {
    const end = Math.min(to, start + maxSamples);
    app.reset();
    app.appendRange(buf.ts, buf.hi, buf.lo, start, end);
    out.push({
      mint: buf.ts[start]!,
      maxt: buf.ts[end - 1]!,
      encoding: ENC_XOR,
      data: app.bytes().slice(),
      numSamples: end - start,
    });
  }
  return out;
}
