/**
 * A bucket with native histogram and float tenants in `strata compact`: `hist` holds
 * `synth --histograms` blocks of two HA replicas (latency and gauge histograms besides floats),
 * `float` holds float-only synth blocks of two replicas, `promhist` the blocks a real Prometheus
 * 2.42 cut from remote-written native histograms (5.5 h ending now), uploaded as two replicas. Into `hist` go three bad blocks of a
 * third replica (each a good histogram series plus one broken chunk with a valid CRC): a truncated
 * histogram chunk whose first sample disagrees with its index entry, a span with an impossible
 * length, a schema out of range (what the head check of copied chunks catches). One run must mark
 * exactly those three no-compact (reason critical, details naming block, series and file offset)
 * and compact everything else; a second run finds nothing to do. A Prometheus 2.42 on the good
 * input blocks and one on the compacted blocks answer query_range (raw, rate, histogram_quantile)
 * identically.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadBlock } from '../../src/block/upload.js';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { BlockWriter } from '../../src/tsdb/block/writer.js';
import type { EncodedChunk } from '../../src/tsdb/chunkenc/encode.js';
import { ENC_HISTOGRAM } from '../../src/tsdb/chunkenc/encoding.js';
import { HistBitWriter, putVarbitInt, putVarbitUint } from '../../src/tsdb/chunkenc/hist-bits.js';
import { putZeroThreshold } from '../../src/tsdb/chunkenc/hist-meta.js';
import { encodeHistogramChunks } from '../../src/tsdb/chunkenc/histogram.js';
import { labelsFromRecord } from '../../src/tsdb/labels.js';
import { histogramSpec, synthHistogramSamples } from '../../src/tsdb/synth/native-histograms.js';
import { writeSynthBlocks, type SynthBlock } from '../../src/tsdb/synth/write.js';
import { copyBlocksInto, startPrometheus, type PrometheusServer } from '../services/prometheus.js';
import {
  startHistogramReceiver,
  writeAndCut,
  type WrittenSeries,
} from '../services/prometheus-histograms.js';
import { genSeries, toHistograms, type GenOptions } from '../../src/tsdb/synth/histograms.js';
import { readMetaFile } from '../../src/tsdb/meta.js';
import { ulidSource } from '../../src/tsdb/ulid.js';
import { copyBlockAs, setThanos } from '../compact/helpers.js';
import { ensureBuilt } from '../support/build.js';
import { compareQueryRange, histogramQueries } from '../support/histogram-api.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { downloadBlocks, layout, liveBlocks, readTenant, type TenantState } from './inspect.js';
import { compactArgs, filesystemObjstore, logRecords, runStrataOk, type ExitResult } from './run.js';

const START = 1_700_006_400_000;
const TWO_HOURS = 7_200_000;
const TENANTS = ['hist', 'float', 'promhist'] as const;
const STEP = 15_000;

let root = '';
let bucket: FilesystemBucket;
/** Input block dirs and ULIDs per tenant. */
const inputs = new Map<string, { dir: string; ulid: string }[]>();
/** Series Prometheus wrote (promhist) and their time range. */
let promWritten: WrittenSeries[] = [];
let promRange: [number, number] = [0, 0];
/** Bad block ULID → the series holding its broken chunk. */
const bad = new Map<string, string>();
let first: ExitResult;
let second: ExitResult;
const after = new Map<string, TenantState>();
const afterSecond = new Map<string, TenantState>();

/** An encoding-2 chunk whose first sample's layout is written by `f` (then zero padding). */
function layoutChunk(f: (w: HistBitWriter) => void): Uint8Array {
  const w = new HistBitWriter();
  w.reset(3);
  f(w);
  for (let i = 0; i < 40; i++) w.write(0, 8);
  return w.bytes(1, 0).slice();
}

/** A third replica's block in window `win` of `hist`: one good histogram series, one broken chunk. */
async function badBlock(parent: string, win: number, name: string, data: Uint8Array): Promise<string> {
  const mint = START + win * TWO_HOURS;
  const good = synthHistogramSamples(histogramSpec(99, 0), mint, mint + TWO_HOURS);
  const broken: EncodedChunk = {
    mint: mint + 60_000,
    maxt: mint + 60_000 + 15_000 * 9,
    encoding: ENC_HISTOGRAM,
    data,
    numSamples: 10,
  };
  const series = [
    {
      labels: labelsFromRecord({ __name__: 'bad_good_neighbour', tenant_job: 'hist' }),
      chunks: encodeHistogramChunks(good.ts, good.hs),
    },
    { labels: labelsFromRecord({ __name__: name, tenant_job: 'hist' }), chunks: [broken] },
  ];
  const w = await BlockWriter.create(parent, {
    symbols: ['__name__', 'tenant_job', 'hist', 'bad_good_neighbour', name],
    minTime: mint,
    maxTime: mint + TWO_HOURS,
    thanos: { labels: { cluster: 'hist', replica: 'r2' }, downsample: { resolution: 0 }, source: 'sidecar' },
  });
  for (const s of series) await w.addSeries(s.labels, s.chunks);
  const dir = (await w.finish())!.dir;
  bad.set(dir.slice(-26), `{__name__="${name}", tenant_job="hist"}`);
  return dir;
}

/** Prometheus 2.42 cuts blocks of remote-written histograms; they go up as replicas r0 and r1. */
async function promTenant(): Promise<void> {
  const hours = 5.5;
  const n = Math.floor((hours * 3600_000) / STEP);
  const t0 = Math.floor((Date.now() - hours * 3600_000) / STEP) * STEP;
  const variants: [string, GenOptions, boolean][] = [
    ['p_lat_resets', { samples: n, grow: 0.01, resets: 0.01 }, false],
    ['p_lat_neg', { samples: n, negative: true, grow: 0.02, resets: 0.005 }, false],
    ['p_gauge', { samples: n, gauge: true, negative: true, grow: 0.05 }, true],
  ];
  promWritten = variants.map(([name, o, gauge], k) => {
    const s = genSeries(500 + k, { ...o, step: STEP, t0 });
    return { name, ts: s.ts, hs: toHistograms(s, gauge) };
  });
  const prom = await startHistogramReceiver(join(root, 'receiver'));
  let dirs: string[];
  try {
    dirs = await writeAndCut(prom, promWritten, 2);
  } finally {
    await prom.stop();
  }
  const metas = await Promise.all(dirs.map((d) => readMetaFile(d)));
  promRange = [Math.min(...metas.map((m) => m.minTime)), Math.max(...metas.map((m) => m.maxTime)) - 1];
  const newUlid = ulidSource();
  const list: { dir: string; ulid: string }[] = [];
  for (const replica of ['r0', 'r1']) {
    for (const d of dirs) {
      const ulid = newUlid();
      const copy = await copyBlockAs(d, join(root, 'promhist', replica), ulid);
      await setThanos(copy, { cluster: 'promhist', replica });
      await uploadBlock(bucket, layout, 'promhist', copy);
      list.push({ dir: copy, ulid });
    }
  }
  inputs.set('promhist', list);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-compactor-hist-'));
  const built = ensureBuilt();
  const dir = join(root, 'bucket');
  bucket = new FilesystemBucket({ directory: dir });
  for (const tenant of ['hist', 'float'] as const) {
    const blocks: SynthBlock[] = await writeSynthBlocks({
      outDir: join(root, 'in', tenant),
      tenants: [tenant],
      series: 4,
      histograms: tenant === 'hist' ? 10 : 0,
      hours: 8,
      seed: tenant === 'hist' ? 21 : 22,
      startMs: START,
      replicas: 2,
    });
    inputs.set(
      tenant,
      blocks.map((b) => ({ dir: b.dir, ulid: b.meta.ulid })),
    );
    for (const b of blocks) await uploadBlock(bucket, layout, tenant, b.dir);
  }
  await promTenant();
  // The good series of a truncated chunk: 40 samples cut 20 bytes short of its end.
  const sample = synthHistogramSamples(histogramSpec(98, 1), START, START + 600_000);
  const full = encodeHistogramChunks(sample.ts, sample.hs)[0]!.data;
  const badDir = join(root, 'bad');
  const badBlocks = [
    await badBlock(badDir, 1, 'bad_truncated', full.slice(0, full.length - 20)),
    await badBlock(
      badDir,
      2,
      'bad_span_length',
      layoutChunk((w) => {
        putZeroThreshold(w, 0);
        putVarbitInt(w, 3);
        putVarbitUint(w, 1);
        putVarbitUint(w, 1e9);
        putVarbitInt(w, 0);
      }),
    ),
    await badBlock(
      badDir,
      3,
      'bad_schema',
      layoutChunk((w) => {
        putZeroThreshold(w, 0);
        putVarbitInt(w, 9);
      }),
    ),
  ];
  for (const d of badBlocks) await uploadBlock(bucket, layout, 'hist', d);
  await built;
  const args = compactArgs({ objstore: filesystemObjstore(dir), dataDir: join(root, 'data') });
  first = await runStrataOk(args);
  for (const t of TENANTS) after.set(t, await readTenant(bucket, t));
  second = await runStrataOk(args);
  for (const t of TENANTS) afterSecond.set(t, await readTenant(bucket, t));
}, 120_000);

afterAll(async () => {
  await bucket?.close();
  if (root) await rm(root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

describe('strata compact on a bucket with native histogram tenants', () => {
  it('marks exactly the three bad blocks no-compact, naming block, series and offset', () => {
    expect(first.code).toBe(0);
    for (const t of TENANTS) {
      const marked = [...after.get(t)!.blocks.values()].filter((b) => b.noCompactMark);
      expect(marked.map((b) => b.ulid).sort(), `${t}\n${first.output}`).toEqual(
        t === 'hist' ? [...bad.keys()].sort() : [],
      );
    }
    for (const [id, series] of bad) {
      const mark = after.get('hist')!.blocks.get(id)!.noCompactMark!;
      expect(mark.reason).toBe('critical');
      expect(mark.details).toContain(id);
      expect(mark.details).toContain(series);
      expect(mark.details).toMatch(/chunks\/000001 at offset \d+/);
    }
    const detail = (name: string): string => {
      const id = [...bad].find(([, s]) => s.includes(name))![0];
      return after.get('hist')!.blocks.get(id)!.noCompactMark!.details ?? '';
    };
    // Copied chunks get a head check, not a full decode (their samples are covered by the CRC, as
    // XOR chunks'): this one is caught because its first sample is not the index entry's mint.
    expect(detail('bad_truncated')).toMatch(/: histogram chunk starts at \d+, its index entry says \d+/);
    expect(detail('bad_span_length')).toMatch(/: positive spans describe 1000000000 buckets: impossible/);
    expect(detail('bad_schema')).toMatch(/: histogram schema 9 out of range -4\.\.8/);
    const warns = logRecords(first.output).filter((r) => r.level === 'warn');
    for (const id of bad.keys())
      expect(
        warns.some((r) => r.block === id),
        id,
      ).toBe(true);
  });

  it('compacts every good block, and a second run has nothing left to do', () => {
    for (const t of TENANTS) {
      const live = liveBlocks(after.get(t)!).filter((b) => !bad.has(b.ulid));
      const sources = live.flatMap((b) => b.meta!.compaction.sources).sort();
      expect(sources).toEqual(
        inputs
          .get(t)!
          .map((b) => b.ulid)
          .sort(),
      );
      expect(
        live.every((b) => b.meta!.compaction.level >= 2),
        t,
      ).toBe(true);
      expect(live.length, t).toBeLessThanOrEqual(inputs.get(t)!.length / 2);
      const again = liveBlocks(afterSecond.get(t)!).map((b) => b.ulid);
      expect(again, `${t}: second run\n${second.output}`).toEqual(
        liveBlocks(after.get(t)!).map((b) => b.ulid),
      );
    }
  });

  it(
    'Prometheus on the inputs and on the outputs answers query_range identically',
    // About 20 s on a quiet machine; minutes when the suite runs on two busy cores.
    { timeout: 180_000 },
    async () => {
      const servers: PrometheusServer[] = [];
      try {
        const outDirs: string[] = [];
        for (const t of TENANTS) {
          const ids = liveBlocks(after.get(t)!)
            .filter((b) => !bad.has(b.ulid))
            .map((b) => b.ulid);
          outDirs.push(...(await downloadBlocks(bucket, t, ids, join(root, 'out', t))));
        }
        const inDirs = TENANTS.flatMap((t) => inputs.get(t)!.map((b) => b.dir));
        for (const [k, dirs] of [inDirs, outDirs].entries()) {
          const dataDir = join(root, `serve-${k}`);
          await copyBlocksInto(dataDir, dirs);
          // Long retention: the synth blocks (2023) and Prometheus' (now) share the server.
          servers.push(
            await startPrometheus({
              dataDir,
              retention: '20y',
              extraArgs: ['--enable-feature=native-histograms'],
            }),
          );
        }
        const queries = [
          ...histogramQueries('synth_native_latency_seconds', false),
          ...histogramQueries('synth_native_gauge', true),
          'rate(http_requests_total[5m])',
        ];
        const equal = (got: unknown, want: unknown, what: string): void => expect(got, what).toEqual(want);
        // One step, off the 15 s scrape grid (the oracle test also checks 60 s).
        const steps = [37_000];
        const end = START + 4 * TWO_HOURS - 1;
        const points = await compareQueryRange(servers, queries, START, end, equal, steps);
        expect(points).toBeGreaterThan(1000);
        const promQueries = promWritten.flatMap((w) => histogramQueries(w.name, w.name.includes('gauge')));
        const [from, to] = promRange;
        const promPoints = await compareQueryRange(servers, promQueries, from, to, equal, steps);
        expect(promPoints).toBeGreaterThan(1000);
      } finally {
        for (const s of servers) await s.stop();
      }
    },
  );
});
