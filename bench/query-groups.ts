/**
 * Figures 3 and 4 of bench/query.ts: store start-up and memory per block; Series latency through
 * strata query with one of three store replicas delayed, per replica strategy.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { SynthBlock } from '../src/tsdb/synth/write.js';
import { startDelayProxy, type DelayProxy } from './delay-proxy.js';
import { linkedBlocks } from './query-blocks.js';
import { drainSeries, storeClient, type SeriesInit } from './query-read.js';
import {
  rssBytes,
  scrapeGauge,
  startStrata,
  stopAll,
  waitHealthyEndpoints,
  waitReady,
  type StrataChild,
} from './query-procs.js';
import { fmtMs, objstoreConfig, row, type BenchFlags, type Running } from './query-util.js';

const MiB = 1024 * 1024;
const DELAY_MS = 500;

interface StoreFootprint {
  readyMs: number;
  rss: number;
  heap: number;
  blocks: number;
}

/** Starts a store on `bucketDir`, waits for ready and 2 s more, reads its memory, stops it. */
async function footprint(
  tmp: string,
  bucketDir: string,
  name: string,
  running: Running,
): Promise<StoreFootprint> {
  const cfg = await objstoreConfig(tmp, bucketDir, name);
  const store = await startStrata(name, 'store', [
    '--objstore.config-file',
    cfg,
    '--data-dir',
    join(tmp, `data-${name}`),
  ]);
  running.children.push(store);
  const readyMs = await waitReady(store, 300_000);
  await new Promise((r) => setTimeout(r, 2000));
  const out = {
    readyMs,
    rss: rssBytes(store.proc.pid),
    heap: (await scrapeGauge(store, 'nodejs_heap_size_used_bytes')) ?? NaN,
    blocks: (await scrapeGauge(store, 'strata_store_blocks_loaded')) ?? NaN,
  };
  await stopAll(running.children);
  return out;
}

export async function startupFigure(
  f: BenchFlags,
  tmp: string,
  src: SynthBlock,
  running: Running,
): Promise<void> {
  console.log(
    `3. strata store start-up and memory: ${f.blocks} blocks of ${src.meta.stats.numSeries} series (hard links of one 2 h block)`,
  );
  const empty = join(tmp, 'bucket-empty');
  await mkdir(empty, { recursive: true });
  const many = join(tmp, `bucket-${f.blocks}`);
  const t0 = performance.now();
  await linkedBlocks(src, many, f.blocks);
  console.log(`   made ${f.blocks} block dirs in ${fmtMs(performance.now() - t0)}`);
  const base = await footprint(tmp, empty, 'store-empty', running);
  const full = await footprint(tmp, many, 'store-blocks', running);
  // A second start on the same --data-dir: what the local state saves (not in --quick).
  const again = f.quick ? undefined : await footprint(tmp, many, 'store-blocks', running);
  const perBlock = (full.rss - base.rss) / f.blocks / MiB;
  const heapPerBlock = (full.heap - base.heap) / f.blocks / MiB;
  const w = [38, 12, 10, 10, 22];
  console.log(row(['', 'to /-/ready', 'RSS', 'heap used', 'target'], w));
  console.log(
    row(
      [
        '   store, 0 blocks (anchor)',
        fmtMs(base.readyMs),
        `${(base.rss / MiB).toFixed(0)} MiB`,
        `${(base.heap / MiB).toFixed(0)} MiB`,
      ],
      w,
    ),
  );
  console.log(
    row(
      [
        `   store, ${full.blocks} blocks (cold data dir)`,
        fmtMs(full.readyMs),
        `${(full.rss / MiB).toFixed(0)} MiB`,
        `${(full.heap / MiB).toFixed(0)} MiB`,
        `start-up < 30 s ${full.readyMs < 30_000 ? 'met' : 'MISSED'}`,
      ],
      w,
    ),
  );
  if (again !== undefined) {
    console.log(
      row(
        [
          `   store, ${again.blocks} blocks (restart)`,
          fmtMs(again.readyMs),
          `${(again.rss / MiB).toFixed(0)} MiB`,
          `${(again.heap / MiB).toFixed(0)} MiB`,
        ],
        w,
      ),
    );
  }
  console.log(
    `   per block: RSS ${perBlock.toFixed(3)} MiB, heap ${heapPerBlock.toFixed(3)} MiB ` +
      `(target ≤ 1 MiB ${perBlock <= 1 ? 'met' : 'MISSED'}` +
      `${f.blocks < 1000 ? `; with ${f.blocks} blocks the heap's slack weighs more, the target is for 1,000` : ''})\n`,
  );
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export async function latencyFigure(
  f: BenchFlags,
  tmp: string,
  bucket: string,
  blocks: readonly SynthBlock[],
  running: Running,
): Promise<void> {
  console.log(
    `4. Series latency through strata query: 3 store replicas (one group), one answering ${DELAY_MS} ms late`,
  );
  const cfg = await objstoreConfig(tmp, bucket, 'objstore');
  const stores: StrataChild[] = [];
  for (let i = 0; i < 3; i++) {
    const s = await startStrata(`replica-${i}`, 'store', [
      '--objstore.config-file',
      cfg,
      '--data-dir',
      join(tmp, `replica-${i}`),
      '--store.group-id',
      'bench-group',
    ]);
    running.children.push(s);
    stores.push(s);
  }
  for (const s of stores) await waitReady(s);
  let proxy: DelayProxy | undefined;
  try {
    proxy = await startDelayProxy(stores[2]!.grpc, DELAY_MS);
    const healthy = [stores[0]!.grpc, stores[1]!.grpc, stores[2]!.grpc];
    const delayed = [stores[0]!.grpc, stores[1]!.grpc, proxy.address];
    const cases: { name: string; strategy: string; endpoints: string[] }[] = [
      { name: 'two random + first answer, all healthy (anchor)', strategy: 'two-random', endpoints: healthy },
      { name: 'two random + first answer (querier default)', strategy: 'two-random', endpoints: delayed },
      { name: 'one random member', strategy: 'one-random', endpoints: delayed },
      { name: 'all members (wait for all)', strategy: 'all', endpoints: delayed },
    ];
    const req: SeriesInit = {
      minTime: BigInt(blocks[0]!.meta.minTime),
      maxTime: BigInt(blocks[blocks.length - 1]!.meta.maxTime),
      matchers: [
        { type: 0, name: '__name__', value: 'http_requests_total' },
        { type: 0, name: 'series', value: '0' },
      ],
    };
    const w = [50, 9, 9, 9, 9, 8];
    console.log(row(['', 'p50', 'p90', 'p99', 'max', 'errors'], w));
    for (const c of cases) {
      const q = await startStrata(`query-${c.strategy}`, 'query', [
        ...c.endpoints.flatMap((e) => ['--endpoint', e]),
        '--endpoint.info-interval',
        '2s',
        '--query.replica-strategy',
        c.strategy,
      ]);
      running.children.push(q);
      await waitReady(q);
      await waitHealthyEndpoints(q, 3);
      const client = storeClient(q.grpc);
      for (let i = 0; i < 5; i++) await drainSeries(client, req);
      const lat: number[] = [];
      let errors = 0;
      for (let i = 0; i < f.requests; i++) {
        const t0 = performance.now();
        try {
          const st = await drainSeries(client, req);
          if (st.series !== 1) errors++;
        } catch {
          errors++;
        }
        lat.push(performance.now() - t0);
      }
      lat.sort((a, b) => a - b);
      console.log(
        row(
          [
            `   ${c.name}`,
            fmtMs(percentile(lat, 50)),
            fmtMs(percentile(lat, 90)),
            fmtMs(percentile(lat, 99)),
            fmtMs(lat[lat.length - 1]!),
            String(errors),
          ],
          w,
        ),
      );
      await q.stop();
      running.children.splice(running.children.indexOf(q), 1);
    }
    console.log(
      `   (${f.requests} sequential Series requests of one series × 24 h per row, after 5 warm-up requests)`,
    );
  } finally {
    await proxy?.close();
    await stopAll(running.children);
  }
}
