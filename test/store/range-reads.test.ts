/**
 * Range requests made by the store's block access (in-process, through a counting bucket): the
 * index header costs a handful of requests per block, a selection reads its postings, series
 * entries and chunks with a few coalesced requests, and a repeat is served by the index cache.
 * (Memory per index header: bench/store-header-memory.ts.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { layoutFor } from '../../src/block/layout.js';
import { uploadBlock } from '../../src/block/upload.js';
import { newMatcher } from '../../src/tsdb/index/matchers.js';
import { StoreBlock } from '../../src/store/block.js';
import { IndexLru } from '../../src/store/cache.js';
import { selectBlockSeries } from '../../src/store/select.js';
import { createBlocksFromSamples } from '../services/prometheus.js';
import { generateSamples } from '../support/openmetrics.js';
import { CountingBucket } from '../support/counting-bucket.js';
import { assertNoLeakedProcesses } from '../support/processes.js';

const T0 = 1_700_000_000_000;
let bucket: CountingBucket;
let ulid: string;
let numSeries: number;

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-store-rr-'));
  const samples = generateSamples({
    seed: 31,
    series: 400,
    startMs: T0,
    durationMs: 3600_000,
    intervalMs: 60_000,
  });
  const [b] = await createBlocksFromSamples(samples, join(root, 'blocks'));
  ulid = b!.ulid;
  numSeries = b!.numSeries;
  const fs = new FilesystemBucket({ directory: join(root, 'bucket') });
  await uploadBlock(fs, layoutFor('single'), '', b!.dir, { externalLabels: { source: 'x' } });
  bucket = new CountingBucket(fs);
}, 60_000);

afterAll(async () => {
  await bucket?.close();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

describe('store block range reads', () => {
  it('open, select, fetch: few coalesced requests; the repeat hits the cache', async () => {
    const meta = JSON.parse((await bucket.get(`${ulid}/meta.json`)).toString('utf8')) as Parameters<
      typeof StoreBlock.open
    >[3];
    bucket.reset();
    const cache = new IndexLru(64 << 20);
    const b = await StoreBlock.open(bucket, layoutFor('single'), '', meta, cache.forBlock(ulid));
    // attributes(index) + header + TOC + symbol table (length, body) + postings table (length, body).
    expect(bucket.count('attributes')).toBe(1);
    expect(bucket.count('get_range')).toBeLessThanOrEqual(6);
    bucket.reset();
    const ms = [newMatcher('=~', '__name__', 'strata_gen_.*(total|celsius)')];
    const series = await selectBlockSeries(b, ms, -Infinity, Infinity);
    expect(series.length).toBeGreaterThan(numSeries / 3);
    // Postings of the matching names in one read, all series entries in one read.
    expect(bucket.count('get_range')).toBeLessThanOrEqual(2);
    const refs = series.flatMap((s) => s.chunks.map((c) => c.ref));
    bucket.reset();
    const chunks = await b.chunks.fetch(refs);
    expect(chunks.size).toBe(new Set(refs).size);
    expect(bucket.count('get_range')).toBe(1);
    bucket.reset();
    const again = await selectBlockSeries(b, ms, -Infinity, Infinity);
    expect(again).toEqual(series);
    expect(bucket.count('get_range')).toBe(0);
    await b.close();
  });
});
