/**
 * `strata tsdb dump` of histogram blocks against Prometheus 2.42 (promtool 2.42's dump skips
 * histograms, so the oracle is the server's query API): two blocks in one 2 h window (a synth
 * block with float, latency and gauge histogram series; a block with negative buckets, zero
 * buckets, schema changes, special sums and a series that switches from floats to histograms).
 * Every dumped line, parsed back, must equal the raw sample the server returns for that series
 * and timestamp (range selector, exact timestamps), floats and histograms alike, and nothing more.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { BlockWriter } from '../../../src/tsdb/block/writer.js';
import { encodeXorChunks } from '../../../src/tsdb/chunkenc/encode.js';
import { floatHi, floatLo } from '../../../src/tsdb/chunkenc/float-bits.js';
import { encodeHistogramChunks } from '../../../src/tsdb/chunkenc/histogram.js';
import { labelsFromRecord } from '../../../src/tsdb/labels.js';
import { SampleBuf } from '../../../src/tsdb/samples/sample-buf.js';
import { genSeries, toHistograms, type GenOptions } from '../../../src/tsdb/synth/histograms.js';
import { writeSynthBlocks } from '../../../src/tsdb/synth/write.js';
import { copyBlocksInto, startPrometheus, type PrometheusServer } from '../../services/prometheus.js';
import { parseDumpValue, parseLabels, sortedLabelPairs } from '../../support/dump.js';
import { parseHistogramText, rawSamples, type ApiHistogram } from '../../support/histogram-api.js';
import { assertNoLeakedProcesses } from '../../support/processes.js';
import { strataDump, tempDir } from '../helpers.js';

const START = 1_700_006_400_000;
const STEP = 15_000;

let root: { dir: string; cleanup: () => Promise<void> };
let prom: PrometheusServer | undefined;

beforeAll(async () => {
  root = await tempDir('strata-hist-dump-');
});
afterAll(async () => {
  await prom?.stop();
  await root.cleanup();
  await assertNoLeakedProcesses();
});

interface Got {
  floats: [number, number][];
  histograms: [number, ApiHistogram][];
}

/** Splits a dump line into labels, value text and timestamp (histogram values contain spaces). */
function splitLine(line: string): { labels: string; value: string; t: number } {
  const tsAt = line.lastIndexOf(' ');
  const rest = line.slice(0, tsAt);
  const h = rest.lastIndexOf(' {count:');
  const at = h >= 0 ? h : rest.lastIndexOf(' ');
  return { labels: rest.slice(0, at), value: rest.slice(at + 1), t: Number(line.slice(tsAt + 1)) };
}

const key = (labels: Record<string, string>): string => JSON.stringify(sortedLabelPairs(labels));

async function writeOddBlock(parent: string): Promise<string> {
  const n = 400;
  const variants: [string, GenOptions][] = [
    ['odd_neg', { samples: n, negative: true, grow: 0.02, resets: 0.01 }],
    ['odd_schema', { samples: n, schemaChange: 0.02, negative: true }],
    ['odd_sums', { samples: n, specialSums: true, negative: true }],
  ];
  const series: { name: string; chunks: ReturnType<typeof encodeHistogramChunks> }[] = [];
  variants.forEach(([name, o], k) => {
    const s = genSeries(300 + k, { ...o, step: STEP, t0: START });
    // Thresholds up to 0.001 only: the API drops buckets under a wide zero bucket, String() not.
    s.zts = s.zts.map((z) => Math.min(z, 0.001));
    series.push({ name, chunks: encodeHistogramChunks(s.ts, toHistograms(s)) });
  });
  // Floats for 30 minutes, then histograms: chunks of both encodings in one series.
  const fb = new SampleBuf();
  for (let t = START + 1000; t < START + 1_800_000; t += STEP) fb.push(t, floatHi(t / 7), floatLo(t / 7));
  const later = genSeries(310, { samples: 200, t0: START + 1_800_000, step: STEP });
  series.push({
    name: 'odd_mixed',
    chunks: [...encodeXorChunks(fb, 120), ...encodeHistogramChunks(later.ts, toHistograms(later))],
  });
  series.sort((a, b) => (a.name < b.name ? -1 : 1));
  const w = await BlockWriter.create(parent, { symbols: ['__name__', ...series.map((s) => s.name)] });
  for (const s of series) await w.addSeries(labelsFromRecord({ __name__: s.name }), s.chunks);
  return (await w.finish())!.dir;
}

describe('strata tsdb dump of native histograms', () => {
  it('prints every sample as Prometheus 2.42 serves it', { timeout: 60_000 }, async () => {
    const blocksDir = join(root.dir, 'blocks');
    const synth = await writeSynthBlocks({
      outDir: blocksDir,
      series: 3,
      histograms: 5,
      hours: 2,
      seed: 11,
      startMs: START,
    });
    const odd = await writeOddBlock(blocksDir);
    const lines = await strataDump(blocksDir);

    const dumped = new Map<string, Got>();
    let histLines = 0;
    for (const line of lines) {
      const { labels, value, t } = splitLine(line);
      const k = key(parseLabels(labels));
      const g = dumped.get(k) ?? { floats: [], histograms: [] };
      dumped.set(k, g);
      if (value.startsWith('{')) {
        g.histograms.push([t, parseHistogramText(value)]);
        histLines++;
      } else g.floats.push([t, parseDumpValue(value)]);
    }

    const dataDir = join(root.dir, 'prom');
    await copyBlocksInto(dataDir, [...synth.map((b) => b.dir), odd]);
    prom = await startPrometheus({ dataDir, extraArgs: ['--enable-feature=native-histograms'] });
    const served = await rawSamples(prom.url, '{__name__=~".+"}[1d]', START + 2 * 3600_000 - 1);
    expect(served.length).toBe(dumped.size);
    let histPoints = 0;
    for (const s of served) {
      const k = key(s.metric);
      expect(dumped.get(k), k).toEqual({ floats: s.floats, histograms: s.histograms });
      histPoints += s.histograms.length;
    }
    expect(histLines).toBe(histPoints);
    // Series of each kind, and histograms with negative and zero buckets among them.
    expect(histPoints).toBeGreaterThan(3000);
    expect(lines.some((l) => /\[-[^,]+,-[^,]+\):/.test(l))).toBe(true);
    expect(lines.some((l) => l.includes(':NaN') || l.includes('sum:NaN'))).toBe(true);
    expect(dumped.get(key({ __name__: 'odd_mixed' }))!.floats.length).toBe(120);
  });
});
