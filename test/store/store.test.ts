/**
 * `strata store` over a filesystem bucket of promtool blocks, queried over real gRPC: every
 * sample compared with `promtool tsdb dump` of the same blocks (external labels added), label
 * APIs, Info, flags narrowing the blocks, limits, bad requests, a corrupt block, shutdown.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, ConnectError } from '@connectrpc/connect';
import { PeerType } from '../../gen/thanos/info/infopb/rpc_pb.js';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { compareLabels, type Labels } from '../../src/tsdb/labels.js';
import { IndexReader } from '../../src/tsdb/index/reader.js';
import { newMatcher } from '../../src/tsdb/index/matchers.js';
import { inShard } from '../../src/store/blockset.js';
import { ensureBuilt } from '../support/build.js';
import { formatLabelSet } from '../support/dump.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { filesystemObjstore, logRecords, waitExit } from '../compactor/run.js';
import {
  HOUR,
  T0,
  collectSeries,
  expected,
  makeFixture,
  seriesToDump,
  storeClients,
  wire,
  type StoreClients,
  type StoreFixture,
  type WireMatcher,
} from './fixture.js';
import { startStore, type RunningStore } from './run.js';

let dir: string;
let fx: StoreFixture;
let main: RunningStore;
let c: StoreClients;
const ALL = { minTime: -(2n ** 63n), maxTime: 2n ** 63n - 1n };

beforeAll(async () => {
  await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'strata-store-bucket-'));
  const bucket = new FilesystemBucket({ directory: dir });
  fx = await makeFixture(bucket);
  await bucket.close();
  main = await startStore(filesystemObjstore(dir), ['--store.group-id', 'g1', '--store.peer-type', 'source']);
  c = storeClients(main.grpc);
}, 120_000);

afterAll(async () => {
  await main?.proc.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  if (fx !== undefined) await rm(fx.root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

async function grpcError(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error('expected a gRPC error');
}

const CASES: { name: string; ms: WireMatcher[]; mint: number; maxt: number }[] = [
  {
    name: 'one metric, all time',
    ms: [{ type: '=', name: '__name__', value: 'strata_gen_requests_total' }],
    mint: -Infinity,
    maxt: Infinity,
  },
  {
    name: 'regex over names, a window',
    ms: [{ type: '=~', name: '__name__', value: 'strata_gen_.*(celsius|up)' }],
    mint: T0 + HOUR,
    maxt: T0 + 3 * HOUR + 1234,
  },
  {
    name: 'external label and !~',
    ms: [
      { type: '=', name: 'source', value: 'a' },
      { type: '!~', name: '__name__', value: '.*total' },
    ],
    mint: -Infinity,
    maxt: Infinity,
  },
  {
    name: 'empty value matches missing label',
    ms: [
      { type: '=~', name: '__name__', value: '.+' },
      { type: '=', name: 'detail', value: '' },
    ],
    mint: T0 + 2 * HOUR,
    maxt: T0 + 4 * HOUR,
  },
  {
    name: '!= and other source',
    ms: [{ type: '!=', name: 'source', value: 'a' }],
    mint: -Infinity,
    maxt: Infinity,
  },
  {
    name: 'label must be set',
    ms: [{ type: '!=', name: 'detail', value: '' }],
    mint: -Infinity,
    maxt: Infinity,
  },
];

describe('strata store Series', () => {
  it.each(CASES)('$name: every sample equals promtool dump', async ({ ms, mint, maxt }) => {
    const req = {
      minTime: Number.isFinite(mint) ? BigInt(mint) : ALL.minTime,
      maxTime: Number.isFinite(maxt) ? BigInt(maxt) : ALL.maxTime,
      matchers: wire(ms),
    };
    const series = await collectSeries(c, req);
    const want = expected(fx.oracle, ms, mint, maxt);
    expect(want.length).toBeGreaterThan(0);
    const got = seriesToDump(series, mint, maxt);
    // Same lines in the same order: series sorted by labels like promtool, samples by time.
    expect(got).toEqual(want);
    for (let i = 0; i < series.length; i++) {
      const ls = series[i]!.labels;
      for (let k = 1; k < ls.length; k++) expect(ls[k - 1]!.name < ls[k]!.name).toBe(true);
      if (i > 0) expect(compareLabels(series[i - 1]!.labels, ls)).toBeLessThan(0);
      const ch = series[i]!.chunks;
      for (let k = 1; k < ch.length; k++) expect(ch[k]!.minTime > ch[k - 1]!.maxTime).toBe(true);
      expect(ch.length).toBeGreaterThan(0);
    }
  });

  it('merges the overlapping blocks of one source (chunks decoded only there)', async () => {
    const text = await (await fetch(`http://${main.http}/metrics`)).text();
    expect(Number(/^strata_store_chunks_merged_total (\d+)/m.exec(text)?.[1])).toBeGreaterThan(0);
    expect(text).toMatch(/strata_store_requests_total\{method="Series",code="OK"\} \d+/);
    expect(text).toMatch(/strata_store_index_cache_hits_total\{item_type="postings"\} \d+/);
    expect(text).toMatch(new RegExp(`^strata_store_blocks_loaded ${fx.blocks.length}$`, 'm'));
  });

  it('skip_chunks: the label sets of the matching series, no chunks', async () => {
    const ms: WireMatcher[] = [{ type: '=~', name: 'source', value: 'a|b' }];
    const series = await collectSeries(c, { ...ALL, matchers: wire(ms), skipChunks: true });
    const want = new Set(
      expected(fx.oracle, ms, -Infinity, Infinity).map((l) => l.slice(0, l.lastIndexOf('}') + 1)),
    );
    const got = series.map((s) => formatLabelSet(Object.fromEntries(s.labels.map((l) => [l.name, l.value]))));
    expect(series.every((s) => s.chunks.length === 0)).toBe(true);
    expect(got.sort()).toEqual([...want].sort());
  });

  it('bad requests are InvalidArgument and the store keeps serving', async () => {
    const m = wire([{ type: '=', name: 'source', value: 'a' }]);
    const cases: [Promise<unknown>, RegExp][] = [
      [collectSeries(c, { minTime: 10n, maxTime: 5n, matchers: m }), /min time 10 is after max time 5/],
      [collectSeries(c, { ...ALL, matchers: [{ type: 2, name: 'a', value: '(' }] }), /matcher 0/],
      [
        collectSeries(c, { ...ALL, matchers: [{ type: 7, name: 'a', value: 'x' }] }),
        /unknown label matcher type 7/,
      ],
      [collectSeries(c, { ...ALL, matchers: [] }), /no matchers/],
      [c.store.labelValues({ label: '' }), /label name parameter cannot be empty/],
    ];
    for (const [p, re] of cases) {
      const e = await grpcError(p);
      expect(e.code).toBe(Code.InvalidArgument);
      expect(e.rawMessage).toMatch(re);
    }
    expect((await collectSeries(c, { ...ALL, matchers: m })).length).toBeGreaterThan(0);
  });

  it('skips the corrupt block with a coded warning; the rest answers', () => {
    const w = logRecords(main.proc.output()).find(
      (r) => r.msg === 'block skipped: its index cannot be opened',
    );
    expect(w?.block).toBe(fx.corrupt);
    expect(w?.code).toBe('ERR_TSDB_CHECKSUM');
  });
});

describe('strata store labels and Info', () => {
  it('LabelNames and LabelValues equal the oracle, external labels included', async () => {
    const names = new Set<string>();
    const values = new Set<string>();
    for (const line of fx.oracle) {
      for (const m of line.matchAll(/([A-Za-z_][A-Za-z0-9_]*)="/g)) names.add(m[1]!);
      const d = /detail="((?:[^"\\]|\\.)*)"/.exec(line);
      if (d) values.add(JSON.parse(`"${d[1]!}"`) as string);
    }
    const r = await c.store.labelNames({});
    expect(r.names).toEqual([...names].sort());
    const v = await c.store.labelValues({ label: 'source' });
    expect(v.values).toEqual(['a', 'b']);
    const dv = await c.store.labelValues({
      label: 'detail',
      matchers: wire([{ type: '=', name: 'source', value: 'a' }]),
    });
    expect(dv.values.length).toBeGreaterThan(0);
    expect(dv.values).toEqual([...dv.values].sort());
    const none = await c.store.labelValues({
      label: 'detail',
      matchers: wire([{ type: '=', name: 'source', value: 'b' }]),
    });
    expect(none.values).toEqual([]);
  });

  it('Info: label sets, time range, component, group and peer type', async () => {
    const info = await c.info.info({});
    expect(info.ComponentType).toBe('store');
    expect(info.storeGroupId).toBe('g1');
    expect(info.peerType).toBe(PeerType.SOURCE);
    expect(info.labelSets.map((s) => s.labels.map((l) => `${l.name}=${l.value}`))).toEqual([
      ['source=a'],
      ['source=b'],
    ]);
    const good = fx.blocks;
    expect(info.store?.minTime).toBe(BigInt(Math.min(...good.map((b) => b.minTime))));
    expect(info.store?.maxTime).toBe(BigInt(Math.max(...good.map((b) => b.maxTime))));
    expect(info.store?.supportsSharding).toBe(false);
  });
});

describe('strata store flags', () => {
  it('--shard, --max-time, limits and the default group ID', async () => {
    const maxTime = T0 + 3 * HOUR;
    // Of the two shards, the one serving more blocks before maxTime (block IDs are random).
    const servedBy = (index: number): typeof fx.blocks =>
      fx.blocks.filter((b) => inShard(b.ulid, { index, total: 2 }) && b.minTime <= maxTime);
    const shard = servedBy(1).length >= servedBy(0).length ? 1 : 0;
    const served = servedBy(shard);
    expect(served.length).toBeGreaterThan(0);
    // Block IDs are random, so which blocks the shard serves changes from run to run: count each
    // series' chunks in the served blocks' own index files and set the samples limit (120 a
    // chunk) just under the series with the most.
    const chunks = new Map<string, { labels: Labels; n: number }>();
    for (const b of served) {
      const ix = await IndexReader.open(join(b.dir, 'index'));
      try {
        for (const id of await ix.select([newMatcher('=~', '__name__', '.+')])) {
          const se = await ix.series(id);
          const labels = [
            ...se.labels,
            ...Object.entries(b.ext).map(([name, value]) => ({ name, value })),
          ].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
          const k = JSON.stringify(labels);
          const e = chunks.get(k) ?? { labels, n: 0 };
          e.n += se.chunks.length;
          chunks.set(k, e);
        }
      } finally {
        await ix.close();
      }
    }
    const most = [...chunks.values()].sort((x, y) => y.n - x.n)[0]!;
    expect(most.n, 'a series with two chunks or more in the served blocks').toBeGreaterThanOrEqual(2);
    const limit = 120 * (most.n - 1);
    const s = await startStore(filesystemObjstore(dir), [
      '--shard',
      `${shard}/2`,
      '--max-time',
      String(maxTime),
      '--store.limits.request-series',
      '3',
      '--store.limits.request-samples',
      String(limit),
    ]);
    try {
      const sc = storeClients(s.grpc);
      const info = await sc.info.info({});
      expect(info.storeGroupId).toBe(`filesystem:${dir};shard=${shard}/2;time=..${maxTime}`);
      expect(info.peerType).toBe(PeerType.STORE);
      expect(info.store?.minTime).toBe(BigInt(Math.min(...served.map((b) => b.minTime))));
      expect(info.store?.maxTime).toBe(BigInt(Math.max(...served.map((b) => b.maxTime))));
      const many = await grpcError(
        collectSeries(sc, { ...ALL, matchers: wire([{ type: '=~', name: 'source', value: '.+' }]) }),
      );
      expect(many.code).toBe(Code.ResourceExhausted);
      expect(many.rawMessage).toMatch(/over the limit of 3 \(--store.limits.request-series\)/);
      const one = wire(most.labels.map((l) => ({ type: '=' as const, name: l.name, value: l.value })));
      const samples = await grpcError(collectSeries(sc, { ...ALL, matchers: one }));
      expect(samples.code).toBe(Code.ResourceExhausted);
      expect(samples.rawMessage).toMatch(
        new RegExp(`over the limit of ${limit} \\(--store.limits.request-samples\\)`),
      );
      // A small window of the same series is under the limit.
      const ok = await collectSeries(sc, {
        minTime: BigInt(T0),
        maxTime: BigInt(T0 + 60_000),
        matchers: one,
      });
      expect(ok.length).toBeLessThanOrEqual(1);
    } finally {
      await s.proc.stop();
    }
  });

  it('SIGTERM: exits 0 after a graceful stop; /-/ready was 200', async () => {
    const s = await startStore(filesystemObjstore(dir), ['--min-time', String(T0 + 4 * HOUR)]);
    try {
      const ready = await fetch(`http://${s.http}/-/ready`);
      expect(ready.status).toBe(200);
      const info = await storeClients(s.grpc).info.info({});
      const served = fx.blocks.filter((b) => b.maxTime >= T0 + 4 * HOUR);
      expect(info.store!.minTime).toBe(BigInt(Math.min(...served.map((b) => b.minTime))));
      s.proc.child.kill('SIGTERM');
      const r = await waitExit(s.proc, 20_000);
      expect(r.code).toBe(0);
      expect(logRecords(r.output).some((x) => x.msg === 'strata store stopping')).toBe(true);
    } finally {
      await s.proc.stop();
    }
  });

  it('bad flags: one coded line, exit 2', async () => {
    const { runStrata } = await import('../compactor/run.js');
    const r = await runStrata(['store', '--objstore.config', filesystemObjstore(dir), '--shard', '2/2']);
    expect(r.code).toBe(2);
    expect(r.output.trim()).toMatch(/^strata: ERR_INVALID_ARGUMENT: --shard must be i\/N/);
  });
});
