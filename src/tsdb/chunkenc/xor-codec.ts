/** The ChunkCodec of XOR float chunks (encoding 1). */
import type { SampleBuf } from '../samples/sample-buf.js';
import type { ChunkCodec, ChunkTimeSummary } from './codec.js';
import { ENC_XOR } from './encoding.js';
import { decodeXorInto, scanXorTimes, xorFirstTime, xorNumSamples } from './xor-decode.js';

export const xorCodec: ChunkCodec = {
  encoding: ENC_XOR,
  samples: 'float',

  decodeInto(data: Uint8Array, out: SampleBuf, file: string, dataOffset: number): void {
    const n = xorNumSamples(data, file, dataOffset);
    out.reset();
    out.ensure(n);
    out.len = decodeXorInto(data, out.ts, out.hi, out.lo, file, dataOffset);
  },

  scanTimes(data: Uint8Array, out: ChunkTimeSummary, file: string, dataOffset: number): void {
    scanXorTimes(data, out, file, dataOffset);
  },

  firstTime(data: Uint8Array, file: string, dataOffset: number): number {
    return xorFirstTime(data, file, dataOffset);
  },
};
