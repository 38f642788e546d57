/**
 * The format oracle: blocks written by promtool read identically in Strata, blocks written by
 * Strata read identically in promtool, and Strata re-encodes promtool's XOR chunks byte for byte.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createBlocksFromOpenMetrics, promtoolAnalyze, promtoolDump } from '../services/prometheus.js';
import { generateOpenMetrics, generateSamples } from '../support/openmetrics.js';
import { diffDumps, samplesToDump, sortDumpLines } from '../support/dump.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { strataDump, tempDir, writeBlockFromSamples } from './helpers.js';
import { BlockReader } from '../../src/tsdb/block/reader.js';
import { XorAppender } from '../../src/tsdb/chunkenc/xor.js';
import { decodeChunkInto } from '../../src/tsdb/chunkenc/chunk.js';
import { SampleBuf } from '../../src/tsdb/samples/sample-buf.js';
import { ENC_XOR } from '../../src/tsdb/chunkenc/encoding.js';
import { writeSynthBlocks } from '../../src/tsdb/synth/write.js';
import { verifyBlock } from '../../src/tsdb/verify/verify.js';

let root: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  root = await tempDir('strata-interop-');
});
afterAll(async () => {
  await root.cleanup();
  await assertNoLeakedProcesses();
});

function expectSameDump(expected: readonly string[], actual: readonly string[]): void {
  const diff = diffDumps(expected, actual);
  expect(diff, diff).toBeUndefined();
  expect(actual.length).toBe(expected.length);
}

describe('promtool → Strata', () => {
  const seeds = [1, 2, 3];
  for (const seed of seeds) {
    it(`strata dump equals promtool dump (seed ${seed}, specials, tricky labels, churn, gaps)`, async () => {
      const out = join(root.dir, `promtool-${seed}`);
      const om = generateOpenMetrics({
        seed,
        series: 40,
        durationMs: 5 * 3600_000,
        jitterMs: 40,
        churn: 0.2,
        gapProbability: 0.01,
      });
      const blocks = await createBlocksFromOpenMetrics(om, out);
      expect(blocks.length).toBeGreaterThanOrEqual(3);
      const want = await promtoolDump(out);
      const got = await strataDump(out);
      expectSameDump(sortDumpLines(want), sortDumpLines(got));
      // Same order as promtool, not only the same lines.
      expect(got).toEqual(want);
      for (const b of blocks) expect((await verifyBlock(b.dir)).problems).toEqual([]);
    });
  }

  it('--match, --min-time and --max-time select like promtool', async () => {
    const out = join(root.dir, 'promtool-1');
    const opts = { match: '{__name__=~"strata_gen_(requests_total|edge_values)", instance!="inst-0"}' };
    expectSameDump(await promtoolDump(out, opts), await strataDump(out, opts));
    const range = { minTime: 1_700_003_000_000, maxTime: 1_700_009_000_000 };
    expectSameDump(await promtoolDump(out, range), await strataDump(out, range));
  });

  it('decodes and re-encodes every promtool XOR chunk byte for byte', async () => {
    const blocks = await createBlocksFromOpenMetrics(
      generateOpenMetrics({ seed: 9, series: 60, durationMs: 4 * 3600_000, jitterMs: 500 }),
      join(root.dir, 'reencode'),
    );
    const buf = new SampleBuf();
    const app = new XorAppender();
    let chunks = 0;
    for (const b of blocks) {
      const r = await BlockReader.open(b.dir);
      try {
        for await (const s of r.index.seriesIterator()) {
          for (const m of s.chunks) {
            const c = await r.chunks.read(m.ref);
            expect(c.encoding).toBe(ENC_XOR);
            const original = Buffer.from(c.data);
            decodeChunkInto(c, buf, r.chunks.fileFor(m.ref));
            app.reset();
            for (let i = 0; i < buf.len; i++) app.appendBits(buf.ts[i]!, buf.hi[i]!, buf.lo[i]!);
            expect(Buffer.from(app.bytes()).equals(original)).toBe(true);
            chunks++;
          }
        }
      } finally {
        await r.close();
      }
    }
    expect(chunks).toBeGreaterThan(100);
  });
});

describe('Strata → promtool', () => {
  it('promtool dump equals the samples written, analyze succeeds', async () => {
    const out = join(root.dir, 'strata-written');
    const samples = generateSamples({
      seed: 5,
      series: 50,
      durationMs: 2 * 3600_000 - 1,
      startMs: 1_699_999_200_000,
      jitterMs: 30,
    });
    const res = await writeBlockFromSamples(out, samples, 120);
    expect(res).toBeDefined();
    const want = sortDumpLines(samplesToDump(samples));
    expectSameDump(want, sortDumpLines(await promtoolDump(out)));
    expectSameDump(want, sortDumpLines(await strataDump(out)));
    const a = await promtoolAnalyze(out, res!.meta.ulid);
    expect(a.series).toBe(50);
  });

  it('synth blocks (stale markers, churn, replicas) read the same in promtool and Strata', async () => {
    const out = join(root.dir, 'synth');
    const blocks = await writeSynthBlocks({
      outDir: out,
      series: 300,
      hours: 4,
      seed: 11,
      startMs: 1_700_000_000_000,
    });
    expect(blocks.length).toBe(2);
    const want = await promtoolDump(out);
    expect(want.some((l) => / NaN /.test(l))).toBe(true); // stale markers
    expect(await strataDump(out)).toEqual(want);
    for (const b of blocks) await promtoolAnalyze(out, b.meta.ulid);
  });

  it('long chunks (more than 120 samples, up to the format limit) read back in promtool', async () => {
    const out = join(root.dir, 'long-chunks');
    const samples = Array.from({ length: 5000 }, (_, i) => ({
      labels: { __name__: 'long', i: 'x' },
      t: 1_700_000_000_000 + i * 1000,
      v: i % 7 === 0 ? -0 : i * 1.5,
    }));
    await writeBlockFromSamples(out, samples, 5000);
    expectSameDump(samplesToDump(samples), await promtoolDump(out));
  });
});
