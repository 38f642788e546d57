/**
 * Penalty dedup of native histogram replicas through real processes: HA replica blocks from
 * `strata tsdb synth --replicas 2 --histograms` (scrapes 2.5 s apart, external label replica) in a
 * bucket → `strata store` → `strata query --query.replica-label replica`. The remote read answer
 * holds one series per replica pair whose samples come from one replica at a time, and equals,
 * sample for sample, the block `strata tsdb compact --dedup penalty` writes from the same blocks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TimeSeries } from '../../gen/prometheus/prompb/types_pb.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { ensureBuilt } from '../support/build.js';
import { runStrata } from '../compact/strata-cli.js';
import { toPromHistogram } from '../../src/query/prompb-histogram.js';
import { BlockReader } from '../../src/tsdb/block/reader.js';
import { readMetaFile } from '../../src/tsdb/meta.js';
import { bitsToFloat } from '../../src/tsdb/chunkenc/float-bits.js';
import { KIND_FLOAT, MixedSamples } from '../../src/tsdb/samples/mixed.js';
import { SampleBuf } from '../../src/tsdb/samples/sample-buf.js';
import {
  filesystemConfigFile,
  scratch,
  startQuery,
  startStore,
  stopAll,
  uploadBlocks,
  type Running,
  type Scratch,
} from './harness.js';
import { blockDirsUnder, readSamples } from './histogram-support.js';

let s: Scratch | undefined;
let store: Running | undefined;
let query: Running | undefined;
let replicaBlocks: string[] = [];
let compacted = '';

beforeAll(async () => {
  s = await scratch('strata-hist-dedup-');
  await ensureBuilt();
  const synthDir = s.path('synth');
  const synth = await runStrata([
    'tsdb',
    'synth',
    '--out',
    synthDir,
    '--series',
    '3',
    '--histograms',
    '6',
    '--hours',
    '4',
    '--replicas',
    '2',
    '--seed',
    '11',
  ]);
  expect(synth.code, synth.stderr).toBe(0);
  replicaBlocks = await blockDirsUnder(synthDir);
  const outDir = s.path('compacted');
  const c = await runStrata([
    'tsdb',
    'compact',
    '--out',
    outDir,
    '--dedup',
    'penalty',
    '--replica-label',
    'replica',
    ...replicaBlocks,
  ]);
  expect(c.code, c.stderr).toBe(0);
  [compacted] = await blockDirsUnder(outDir);
  const bucket = s.path('bucket');
  await uploadBlocks(bucket, replicaBlocks);
  store = await startStore({
    objstoreConfigFile: await filesystemConfigFile(s, bucket),
    dataDir: s.path('store'),
  });
  query = await startQuery({ endpoints: [store.grpc], replicaLabel: 'replica', dedupFunc: 'penalty' });
}, 240_000);

afterAll(async () => {
  await stopAll([store, query]);
  await s?.cleanup();
  await assertNoLeakedProcesses();
});

/** One sample as comparable text: floats by value bits, histograms as prompb without the hint. */
type Line = string;

function answerLines(ts: TimeSeries): Line[] {
  const out: Line[] = ts.samples.map((x) => `${x.timestamp} f ${x.value}`);
  for (const h of ts.histograms) out.push(`${h.timestamp} h ${JSON.stringify({ ...h, resetHint: 0 }, big)}`);
  return out.sort();
}

function big(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

/** The compacted block's series: name → sample lines (labels without external ones). */
async function blockLines(dir: string): Promise<Map<string, Line[]>> {
  const out = new Map<string, Line[]>();
  const block = await BlockReader.open(dir);
  const mixed = new MixedSamples();
  const buf = new SampleBuf();
  try {
    const cursor = block.index.seriesCursor();
    for (;;) {
      while (cursor.next()) {
        const series = cursor.series;
        mixed.reset();
        buf.reset();
        for (const m of series.chunks) {
          const c = await block.chunks.read(m.ref);
          mixed.appendChunk({ encoding: c.encoding, data: c.data.slice(), dataOffset: 0 }, dir, buf);
        }
        const lines: Line[] = [];
        for (let i = 0; i < buf.len; i++) {
          const t = buf.ts[i]!;
          const j = buf.lo[i]!;
          if (buf.hi[i] === KIND_FLOAT)
            lines.push(`${t} f ${bitsToFloat(mixed.vals.hi[j]!, mixed.vals.lo[j]!)}`);
          else {
            const p = toPromHistogram(t, mixed.hists[j]!);
            lines.push(`${t} h ${JSON.stringify({ ...p, resetHint: 0 }, big)}`);
          }
        }
        out.set(JSON.stringify(series.labels.map((l) => [l.name, l.value])), lines.sort());
      }
      if (!(await cursor.load())) break;
    }
  } finally {
    await block.close();
  }
  return out;
}

describe('penalty dedup of histogram replicas through strata store and strata query', () => {
  it('one replica at a time, equal to the block strata tsdb compact --dedup penalty writes', async () => {
    const metas = await Promise.all(replicaBlocks.map((d) => readMetaFile(d)));
    const minTime = Math.min(...metas.map((m) => m.minTime));
    const maxTime = Math.max(...metas.map((m) => m.maxTime));
    const answer = await readSamples(query!.http, minTime, maxTime);
    const want = await blockLines(compacted);
    // The querier adds the external labels left after dedup (cluster); the block has none.
    const key = (ts: TimeSeries): string =>
      JSON.stringify(ts.labels.filter((l) => l.name !== 'cluster').map((l) => [l.name, l.value]));
    expect(answer.every((ts) => ts.labels.every((l) => l.name !== 'replica'))).toBe(true);
    expect(answer.map(key).sort()).toEqual([...want.keys()].sort());
    let histogramSeries = 0;
    let switches = 0;
    for (const ts of answer) {
      expect(answerLines(ts), key(ts)).toEqual(want.get(key(ts)));
      if (ts.histograms.length === 0) continue;
      histogramSeries++;
      // Replica r1 scrapes 2.5 s after r0: a sample's offset in its 15 s slot names its replica.
      const t = ts.histograms.map((h) => Number(h.timestamp));
      for (let i = 1; i < t.length; i++) {
        // Never both replicas' scrapes of one slot (2.5 s apart).
        expect(t[i]! - t[i - 1]!, key(ts)).toBeGreaterThan(5_000);
        if (Math.abs((t[i]! % 15_000) - (t[i - 1]! % 15_000)) > 1000) switches++;
      }
    }
    expect(histogramSeries).toBeGreaterThanOrEqual(6);
    // Penalty dedup stays on one replica and only switches across gaps.
    expect(switches).toBeLessThan(histogramSeries * 10);
  });
});
