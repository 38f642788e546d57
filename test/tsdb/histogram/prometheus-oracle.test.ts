/**
 * Oracle: a real Prometheus 2.42 writes native histogram chunks. The test remote-writes integer
 * histograms (counters with growing layouts and resets, negative buckets, a 9-byte zero
 * threshold, gauges) for 5.5 h ending now; the head cuts 2 h blocks within about a minute.
 * Strata's decoder must return exactly the written samples from every chunk of those blocks (which `strata tsdb verify` passes), and
 * its appender must rebuild every chunk byte for byte from the written samples (counter-reset
 * header bits aside: they depend on why the head cut the chunk).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import {
  copyBlocksInto,
  queryRange,
  startPrometheus,
  type PrometheusServer,
} from '../../services/prometheus.js';
import { assertNoLeakedProcesses, waitFor } from '../../support/processes.js';
import { tempDir } from '../helpers.js';
import { findBlocks, histogramSeriesToWire, remoteWrite } from '../../support/remote-write.js';
import { BlockReader } from '../../../src/tsdb/block/reader.js';
import { verifyBlock } from '../../../src/tsdb/verify/verify.js';
import { ENC_HISTOGRAM } from '../../../src/tsdb/chunkenc/encoding.js';
import {
  HEADER_COUNTER_RESET,
  HEADER_GAUGE,
  HistogramAppender,
  HistogramChunkIterator,
  HistogramSeriesEncoder,
  SplitEvery,
} from '../../../src/tsdb/chunkenc/histogram.js';
import { isStaleNaN, type Histogram } from '../../../src/tsdb/histogram/types.js';
import { bucketIndexes } from '../../../src/tsdb/chunkenc/hist-spans.js';
import { genSeries, toHistograms, type GenOptions } from '../../../src/tsdb/synth/histograms.js';
import { compactBlocks } from '../../../src/tsdb/compact/compact.js';
import { ulidSource } from '../../../src/tsdb/ulid.js';
import { BlockWriter } from '../../../src/tsdb/block/writer.js';
import { labelsFromRecord } from '../../../src/tsdb/labels.js';
import { copyBlockAs } from '../../compact/helpers.js';
import { readMetaFile } from '../../../src/tsdb/meta.js';

const STEP = 15_000;
// Enough that, wherever now falls in its 2 h range, the head holds > 3 h after the first
// (partial) block and cuts a second, full one.
const HOURS = 5.5;

let root: { dir: string; cleanup: () => Promise<void> };
let prom: PrometheusServer | undefined;
/** Set by the first test: what was written and the blocks Prometheus cut. */
let written: Written[] = [];
let promBlocks: string[] = [];
/** Strata's outputs (horizontal, vertical), for the server comparison. */
const outputs: string[] = [];
beforeAll(async () => {
  root = await tempDir('strata-hist-oracle-');
});
afterAll(async () => {
  await prom?.stop();
  await root.cleanup();
  await assertNoLeakedProcesses();
});

interface Written {
  name: string;
  ts: number[];
  hs: Histogram[];
}

function meaning(h: Histogram): unknown {
  const abs = (spans: Histogram['positiveSpans'], b: Float64Array): [number, number][] => {
    let c = 0;
    const out: [number, number][] = [];
    bucketIndexes(spans).forEach((k, i) => {
      c += b[i]!;
      if (c !== 0) out.push([k, c]);
    });
    return out;
  };
  return {
    schema: h.schema,
    zt: h.zeroThreshold,
    count: h.count,
    zero: h.zeroCount,
    sum: Number.isNaN(h.sum) ? 'NaN' : h.sum,
    pos: abs(h.positiveSpans, h.positiveBuckets),
    neg: abs(h.negativeSpans, h.negativeBuckets),
  };
}

describe('Prometheus 2.42 native histogram chunks', () => {
  it('decode to the written samples and re-encode byte for byte', { timeout: 300_000 }, async () => {
    const n = Math.floor((HOURS * 3600_000) / STEP);
    const t0 = Math.floor((Date.now() - HOURS * 3600_000) / STEP) * STEP;
    const variants: [string, GenOptions, boolean][] = [
      ['lat_grow', { samples: n, grow: 0.02 }, false],
      ['lat_resets', { samples: n, grow: 0.01, resets: 0.01 }, false],
      ['lat_neg', { samples: n, negative: true, grow: 0.02, resets: 0.005 }, false],
      ['lat_schema', { samples: n, schemaChange: 0.005 }, false],
      ['lat_sums', { samples: n, specialSums: true, negative: true }, false],
      ['gauge_moving', { samples: n, gauge: true, negative: true, grow: 0.05 }, true],
      ['gauge_plain', { samples: n, gauge: true }, true],
    ];
    written = variants.map(([name, o, gauge], k) => {
      const s = genSeries(100 + k, { ...o, step: STEP, t0 });
      return { name, ts: s.ts, hs: toHistograms(s, gauge) };
    });
    const dataDir = join(root.dir, 'prom');
    prom = await startPrometheus({
      dataDir,
      extraArgs: ['--enable-feature=native-histograms', '--web.enable-remote-write-receiver'],
    });
    // All series advance together, 30 minutes per request, so the head accepts every sample.
    const batch = 120;
    for (let i = 0; i < n; i += batch) {
      await remoteWrite(
        prom.url,
        written.map((w) => histogramSeriesToWire(w.name, w.ts, w.hs, i, Math.min(n, i + batch))),
      );
    }
    // The data starts inside one 2 h range: a partial block, then a full one.
    const dirs = await waitFor('2 blocks cut by the head', () => findBlocks(dataDir, 2), 180_000, 1000);
    promBlocks = dirs;
    let chunksChecked = 0;
    /** Chunks whose layout grew after their first sample (Prometheus recoded them). */
    let recoded = 0;
    const headersSeen = new Set<number>();
    for (const dir of dirs) {
      const block = await BlockReader.open(dir);
      try {
        const { minTime, maxTime } = block.meta;
        const it = new HistogramChunkIterator();
        const cursor = block.index.seriesCursor();
        let seen = 0;
        for (;;) {
          while (cursor.next()) {
            const s = cursor.series;
            const name = s.labels.find((l) => l.name === '__name__')!.value;
            const w = written.find((x) => x.name === name)!;
            const file = block.chunks.fileFor(s.chunks[0]!.ref);
            let k = w.ts.findIndex((t) => t >= minTime);
            for (const m of s.chunks) {
              const c = await block.chunks.read(m.ref);
              expect(c.encoding).toBe(ENC_HISTOGRAM);
              const data = c.data.slice();
              it.reset(data, file, c.dataOffset);
              const first = k;
              while (it.next()) {
                const h = it.at();
                expect(it.t).toBe(w.ts[k]);
                expect(isStaleNaN(h.sum)).toBe(false);
                expect(meaning(h)).toEqual(meaning(w.hs[k]!));
                if (w.hs[k]!.counterResetHint === 3) expect(h.counterResetHint).toBe(3);
                k++;
              }
              expect(it.t).toBe(m.maxt);
              // Rebuild the chunk from the written samples with Prometheus' appender rules.
              const enc = new HistogramSeriesEncoder<Histogram>(
                () => new HistogramAppender(),
                new SplitEvery(65535),
              );
              for (let i = first; i < k; i++) enc.append(w.ts[i]!, w.hs[i]!);
              const mine = enc.finish();
              if (
                w.hs
                  .slice(first, k)
                  .some((h) => h.positiveBuckets.length !== w.hs[first]!.positiveBuckets.length)
              )
                recoded++;
              expect(mine.length).toBe(1);
              const a = Buffer.from(mine[0]!.data);
              const b = Buffer.from(data);
              headersSeen.add(b[2]! & 0xc0);
              if (w.hs[first]!.counterResetHint === 3) expect(b[2]! & 0xc0).toBe(HEADER_GAUGE);
              a[2] = a[2]! & 0x3f;
              b[2] = b[2]! & 0x3f;
              expect(a.equals(b), `${name} chunk ${chunksChecked}: bytes differ`).toBe(true);
              chunksChecked++;
            }
            // The block holds exactly the written samples in [minTime, maxTime).
            expect(w.ts[k] === undefined || w.ts[k]! >= maxTime).toBe(true);
            seen++;
          }
          if (!(await cursor.load())) break;
        }
        expect(seen).toBe(written.length);
        // Verification scans histogram chunks through the chunk dispatch now.
        expect((await verifyBlock(dir)).problems).toEqual([]);
      } finally {
        await block.close();
      }
    }
    // 7 series × a full 2 h block: at least 120 samples per chunk in 2.42's head cut.
    expect(chunksChecked).toBeGreaterThan(written.length * 4);
    expect(headersSeen.has(HEADER_GAUGE)).toBe(true);
    expect(recoded).toBeGreaterThan(3);
    console.log(
      `histogram oracle: ${chunksChecked} chunks from Prometheus 2.42 equal, ${recoded} of them recoded`,
    );
    expect(headersSeen.has(HEADER_COUNTER_RESET)).toBe(true);
  });
});

/** Every histogram sample of a block by series name, decoded ("meaning"); gauge headers checked. */
async function blockSamples(dir: string): Promise<Map<string, { ts: number[]; ms: unknown[] }>> {
  const out = new Map<string, { ts: number[]; ms: unknown[] }>();
  const block = await BlockReader.open(dir);
  try {
    const it = new HistogramChunkIterator();
    const cursor = block.index.seriesCursor();
    for (;;) {
      while (cursor.next()) {
        const s = cursor.series;
        const name = s.labels.find((l) => l.name === '__name__')!.value;
        const acc = { ts: [] as number[], ms: [] as unknown[] };
        for (const m of s.chunks) {
          const c = await block.chunks.read(m.ref);
          expect(c.encoding).toBe(ENC_HISTOGRAM);
          it.reset(c.data.slice(), dir, c.dataOffset);
          if (name.startsWith('gauge')) expect(it.header & 0xc0).toBe(HEADER_GAUGE);
          while (it.next()) {
            acc.ts.push(it.t);
            acc.ms.push(meaning(it.at()));
          }
        }
        out.set(name, acc);
      }
      if (!(await cursor.load())) break;
    }
  } finally {
    await block.close();
  }
  return out;
}

function expectWritten(got: Map<string, { ts: number[]; ms: unknown[] }>, from: number, to: number): void {
  expect([...got.keys()].sort()).toEqual(written.map((w) => w.name).sort());
  for (const w of written) {
    const idx = w.ts.map((t, i) => [t, i] as const).filter(([t]) => t >= from && t < to);
    const g = got.get(w.name)!;
    expect(g.ts, w.name).toEqual(idx.map(([t]) => t));
    expect(g.ms, w.name).toEqual(idx.map(([, i]) => meaning(w.hs[i]!)));
  }
}

describe('compaction of Prometheus 2.42 histogram blocks', () => {
  const newUlid = ulidSource();
  it('horizontal: chunks copied byte for byte, output verified and equal to the written samples', async () => {
    expect(promBlocks.length).toBeGreaterThanOrEqual(2);
    const res = await compactBlocks(promBlocks, join(root.dir, 'h-out'));
    outputs.push(res.dir!);
    expect(res.reencodedChunks).toBe(0);
    expect(res.copiedChunks).toBe(res.chunks);
    expect((await verifyBlock(res.dir!)).problems).toEqual([]);
    expectWritten(await blockSamples(res.dir!), res.meta!.minTime, res.meta!.maxTime);
  });

  it('vertical: a second copy of the inputs plus an overlapping block cut elsewhere', async () => {
    const copies = [];
    for (const d of promBlocks) copies.push(await copyBlockAs(d, join(root.dir, 'copies'), newUlid()));
    // The same samples across the block boundary, chunked every 50 samples: chunk ranges differ from
    // Prometheus', so the compactor must decode, merge and re-encode the clusters.
    const metas = await Promise.all(promBlocks.map((d) => readMetaFile(d)));
    const mid = metas[metas.length - 1]!.minTime;
    const from = mid - 3600_000;
    const to = mid + 3600_000;
    const w = await BlockWriter.create(join(root.dir, 'overlap'), {
      symbols: ['__name__', ...written.map((x) => x.name)],
    });
    for (const x of [...written].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const enc = new HistogramSeriesEncoder<Histogram>(() => new HistogramAppender(), new SplitEvery(50));
      x.ts.forEach((t, i) => {
        if (t >= from && t < to) enc.append(t, x.hs[i]!);
      });
      await w.addSeries(labelsFromRecord({ __name__: x.name }), enc.finish());
    }
    const overlap = (await w.finish())!.dir;
    const res = await compactBlocks([...promBlocks, ...copies, overlap], join(root.dir, 'v-out'));
    outputs.push(res.dir!);
    expect(res.reencodedChunks).toBeGreaterThan(0);
    expect((await verifyBlock(res.dir!)).problems).toEqual([]);
    expectWritten(await blockSamples(res.dir!), res.meta!.minTime, res.meta!.maxTime);
  });

  it(
    'a Prometheus on the inputs and one on each output answer query_range identically',
    { timeout: 120_000 },
    async () => {
      expect(outputs).toHaveLength(2);
      const metas = await Promise.all(promBlocks.map((d) => readMetaFile(d)));
      const start = Math.min(...metas.map((m) => m.minTime));
      const end = Math.max(...metas.map((m) => m.maxTime)) - 1;
      const servers: PrometheusServer[] = [];
      try {
        for (const [k, dirs] of [promBlocks, [outputs[0]!], [outputs[1]!]].entries()) {
          const dataDir = join(root.dir, `serve-${k}`);
          await copyBlocksInto(dataDir, dirs);
          servers.push(await startPrometheus({ dataDir, extraArgs: ['--enable-feature=native-histograms'] }));
        }
        const queries: string[] = [];
        for (const w of written) {
          queries.push(w.name);
          if (w.name.startsWith('gauge')) queries.push(`histogram_quantile(0.5, ${w.name})`);
          else queries.push(`rate(${w.name}[5m])`, `histogram_quantile(0.9, rate(${w.name}[5m]))`);
        }
        let histogramPoints = 0;
        for (const q of queries) {
          for (const step of [60_000, 37_000]) {
            const [want, ...got] = await Promise.all(
              servers.map((s) => queryRange(s.url, q, start, end, step)),
            );
            expect(JSON.stringify(want).length).toBeGreaterThan(100);
            for (const g of got) expect(g, `${q} step ${step}`).toEqual(want);
            histogramPoints += JSON.stringify(want).split('"buckets"').length - 1;
          }
        }
        // Raw histograms and rate() of them came back as histograms, not floats.
        expect(histogramPoints).toBeGreaterThan(1000);
      } finally {
        for (const s of servers) await s.stop();
      }
    },
  );
});
