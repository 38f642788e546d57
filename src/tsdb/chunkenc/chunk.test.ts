import { describe, expect, it } from 'vitest';
import { FormatError } from '../../util/errors.js';
import { SampleBuf } from '../samples/sample-buf.js';
import type { ChunkTimeSummary } from './codec.js';
import { chunkFirstTime, codecFor, decodeChunkInto, scanChunkTimes, type StoredChunk } from './chunk.js';
import { DEFAULT_SAMPLES_PER_CHUNK, encodeXorChunks } from './encode.js';
import {
  ENC_FLOAT_HISTOGRAM,
  ENC_HISTOGRAM,
  ENC_NONE,
  ENC_THANOS_AGGR,
  ENC_XOR,
  ENC_XOR2,
} from './encoding.js';
import { floatHi, floatLo } from './float-bits.js';
import { encodeHistogramChunks } from './hist-series.js';
import { newHistogram } from '../histogram/types.js';

function samples(n: number, t0 = 1000): SampleBuf {
  const b = new SampleBuf(1);
  for (let i = 0; i < n; i++) b.push(t0 + 15_000 * i, floatHi(i * 1.5), floatLo(i * 1.5));
  return b;
}

function stored(encoding: number, data: Uint8Array, dataOffset = 101): StoredChunk {
  return { encoding, data, dataOffset };
}

describe('chunk codec dispatch', () => {
  it('finds the XOR and histogram codecs by their encoding byte', () => {
    expect(codecFor(ENC_XOR, 'f', 0).samples).toBe('float');
    expect(codecFor(ENC_HISTOGRAM, 'f', 0).samples).toBe('histogram');
    expect(codecFor(ENC_FLOAT_HISTOGRAM, 'f', 0).samples).toBe('floathistogram');
  });

  it('histogram chunks scan through the dispatch but do not decode into float samples', () => {
    const h = newHistogram();
    h.count = 1;
    h.positiveSpans = [{ offset: 0, length: 1 }];
    h.positiveBuckets = Float64Array.of(1);
    const [c] = encodeHistogramChunks([1000, 2000, 3000], [h, h, h]);
    const sum = summary();
    scanChunkTimes(stored(ENC_HISTOGRAM, c!.data), sum, 'f');
    expect(sum).toMatchObject({ samples: 3, first: 1000, last: 3000, disorderAt: -1 });
    for (const enc of [ENC_HISTOGRAM, ENC_FLOAT_HISTOGRAM]) {
      const err = catchErr(() => decodeChunkInto(stored(enc, c!.data), new SampleBuf(), 'seg/000001'));
      expect((err as FormatError).code).toBe('ERR_TSDB_UNKNOWN_ENCODING');
      expect((err as FormatError).offset).toBe(100);
      expect((err as FormatError).message).toMatch(/encoding (float)?histogram holds histogram samples/);
    }
  });

  it('refuses every other encoding byte with ERR_TSDB_UNKNOWN_ENCODING at the encoding byte', () => {
    for (const enc of [ENC_NONE, ENC_XOR2, 0x42, ENC_THANOS_AGGR]) {
      const data = encodeXorChunks(samples(3))[0]!.data;
      const err = catchErr(() => decodeChunkInto(stored(enc, data), new SampleBuf(), 'seg/000001'));
      expect(err).toBeInstanceOf(FormatError);
      expect((err as FormatError).code).toBe('ERR_TSDB_UNKNOWN_ENCODING');
      expect((err as FormatError).file).toBe('seg/000001');
      expect((err as FormatError).offset).toBe(100);
      expect((err as FormatError).message).toMatch(
        /cannot be decoded \(decodable: XOR, histogram, floathistogram\)/,
      );
      expect(() => scanChunkTimes(stored(enc, data), summary(), 'f')).toThrow(/cannot be decoded/);
    }
  });

  it('decodes what encodeXorChunks cut, chunk by chunk, replacing the buffer contents', () => {
    const src = samples(2 * DEFAULT_SAMPLES_PER_CHUNK + 7);
    const chunks = encodeXorChunks(src);
    expect(chunks.map((c) => c.numSamples)).toEqual([120, 120, 7]);
    const out = new SampleBuf(1);
    out.push(1, 2, 3);
    let k = 0;
    for (const c of chunks) {
      decodeChunkInto(stored(c.encoding, c.data), out, 'f');
      expect(out.len).toBe(c.numSamples);
      expect(out.ts[0]).toBe(c.mint);
      expect(out.ts[out.len - 1]).toBe(c.maxt);
      for (let i = 0; i < out.len; i++, k++) {
        expect([out.ts[i], out.hi[i], out.lo[i]]).toEqual([src.ts[k], src.hi[k], src.lo[k]]);
      }
    }
    expect(k).toBe(src.len);
  });

  it('scans times through the same dispatch', () => {
    const [c] = encodeXorChunks(samples(5));
    const sum = summary();
    scanChunkTimes(stored(c!.encoding, c!.data), sum, 'f');
    expect(sum).toMatchObject({ samples: 5, first: c!.mint, last: c!.maxt, disorderAt: -1 });
  });

  it('reads the first timestamp from the head alone: equal to the scan, refusing empty and cut heads', () => {
    const h = newHistogram();
    h.count = 1;
    h.positiveSpans = [{ offset: 0, length: 1 }];
    h.positiveBuckets = Float64Array.of(1);
    const hist = encodeHistogramChunks([-5000, 2000, 3000], [h, h, h]);
    const xor = [
      ...encodeXorChunks(samples(130, 1_700_000_000_123)),
      ...encodeXorChunks(samples(3, -(2 ** 40))),
    ];
    const cases = [...xor, ...hist.map((c) => ({ ...c, encoding: ENC_HISTOGRAM }))];
    for (const c of cases) {
      const sum = summary();
      scanChunkTimes(stored(c.encoding, c.data), sum, 'f');
      expect(chunkFirstTime(stored(c.encoding, c.data), 'f')).toBe(sum.first);
      // Only the head is read: the samples after it may be anything.
      const tail = Uint8Array.from(c.data);
      tail.fill(0xff, 12);
      expect(chunkFirstTime(stored(c.encoding, tail), 'f')).toBe(sum.first);
    }
    const empty = Uint8Array.from(xor[0]!.data);
    empty[0] = 0;
    empty[1] = 0;
    expect(() => chunkFirstTime(stored(ENC_XOR, empty, 7), 'seg')).toThrow(
      /seg at offset 7: XOR chunk with 0 samples/,
    );
    for (const c of [xor[0]!, { ...hist[0]!, encoding: ENC_HISTOGRAM }]) {
      const err = catchErr(() => chunkFirstTime(stored(c.encoding, c.data.subarray(0, 3)), 'seg'));
      expect(err).toBeInstanceOf(FormatError);
      expect((err as FormatError).code).toBe('ERR_TSDB_TRUNCATED');
    }
  });

  it('names the file and data offset of a corrupt chunk', () => {
    const err = catchErr(() =>
      decodeChunkInto(stored(ENC_XOR, new Uint8Array([0]), 500), new SampleBuf(), 'g'),
    );
    expect(err).toBeInstanceOf(FormatError);
    expect((err as FormatError).code).toBe('ERR_TSDB_TRUNCATED');
    expect((err as FormatError).file).toBe('g');
    expect((err as FormatError).offset).toBe(500);
  });
});

function summary(): ChunkTimeSummary {
  return { samples: -1, first: 0, last: 0, disorderAt: 0, disorderT: 0, disorderPrevT: 0 };
}

function catchErr(f: () => void): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  return undefined;
}
