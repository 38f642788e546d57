/** Test harness: Thanos' test shapes (sample lists, aggregate maps) in and out of Strata's API. */
import { XorAppender } from '../../../src/tsdb/chunkenc/xor-encode.js';
import { decodeXorInto, xorNumSamples } from '../../../src/tsdb/chunkenc/xor-decode.js';
import type { EncodedChunk } from '../../../src/tsdb/chunkenc/encode.js';
import { SampleBuf } from '../../../src/tsdb/samples/sample-buf.js';
import {
  AGGR_NAMES,
  AggrDownsampler,
  AggrParts,
  FloatSeries,
  RawDownsampler,
  decodeAggrInto,
  encodeAggrChunk,
  splitAggrChunk,
  type AggrInput,
  type AggrName,
  type AggrType,
} from '../../../src/tsdb/downsample/index.js';
import { STALE, type AggrMap, type S } from './thanos-data.js';

/** Encodes samples as an XOR chunk (STALE as the stale marker bits). */
export function xorChunk(samples: readonly S[]): Uint8Array {
  const app = new XorAppender();
  for (const [t, v] of samples) {
    if (v === STALE) app.appendBits(t, 0x7ff00000, 2);
    else app.append(t, v);
  }
  return app.bytes().slice();
}

export function decodeXor(data: Uint8Array): SampleBuf {
  const b = new SampleBuf(Math.max(1, xorNumSamples(data)));
  b.len = decodeXorInto(data, b.ts, b.hi, b.lo);
  return b;
}

/** Raw chunks as a block holds them, expanded into one series like the block path does. */
export function expandRaw(chunks: readonly (readonly S[])[]): FloatSeries {
  const s = new FloatSeries(16);
  for (const c of chunks) s.appendExpanded(decodeXor(xorChunk(c)));
  return s;
}

export function downsampleRawChunks(
  chunks: readonly (readonly S[])[],
  r: number,
  numChunks?: number,
): EncodedChunk[] {
  const out: EncodedChunk[] = [];
  new RawDownsampler().downsample(expandRaw(chunks), r, out, numChunks);
  return out;
}

/**
 * An aggregated chunk from a map, as Thanos' encodeTestAggrSeries builds it: every aggregate is
 * present (a missing key is an empty XOR chunk); the range spans all samples.
 */
export function aggrInput(m: AggrMap): AggrInput {
  let mint = Infinity;
  let maxt = -Infinity;
  const subs = AGGR_NAMES.map((name) => {
    const ss = m[name] ?? [];
    for (const [t] of ss) {
      if (t < mint) mint = t;
      if (t > maxt) maxt = t;
    }
    return xorChunk(ss);
  });
  return { data: encodeAggrChunk(subs), mint, maxt, file: '<test>', dataOffset: 0 };
}

export function downsampleAggrMaps(
  maps: readonly AggrMap[],
  inRes: number,
  outRes: number,
  numChunks?: number,
): EncodedChunk[] {
  const out: EncodedChunk[] = [];
  new AggrDownsampler().downsample(maps.map(aggrInput), inRes, outRes, out, numChunks);
  return out;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/**
 * The aggregates of an output chunk, read back as Thanos' test reads them (expandChunkIterator:
 * stale markers and samples going back in time dropped); absent aggregates are left out.
 */
export function readBack(c: EncodedChunk): AggrMap {
  const parts = new AggrParts();
  splitAggrChunk(c.data, parts, '<test>', 0);
  const out: AggrMap = {};
  const buf = new SampleBuf();
  for (let a = 0; a < 5; a++) {
    if (!decodeAggrInto(c.data, parts, a as AggrType, buf, '<test>', 0)) continue;
    const ss: S[] = [];
    let lastT = 0;
    for (let i = 0; i < buf.len; i++) {
      if (buf.hi[i] === 0x7ff00000 && buf.lo[i] === 2) continue;
      const t = buf.ts[i]!;
      if (t < lastT) continue;
      lastT = t;
      u32[1] = buf.hi[i]!;
      u32[0] = buf.lo[i]!;
      ss.push([t, f64[0]!]);
    }
    out[AGGR_NAMES[a] as AggrName] = ss;
  }
  return out;
}

/** The counter sub-chunk's samples as stored (no filtering). */
export function counterSamples(chunks: readonly EncodedChunk[]): S[] {
  const res: S[] = [];
  const parts = new AggrParts();
  const buf = new SampleBuf();
  for (const c of chunks) {
    splitAggrChunk(c.data, parts, '<test>', 0);
    decodeAggrInto(c.data, parts, 4, buf, '<test>', 0);
    for (let i = 0; i < buf.len; i++) {
      u32[1] = buf.hi[i]!;
      u32[0] = buf.lo[i]!;
      res.push([buf.ts[i]!, f64[0]!]);
    }
  }
  return res;
}

/** Encoded chunks as aggregated inputs (for a second downsampling pass). */
export function asInputs(chunks: readonly EncodedChunk[]): AggrInput[] {
  return chunks.map((c) => ({ data: c.data, mint: c.mint, maxt: c.maxt, file: '<test>', dataOffset: 0 }));
}
