/**
 * 5m → 1h through downsampleBlock on a crafted 5m block, after Thanos' TestDownsample ("realistic
 * ResLevel1") and TestDownsampleAggrAndEmptyXORChunks: an aggregated chunk followed by an empty XOR
 * chunk (which Thanos skips) gives the golden 1h aggregates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { BlockWriter } from '../../../src/tsdb/block/writer.js';
import { BlockReader } from '../../../src/tsdb/block/reader.js';
import { ENC_THANOS_AGGR, ENC_XOR } from '../../../src/tsdb/chunkenc/encoding.js';
import { labelsFromRecord } from '../../../src/tsdb/labels.js';
import { verifyBlock } from '../../../src/tsdb/verify/verify.js';
import { RES_1H, RES_5M, downsampleBlock } from '../../../src/tsdb/downsample/index.js';
import { aggrInput, readBack, xorChunk } from './harness.js';
import { realisticChkDataWithCounterResetRes5m } from './thanos-data.js';
import { tempDir } from '../helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('strata-ds-aggr-')));
afterAll(async () => cleanup());

describe('downsampleBlock on a 5m block', () => {
  it('an aggregated chunk and an empty XOR chunk → the golden 1h aggregates', async () => {
    const a = aggrInput(realisticChkDataWithCounterResetRes5m[0]!);
    const labels = labelsFromRecord({ __name__: 'a' });
    const w = await BlockWriter.create(join(dir, 'in'), {
      symbols: ['__name__', 'a'],
      minTime: a.mint,
      maxTime: a.maxt + 10,
      thanos: { labels: {}, downsample: { resolution: RES_5M }, source: 'test' },
    });
    await w.addSeries(labels, [
      { mint: a.mint, maxt: a.maxt, encoding: ENC_THANOS_AGGR, data: a.data, numSamples: 12 },
      { mint: a.maxt + 1, maxt: a.maxt + 1, encoding: ENC_XOR, data: xorChunk([]), numSamples: 0 },
    ]);
    const input = await w.finish();
    expect(input).toBeDefined();

    const r = await downsampleBlock(input!.dir, join(dir, 'out'), { resolution: RES_1H });
    expect(r.inputSamples).toBe(12);
    expect(r.outputSamples).toBe(1);
    expect((await verifyBlock(r.dir!)).problems.filter((p) => p.severity === 'error')).toEqual([]);
    const b = await BlockReader.open(r.dir!);
    try {
      const s = await b.index.series((await b.index.allPostings())[0]!);
      expect(s.chunks).toHaveLength(1);
      const c = await b.chunks.read(s.chunks[0]!.ref);
      const got = readBack({ ...s.chunks[0]!, encoding: c.encoding, data: c.data.slice(), numSamples: 1 });
      expect(got).toEqual({
        count: [[1587693590791, 236]],
        sum: [[1587693590791, 8.0151286e7]],
        min: [[1587693590791, 75]],
        max: [[1587693590791, 496544]],
        counter: [
          [1587690005791, 461968],
          [1587693590791, 511500],
          [1587693590791, 14956],
        ],
      });
    } finally {
      await b.close();
    }
  });
});
