/**
 * Bounded fuzzer (runs in CI): random bytes and mutated valid chunks into both histogram
 * decoders. Every outcome is samples or a FormatError with a stable code; nothing else is thrown
 * and nothing hangs (the whole run has a time budget).
 */
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../util/errors.js';
import { genSeries, toFloatHistograms, toHistograms } from '../synth/histograms.js';
import { seededRandom } from '../ulid.js';
import {
  FloatHistogramChunkIterator,
  HistogramChunkIterator,
  encodeFloatHistogramChunks,
  encodeHistogramChunks,
} from './histogram.js';
import { histogramCodec, floatHistogramCodec } from './histogram-codec.js';
import { newChunkTimeSummary } from './codec.js';

const CODES = new Set(['ERR_TSDB_TRUNCATED', 'ERR_TSDB_CORRUPT']);
const CASES = 3000;

const intIt = new HistogramChunkIterator();
const floatIt = new FloatHistogramChunkIterator();
const sum = newChunkTimeSummary();

/** Decodes with both decoders (and the time scan); returns how many threw a coded error. */
function feed(data: Uint8Array): number {
  let errors = 0;
  for (const it of [intIt, floatIt]) {
    try {
      it.reset(data, 'fuzz', 0);
      while (it.next()) it.at();
    } catch (e) {
      if (!(e instanceof FormatError) || !CODES.has(e.code)) throw e;
      expect(e.message).toMatch(/^fuzz at offset \d+: /);
      errors++;
    }
  }
  for (const c of [histogramCodec, floatHistogramCodec]) {
    try {
      c.scanTimes(data, sum, 'fuzz', 0);
    } catch (e) {
      if (!(e instanceof FormatError) || !CODES.has(e.code)) throw e;
    }
    try {
      c.firstTime(data, 'fuzz', 0);
    } catch (e) {
      if (!(e instanceof FormatError) || !CODES.has(e.code)) throw e;
    }
  }
  return errors;
}

function validChunks(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let seed = 1; seed <= 6; seed++) {
    const s = genSeries(seed, {
      samples: 130,
      negative: seed % 2 === 0,
      grow: 0.05,
      specialSums: seed === 3,
    });
    for (const c of encodeHistogramChunks(s.ts, toHistograms(s, seed === 5))) out.push(c.data.slice());
    for (const c of encodeFloatHistogramChunks(s.ts, toFloatHistograms(s))) out.push(c.data.slice());
  }
  return out;
}

describe('histogram decoder fuzzing', () => {
  it(`${CASES} random byte strings: only coded errors`, { timeout: 20_000 }, () => {
    const r = seededRandom(1234);
    const t0 = performance.now();
    let errors = 0;
    for (let i = 0; i < CASES; i++) {
      const n = Math.floor(r() * (r() < 0.8 ? 64 : 600));
      const b = new Uint8Array(n);
      for (let k = 0; k < n; k++) b[k] = Math.floor(r() * 256);
      // Small sample counts reach the per-sample paths more often.
      if (n >= 2 && r() < 0.5) b[0] = 0;
      errors += feed(b);
    }
    expect(errors).toBeGreaterThan(CASES);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  it(
    `${CASES} mutated valid chunks (bit flips, truncation, garbage tails): only coded errors`,
    { timeout: 20_000 },
    () => {
      const r = seededRandom(99);
      const chunks = validChunks();
      const t0 = performance.now();
      for (let i = 0; i < CASES; i++) {
        const src = chunks[Math.floor(r() * chunks.length)]!;
        let b = src.slice();
        const kind = Math.floor(r() * 4);
        if (kind === 0) {
          for (let f = 0; f < 1 + Math.floor(r() * 4); f++) {
            const p = Math.floor(r() * b.length);
            b[p]! ^= 1 << Math.floor(r() * 8);
          }
        } else if (kind === 1) {
          b = b.subarray(0, Math.floor(r() * b.length));
        } else if (kind === 2) {
          const tail = new Uint8Array(Math.floor(r() * 40));
          for (let k = 0; k < tail.length; k++) tail[k] = Math.floor(r() * 256);
          const c = new Uint8Array(b.length + tail.length);
          c.set(b);
          c.set(tail, b.length);
          b = c;
        } else {
          // Header fields: sample count and counter-reset bits.
          b[Math.floor(r() * 3)] = Math.floor(r() * 256);
        }
        feed(b);
      }
      expect(performance.now() - t0).toBeLessThan(10_000);
    },
  );
});
