/**
 * Memory of the store's per-block index header (TOC + symbols + postings offset table), measured
 * on synthetic 10k-series blocks: `npm run build && node --expose-gc dist/bench/store-header-memory.js` (SERIES, BLOCKS in the
 * environment). Opens the same block N times over a filesystem bucket and reports the heap growth
 * per opened block. Measured: 10k series (11,276 symbols, 11,274 postings lists) ~844 KB of heap
 * per block, 23 ms to open; 1k series ~101 KB.
 */
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { FilesystemBucket } from '../src/objstore/filesystem.js';
import { layoutFor } from '../src/block/layout.js';
import { parseMeta } from '../src/tsdb/meta.js';
import { StoreBlock } from '../src/store/block.js';

const SERIES = Number(process.env.SERIES ?? 10_000);
const N = Number(process.env.BLOCKS ?? 50);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const dir = await mkdtemp(join(tmpdir(), 'strata-store-mem-'));
execFileSync(process.execPath, [
  'bin/strata.js',
  'tsdb',
  'synth',
  '--out',
  dir,
  '--series',
  String(SERIES),
  '--hours',
  '2',
]);
const [ulid] = (await readdir(dir)).filter((n) => /^[0-9A-Z]{26}$/.test(n));
const bucket = new FilesystemBucket({ directory: dir });
const meta = parseMeta((await bucket.get(`${ulid}/meta.json`)).toString('utf8'), 'meta.json');
const blocks: StoreBlock[] = [];
gc();
const before = process.memoryUsage();
const t0 = performance.now();
for (let i = 0; i < N; i++) blocks.push(await StoreBlock.open(bucket, layoutFor('single'), '', meta));
const openMs = performance.now() - t0;
gc();
const after = process.memoryUsage();
const b = blocks[0]!;
process.stdout.write(
  `${JSON.stringify({
    series: SERIES,
    blocks: N,
    symbols: b.index.symbols().length,
    postings_lists: b.index.numPostings,
    heap_bytes_per_block: Math.round((after.heapUsed - before.heapUsed) / N),
    external_bytes_per_block: Math.round(
      (after.external + after.arrayBuffers - before.external - before.arrayBuffers) / N,
    ),
    open_ms_per_block: +(openMs / N).toFixed(2),
  })}\n`,
);
await Promise.all(blocks.map((x) => x.close()));
