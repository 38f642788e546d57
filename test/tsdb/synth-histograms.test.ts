/**
 * `strata tsdb synth --histograms`: blocks with native histogram series besides the float ones,
 * passing verification, holding exactly the generator's samples (two replicas, offset scrapes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockReader } from '../../src/tsdb/block/reader.js';
import { ENC_HISTOGRAM, ENC_XOR } from '../../src/tsdb/chunkenc/encoding.js';
import { decodeHistogramChunk } from '../../src/tsdb/chunkenc/histogram.js';
import { histogramSpec, synthHistogramSamples } from '../../src/tsdb/synth/native-histograms.js';
import { writeSynthBlocks } from '../../src/tsdb/synth/write.js';
import { verifyBlock } from '../../src/tsdb/verify/verify.js';
import { tempDir } from './helpers.js';

const SEED = 7;
const START = 1_700_000_000_000 - (1_700_000_000_000 % 7_200_000);
let root: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  root = await tempDir('strata-synth-hist-');
});
afterAll(async () => {
  await root.cleanup();
});

describe('synth with native histograms', () => {
  it('writes verified blocks whose histogram series hold the generator samples', async () => {
    const blocks = await writeSynthBlocks({
      outDir: root.dir,
      series: 5,
      histograms: 6,
      hours: 2,
      seed: SEED,
      startMs: START,
      replicas: 2,
    });
    expect(blocks).toHaveLength(2);
    for (const [r, blk] of blocks.entries()) {
      expect((await verifyBlock(blk.dir)).problems).toEqual([]);
      const b = await BlockReader.open(blk.dir);
      try {
        const encodings = new Set<number>();
        let hist = 0;
        const cursor = b.index.seriesCursor();
        const found: { name: string; inst: string; refs: number[] }[] = [];
        for (;;) {
          while (cursor.next()) {
            const l = cursor.series.labels;
            found.push({
              name: l.find((x) => x.name === '__name__')!.value,
              inst: l.find((x) => x.name === 'instance')!.value,
              refs: cursor.series.chunks.map((m) => m.ref),
            });
          }
          if (!(await cursor.load())) break;
        }
        for (const s of found) {
          const ts: number[] = [];
          const counts: number[] = [];
          for (const ref of s.refs) {
            const c = await b.chunks.read(ref);
            encodings.add(c.encoding);
            if (c.encoding !== ENC_HISTOGRAM) continue;
            const d = decodeHistogramChunk(c.data.slice());
            ts.push(...d.ts);
            counts.push(...d.hs.map((h) => h.count));
          }
          if (!s.name.startsWith('synth_native_')) continue;
          hist++;
          const i = Number(s.inst.slice('hist-'.length));
          const spec = histogramSpec(SEED, i);
          // Replica r scrapes 2.5 s × r later (blocks come per replica, one 2 h window each).
          const shifted = { ...spec, offset: (spec.offset + r * 2_500) % 15_000 };
          const want = synthHistogramSamples(shifted, START, START + 7_200_000);
          expect(ts).toEqual(want.ts);
          expect(counts).toEqual(want.hs.map((h) => h.count));
        }
        expect(hist).toBe(6);
        expect([...encodings].sort()).toEqual([ENC_XOR, ENC_HISTOGRAM]);
      } finally {
        await b.close();
      }
    }
  });
});
