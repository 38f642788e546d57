import { describe, expect, it } from 'vitest';
import {
  decodeHistogramChunk,
  encodeHistogramChunks,
  HEADER_COUNTER_RESET,
  HEADER_GAUGE,
} from '../chunkenc/histogram.js';
import { histogramAt, histogramSpec, synthHistogramSamples } from './native-histograms.js';

describe('native histogram synth', () => {
  it('is a pure function of (seed, series, scrape): windows agree with the whole', () => {
    const spec = histogramSpec(7, 2);
    const all = synthHistogramSamples(spec, 0, 4 * 3600_000);
    const part = synthHistogramSamples(spec, 3600_000, 2 * 3600_000);
    const k = all.ts.indexOf(part.ts[0]!);
    expect(k).toBeGreaterThan(0);
    expect(part.hs[5]).toEqual(all.hs[k + 5]);
    expect(histogramAt(spec, 17)).toEqual(histogramAt(spec, 17));
  });

  it('latency series reset and grow; gauge series move; all encode and decode', () => {
    const lat = histogramSpec(1, 0);
    const g = histogramSpec(1, 4);
    expect([lat.kind, g.kind]).toEqual(['latency', 'gauge']);
    for (const spec of [lat, g]) {
      const { ts, hs } = synthHistogramSamples(spec, 0, 6 * 3600_000);
      const chunks = encodeHistogramChunks(ts, hs);
      const headers = new Set(chunks.map((c) => c.data[2]));
      if (spec.kind === 'latency') expect(headers.has(HEADER_COUNTER_RESET)).toBe(true);
      else expect([...headers]).toEqual([HEADER_GAUGE]);
      let n = 0;
      for (const c of chunks) n += decodeHistogramChunk(c.data).hs.length;
      expect(n).toBe(hs.length);
      const layouts = new Set(hs.map((h) => JSON.stringify(h.positiveSpans)));
      expect(layouts.size).toBeGreaterThan(3);
    }
  });
});
