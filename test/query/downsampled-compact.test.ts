/**
 * What `strata compact` writes is what `strata store` serves: 52 h of 2h promtool blocks in a
 * single-tenant (Thanos layout) bucket; one `strata compact` run compacts the first 2 days and
 * downsamples them to 5m (downsampling is on by default in that layout); `strata store` then
 * answers max_resolution_window = 5m from the 5m block with the requested aggregates, whose
 * count and max agree with the raw samples window by window, and raw for window 0.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Aggr } from '../../gen/thanos/store/storepb/rpc_pb.js';
import type { Series } from '../../gen/thanos/store/storepb/types_pb.js';
import { decodeChunkInto } from '../../src/tsdb/chunkenc/chunk.js';
import { bitsToFloat } from '../../src/tsdb/chunkenc/float-bits.js';
import { RES_5M } from '../../src/tsdb/downsample/index.js';
import { SampleBuf } from '../../src/tsdb/samples/sample-buf.js';
import { promtoolBlocksParallel } from '../compactor/fixtures.js';
import { runStrataOk } from '../compactor/run.js';
import type { Sample } from '../support/dump.js';
import { ensureBuilt } from '../support/build.js';
import { prng } from '../support/openmetrics.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { storeClients, wire, type StoreClients } from '../store/fixture.js';
import {
  filesystemConfigFile,
  scratch,
  startStore,
  stopAll,
  uploadBlocks,
  type Running,
  type Scratch,
} from './harness.js';

const HOUR = 3600_000;
/** A 2-day boundary (Thanos' 2d compaction range is aligned to it). */
const START = 1_700_006_400_000;
const END = START + 52 * HOUR;

function makeSamples(): Sample[] {
  const rnd = prng(777);
  const out: Sample[] = [];
  for (let i = 0; i < 3; i++) {
    for (let t = START + 11_000; t < END; t += 30_000) {
      out.push({ labels: { __name__: 'dc_gauge', series: String(i) }, t, v: Math.round(rnd() * 1000) / 4 });
    }
  }
  return out;
}

interface MetaJson {
  ulid: string;
  minTime: number;
  maxTime: number;
  thanos?: { downsample?: { resolution?: number } };
}

/** meta.json of every block in a single-tenant filesystem bucket. */
async function readMetas(bucket: string): Promise<MetaJson[]> {
  const metas: MetaJson[] = [];
  for (const e of await readdir(bucket, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    try {
      metas.push(JSON.parse(await readFile(join(bucket, e.name, 'meta.json'), 'utf8')) as MetaJson);
    } catch {
      /* not a block */
    }
  }
  return metas;
}

let s: Scratch | undefined;
let store: Running | undefined;
let client: StoreClients;
let samples: Sample[];
let fiveM: MetaJson;

beforeAll(async () => {
  await ensureBuilt();
  s = await scratch('strata-ds-compact-');
  samples = makeSamples();
  const blocks = await promtoolBlocksParallel(samples, s.path('raw'), 3);
  expect(blocks.length).toBe(26);
  const bucket = s.path('bucket');
  await uploadBlocks(
    bucket,
    blocks.map((b) => b.dir),
    { externalLabels: { cluster: 'dc' } },
  );
  // One run is one pass (one compaction level per group); passes until the 5m block exists.
  let ds: MetaJson[] = [];
  let metas: MetaJson[] = [];
  const dataDir = s.path('compact');
  for (let pass = 0; pass < 6 && ds.length === 0; pass++) {
    await runStrataOk(
      [
        'compact',
        '--objstore.config',
        `type: FILESYSTEM\nconfig:\n  directory: ${JSON.stringify(bucket)}\n`,
        '--data-dir',
        dataDir,
        '--consistency-delay',
        '0s',
        '--http-address',
        '127.0.0.1:0',
      ],
      { timeoutMs: 60_000 },
    );
    metas = await readMetas(bucket);
    ds = metas.filter((m) => m.thanos?.downsample?.resolution === RES_5M);
  }
  expect(ds.length, JSON.stringify(metas.map((m) => [m.minTime, m.maxTime, m.thanos?.downsample]))).toBe(1);
  fiveM = ds[0]!;
  store = await startStore({
    objstoreConfigFile: await filesystemConfigFile(s, bucket),
    dataDir: s.path('store'),
  });
  client = storeClients(store.grpc);
}, 120_000);

afterAll(async () => {
  await stopAll([store]);
  await s?.cleanup();
  await assertNoLeakedProcesses();
});

async function series(window: number, aggregates: Aggr[]): Promise<Series[]> {
  const out: Series[] = [];
  const req = {
    minTime: BigInt(fiveM.minTime),
    maxTime: BigInt(fiveM.maxTime - 1),
    matchers: wire([{ type: '=', name: 'series', value: '1' }]),
    maxResolutionWindow: BigInt(window),
    aggregates,
  };
  for await (const r of client.store.series(req)) if (r.result.case === 'series') out.push(r.result.value);
  return out;
}

const windowOf = (t: number): number => t - (t % RES_5M);

describe('strata compact output served by strata store', () => {
  it('the 5m block strata compact wrote spans the first 2 days', () => {
    expect(fiveM.minTime).toBe(START + 11_000);
    expect(fiveM.maxTime).toBeGreaterThan(START + 47 * HOUR);
    expect(fiveM.maxTime).toBeLessThanOrEqual(START + 48 * HOUR);
  });

  it('window 5m: aggregated chunks whose count and max match the raw samples per 5m window', async () => {
    const got = await series(RES_5M, [Aggr.COUNT, Aggr.MAX]);
    expect(got.length).toBe(1);
    const buf = new SampleBuf();
    const counts = new Map<number, number>();
    const maxes = new Map<number, number>();
    for (const c of got[0]!.chunks) {
      expect(c.raw).toBeUndefined();
      decodeChunkInto({ encoding: 1, data: c.count!.data, dataOffset: 0 }, buf, 'count');
      for (let i = 0; i < buf.len; i++) counts.set(windowOf(buf.ts[i]!), bitsToFloat(buf.hi[i]!, buf.lo[i]!));
      decodeChunkInto({ encoding: 1, data: c.max!.data, dataOffset: 0 }, buf, 'max');
      for (let i = 0; i < buf.len; i++) maxes.set(windowOf(buf.ts[i]!), bitsToFloat(buf.hi[i]!, buf.lo[i]!));
    }
    // The raw oracle per 5m window (a window's point is at its last ms, or at the last raw sample
    // where Thanos' downsampler cut an output chunk: keyed by window start, both are the same).
    const wantCount = new Map<number, number>();
    const wantMax = new Map<number, number>();
    for (const x of samples) {
      if (x.labels.series !== '1' || x.t >= fiveM.maxTime) continue;
      const w = windowOf(x.t);
      wantCount.set(w, (wantCount.get(w) ?? 0) + 1);
      wantMax.set(w, Math.max(wantMax.get(w) ?? -Infinity, x.v));
    }
    expect(counts.size).toBe(wantCount.size);
    expect([...counts.entries()].sort((a, b) => a[0] - b[0])).toEqual(
      [...wantCount.entries()].sort((a, b) => a[0] - b[0]),
    );
    expect([...maxes.entries()].sort((a, b) => a[0] - b[0])).toEqual(
      [...wantMax.entries()].sort((a, b) => a[0] - b[0]),
    );
  });

  it('window 0 over the same range: raw chunks only', async () => {
    const got = await series(0, [Aggr.COUNT, Aggr.MAX]);
    expect(got.length).toBe(1);
    for (const c of got[0]!.chunks) expect(c.raw).toBeDefined();
  });
});
