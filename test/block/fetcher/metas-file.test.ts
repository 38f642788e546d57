/**
 * The metas file beside the checkpoint: a restart at 20,000 blocks reads no meta.json (bucket or
 * meta cache) and returns what the cold sync returned; a damaged file is detected by its checksum,
 * reported with a coded warning, and the sync falls back to the meta cache or the bucket.
 */
import { cp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  METAS_FILENAME,
  appendMetas,
  readMetasFile,
  rewriteMetasFile,
  MetaFetcher,
  decodeFrame,
  defaultCompactorFilters,
  encodeFrame,
  type SyncResult,
} from '../../../src/block/fetcher/index.js';
import { Interner, classifyMeta, compactMeta } from '../../../src/block/fetcher/meta-read.js';
import { B, F, U, type Shape } from '../../../src/block/fetcher/meta-page.js';
import { MetaTable, type StoredRows } from '../../../src/block/fetcher/meta-table.js';
import { PackedMeta } from '../../../src/block/fetcher/packed-meta.js';
import { leBytes } from '../../../src/util/typed-arrays.js';
import { seededRandom } from '../../../src/tsdb/ulid.js';
import { isCommonShape } from '../../../src/block/fetcher/meta-shape.js';
import { multiTenantLayout } from '../../../src/block/layout.js';
import { writeMarker } from '../../../src/block/markers.js';
import type { Bucket } from '../../../src/objstore/bucket.js';
import { formatMeta, type BlockMeta } from '../../../src/tsdb/meta.js';
import { newDeletionMark, newNoCompactMark } from '../../../src/tsdb/markers.js';
import { CountingBucket } from '../../support/counting-bucket.js';
import {
  captureLogger,
  H,
  mkMeta,
  RecordingBucket,
  T0,
  tempBucket,
  ulidAt,
  type TempBucket,
} from './helpers.js';

const layout = multiTenantLayout();
const NOW = T0 + 400 * 24 * H;
const TENANTS = ['alpha', 'beta', 'gamma', 'delta'];

/** Blocks of unusual shapes (stored as JSON in the file), mixed in among the ordinary ones. */
function oddMeta(id: string, i: number, prev: string[]): BlockMeta {
  const m = mkMeta(id, { minTime: T0 + i * H, labels: { cluster: 'eu1', ünï: 'cødé ✓' } });
  switch (i % 5) {
    case 0: // compacted: sources and parents (duplicates of its sources get hidden)
      m.compaction = {
        level: 2,
        sources: prev,
        parents: prev.map((p) => ({ ulid: p, minTime: T0, maxTime: T0 + 2 * H })),
      };
      return m;
    case 1: // a file with a hash, index stats
      m.thanos!.files = [{ rel_path: 'index', size_bytes: 9, hash: { func: 'sha256', value: 'ab' } }];
      m.thanos!.index_stats = { series_max_size: 77, chunk_max_size: 88 };
      return m;
    case 2: {
      // Prometheus-made: no thanos section
      const { thanos: _drop, ...rest } = m;
      return rest;
    }
    case 3:
      m.thanos!.rewrites = [{ sources: [id] }];
      m.compaction.hints = ['from-out-of-order'];
      m.compaction.deletable = true;
      return m;
    default:
      m.thanos!.version = 1;
      m.thanos!.downsample = { resolution: 300_000 };
      m.thanos!.upload_time = '2024-01-01T00:00:00.123Z';
      return m;
  }
}

/**
 * Writes the bucket straight to disk (as bench/sync.ts does: uploads would take longer than the
 * test), plus a partial block and a deletion and no-compact mark per tenant.
 */
async function buildBucket(tb: TempBucket, blocks: number): Promise<void> {
  const root = join(tb.dir, 'bucket');
  const put = (key: string, body: string): void => {
    const p = join(root, key);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, body);
  };
  const per = Math.ceil(blocks / TENANTS.length);
  for (const [t, tenant] of TENANTS.entries()) {
    let prev: string[] = [];
    for (let i = 0; i < per; i++) {
      const id = ulidAt(T0 + i * 60_000, t * 1_000_000 + i);
      const meta =
        i % 500 === 499
          ? oddMeta(id, Math.floor(i / 500), prev)
          : mkMeta(id, {
              minTime: T0 + i * 2 * H,
              labels: { cluster: `c${i % 3}`, replica: i % 2 === 0 ? 'a' : 'b', tenant },
              uploadTime: new Date(T0 + i * 2 * H + 3 * H).toISOString(),
            });
      put(layout.metaKey(tenant, id), formatMeta(meta));
      prev = [id, ...prev].slice(0, 2);
    }
    // Corrupt rather than missing: a missing meta.json of a fresh partial is re-read each sync.
    const partial = ulidAt(T0 + per * 60_000, t * 1_000_000 + per);
    put(layout.metaKey(tenant, partial), '{"ulid": ');
    const first = ulidAt(T0, t * 1_000_000);
    const second = ulidAt(T0 + 60_000, t * 1_000_000 + 1);
    await writeMarker(tb.bucket, layout, tenant, newDeletionMark(first, NOW - H));
    await writeMarker(tb.bucket, layout, tenant, newNoCompactMark(second, 'manual', NOW - H));
  }
}

function fetcher(bucket: Bucket, cacheDir: string, logger = captureLogger().logger): MetaFetcher {
  return new MetaFetcher(
    { bucket, layout, registry: new Registry(), now: () => NOW, logger },
    { cacheDir, filters: defaultCompactorFilters() },
  );
}

/** What a sync decided, without how it found out (discovery mode, request counts). */
function decided(r: SyncResult): unknown {
  return [...r.tenants].map(([name, t]) => ({
    name,
    // Map order is how the blocks arrived (listing, cache, file): not part of the answer.
    metas: [...t.metas].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
    partial: [...t.partial.values()].map((p) => [p.id, p.reason]),
    noCompact: [...t.noCompact].sort(),
    deletionMarks: [...t.deletionMarks.keys()].sort(),
    noCompactMarks: [...t.noCompactMarks.keys()].sort(),
    excluded: [...t.excluded].sort(),
    counts: t.counts,
    error: t.error,
  }));
}

function loadedCount(r: SyncResult): number {
  let n = 0;
  for (const t of r.tenants.values()) n += t.metas.size;
  return n;
}

/** Decodes a frame into fresh tables: [tenant, meta] in the order given, and the tables. */
function decodeAll(
  frame: Buffer,
  interner: Interner,
  tables = new Map<string, MetaTable>(),
): [string, BlockMeta][] {
  const got: [string, BlockMeta][] = [];
  const tableOf = (t: string): MetaTable => {
    let table = tables.get(t);
    if (table === undefined) tables.set(t, (table = new MetaTable()));
    return table;
  };
  decodeFrame(frame, interner, tableOf, (t, m) => got.push([t, m]));
  return got;
}

const byId = (a: [string, BlockMeta], b: [string, BlockMeta]): number => (a[1].ulid < b[1].ulid ? -1 : 1);

describe('metas file codec', () => {
  test('every meta shape decodes to what the meta.json parser gives', () => {
    const interner = new Interner();
    const prev = [ulidAt(T0, 1), ulidAt(T0, 2)];
    const metas = [0, 1, 2, 3, 4, 5].map((i) => {
      const id = ulidAt(T0 + i, 100 + i);
      const raw = i === 5 ? mkMeta(id, { uploadTime: '2024-02-02T00:00:00Z' }) : oddMeta(id, i, prev);
      const o = classifyMeta(id, formatMeta(raw), 'meta.json', interner);
      if (o.kind !== 'loaded') throw new Error(o.detail);
      return o.meta;
    });
    const frame = encodeFrame(new Map([['t"1', metas]]));
    const got = decodeAll(frame, new Interner());
    // Rows first, then the metas kept as JSON: compared by ID.
    expect(got.sort(byId).map(([t, m]) => [t, JSON.parse(JSON.stringify(m)) as BlockMeta])).toStrictEqual(
      metas.map((m) => ['t"1', m]),
    );
    // Every meta of the usual shape with a thanos section came back as a row of the tenant's table.
    const rows = got.filter(([, m]) => m instanceof PackedMeta).length;
    expect(rows).toBe(metas.filter((m) => isCommonShape(m) && m.thanos !== undefined).length);
    expect(rows).toBeGreaterThan(0);
  });

  test('rows of every variant come back equal: two tenants, across pages, into tables already holding rows', () => {
    const interner = new Interner();
    const prev = [ulidAt(T0, 1), ulidAt(T0, 2)];
    const metas = Array.from({ length: 2_600 }, (_, i) => {
      const id = ulidAt(T0 + i, 200 + i);
      const o = classifyMeta(id, formatMeta(commonVariant(id, i, prev)), 'meta.json', interner);
      if (o.kind !== 'loaded') throw new Error(o.detail);
      return o.meta;
    });
    expect(metas.every((m) => isCommonShape(m))).toBe(true);
    const frame = encodeFrame(
      new Map([
        ['a', metas.slice(0, 1_100)],
        ['b', metas.slice(1_100)],
      ]),
    );
    // Into fresh tables, and into tables whose last page is part full (rows land mid-page, their
    // sizes, texts and sources after the ones there).
    for (const before of [0, 700]) {
      const again = new Interner();
      const tables = new Map<string, MetaTable>();
      for (const t of ['a', 'b']) {
        const table = new MetaTable();
        for (let i = 0; i < before; i++) table.pack(metas[(i * 7) % metas.length]!);
        tables.set(t, table);
      }
      const rowsBefore = tables.get('b')!.rows;
      if (before > 0) expect(rowsBefore % 1024).not.toBe(0);
      // Rows first, then the metas without a thanos section (kept as JSON): compared by ID.
      const got = decodeAll(frame, again, tables).sort(byId);
      expect(got.map(([, m]) => m instanceof PackedMeta)).toStrictEqual(
        metas.map((m) => m.thanos !== undefined),
      );
      expect(got.map(([t, m]) => [t, JSON.stringify(m)])).toStrictEqual(
        metas.map((m, i) => [i < 1_100 ? 'a' : 'b', JSON.stringify(m)]),
      );
      expect(tables.get('b')!.rows).toBe(
        rowsBefore + metas.slice(1_100).filter((m) => m.thanos !== undefined).length,
      );
    }
  });

  test('a frame changed past its checksum decodes or throws, never crashes, hangs or over-allocates', () => {
    const interner = new Interner();
    const prev = [ulidAt(T0, 1), ulidAt(T0, 2)];
    const metas = Array.from({ length: 40 }, (_, i) => {
      const id = ulidAt(T0 + i, 300 + i);
      const raw = i % 8 === 7 ? oddMeta(id, i, prev) : commonVariant(id, i, prev);
      const o = classifyMeta(id, formatMeta(raw), 'meta.json', interner);
      if (o.kind !== 'loaded') throw new Error(o.detail);
      return o.meta;
    });
    const frame = encodeFrame(
      new Map([
        ['a', metas.slice(0, 25)],
        ['b', metas.slice(25)],
      ]),
    );
    const rnd = seededRandom(11);
    let threw = 0;
    for (let k = 0; k < 1_500; k++) {
      const bad = Buffer.from(frame);
      // One byte set to a random value, or a u32 field widened to a huge count.
      const at = Math.floor(rnd() * bad.length);
      if (k % 2 === 0) bad[at] = Math.floor(rnd() * 256);
      else if (at + 4 <= bad.length) bad.writeUInt32LE(0xfffffff0, at);
      try {
        decodeAll(bad, new Interner());
      } catch (err) {
        expect(err).toBeInstanceOf(Error);
        threw++;
      }
    }
    expect(threw).toBeGreaterThan(500);
  });

  test('a row pointing outside its page or the frame is refused, not read', () => {
    const table = new MetaTable();
    const src = new MetaTable();
    src.pack(commonVariant(ulidAt(T0, 1), 1, [ulidAt(T0, 2), ulidAt(T0, 3)]));
    const page = src.pages[0]!;
    const stored = (over: Partial<StoredRows>): StoredRows => ({
      rows: 1,
      bytes: Buffer.concat([leBytes(page.f64, F), leBytes(page.u32, U), page.u8.subarray(0, B)]),
      f64At: 0,
      u32At: F * 8,
      u8At: F * 8 + U * 4,
      sizes: page.sizes.subarray(0, page.nSizes),
      uploads: page.uploads.subarray(0, page.nUploads),
      sources: page.sources,
      shapes: [table.shapeId(...shapeParts(src.shapes[0]!))],
      nSized: [src.shapes[0]!.files?.nSized ?? 0],
      ...over,
    });
    const keep = (): void => {};
    expect(() => table.importRows(stored({}), [ulidAt(T0, 1)], keep)).not.toThrow();
    expect(() => table.importRows(stored({ shapes: [] }), [ulidAt(T0, 1)], keep)).toThrow(
      /shape 0 out of range/,
    );
    expect(() => table.importRows(stored({ sizes: new Uint32Array(0) }), [ulidAt(T0, 1)], keep)).toThrow(
      /sizes out of range/,
    );
    expect(() => table.importRows(stored({ sources: new Map() }), [ulidAt(T0, 1)], keep)).toThrow(/sources/);
    expect(() => table.importRows(stored({ bytes: Buffer.alloc(8) }), [ulidAt(T0, 1)], keep)).toThrow(
      RangeError,
    );
  });
});

function shapeParts(s: Shape): Parameters<MetaTable['shapeId']> {
  return [s.labels, s.source, s.downsample, s.segments, s.files];
}

/**
 * Metas of the usual shape that differ in every section the decoder's reused objects carry, so a
 * value left over from the previous block would show.
 */
function commonVariant(id: string, i: number, prev: string[]): BlockMeta {
  const m = mkMeta(id, {
    minTime: T0 + i * H,
    level: 1 + (i % 3),
    labels: i % 2 === 0 ? { cluster: 'eu1' } : { cluster: 'us2', replica: 'b' },
    resolution: i % 4 === 3 ? 300_000 : 0,
    ...(i % 3 === 0 ? { uploadTime: `2024-02-0${1 + (i % 9)}T00:00:00Z` } : {}),
    // Go's nanoseconds: kept as text, in the page's text arena.
    ...(i % 3 === 1 ? { uploadTime: `2024-03-0${1 + (i % 9)}T00:00:00.${String(i).padStart(9, '0')}Z` } : {}),
  });
  m.stats = { numSamples: 1e12 + i, numSeries: i, numChunks: 2 * i, numTombstones: i % 2 };
  if (i % 5 === 1) m.compaction.sources = [...prev, `${prev[0]!}x${i}`.slice(0, 26)];
  const t = m.thanos!;
  if (i % 4 === 1) t.segment_files = ['000001', '000002'];
  if (i % 7 === 2) delete t.segment_files;
  if (i % 3 === 1) t.files = [{ rel_path: 'index', size_bytes: i }, { rel_path: 'meta.json' }];
  if (i % 6 === 5) delete t.files;
  if (i % 4 === 0) t.index_stats = {};
  if (i % 11 === 10) delete m.thanos;
  return m;
}

describe('metas file appends', () => {
  test('a large append is split into frames of at most 8,192 blocks, read back whole', async () => {
    const tb = await tempBucket();
    try {
      const path = join(tb.dir, METAS_FILENAME);
      await rewriteMetasFile(path, []);
      const interner = new Interner();
      const metasOf = (tenant: number, n: number): BlockMeta[] =>
        Array.from({ length: n }, (_, i) =>
          compactMeta(mkMeta(ulidAt(T0 + i, tenant * 1e6 + i)), ulidAt(T0 + i, tenant * 1e6 + i), interner),
        );
      const written = new Map([
        ['a', metasOf(1, 10_000)],
        ['b', metasOf(2, 7_000)],
        ['c', metasOf(3, 1)],
      ]);
      await appendMetas(path, written);
      // Frame by frame: blocks per frame.
      const bytes = await readFile(path);
      const perFrame: number[] = [];
      for (let off = 12; off < bytes.length;) {
        const len = bytes.readUInt32LE(off);
        perFrame.push(decodeAll(bytes.subarray(off + 8, off + 8 + len), new Interner()).length);
        off += 8 + len;
      }
      expect(perFrame).toEqual([8192, 8192, 617]);
      const back = await readMetasFile(path, new Interner());
      expect(back?.records).toBe(17_001);
      for (const [t, metas] of written) {
        expect([...back!.tenants.get(t)!.values()]).toStrictEqual(metas);
      }
    } finally {
      await tb.cleanup();
    }
  });
});

/** A bucket of `blocks` blocks, synced cold once with a fetcher that is then closed. */
function coldFixture(blocks: number): { tb: () => TempBucket; cold: () => SyncResult } {
  let tb: TempBucket;
  let cold: SyncResult;
  beforeAll(async () => {
    tb = await tempBucket();
    await buildBucket(tb, blocks);
    const f = fetcher(tb.bucket, tb.cacheDir);
    cold = await f.sync();
    await f.close();
  }, 300_000);
  afterAll(async () => {
    await tb.cleanup();
  });
  return { tb: () => tb, cold: () => cold };
}

describe('restart from the metas file at 20,000 blocks', () => {
  const fx = coldFixture(20_000);

  test('the cold sync saw every block', () => {
    const cold = fx.cold();
    expect(loadedCount(cold)).toBeGreaterThan(19_000);
    expect(cold.stats.metaReads).toBe(20_000 + TENANTS.length);
    const t = cold.tenants.get('alpha')!;
    expect(t.partial.size).toBe(1);
    expect(t.excluded.size).toBeGreaterThan(1); // deletion mark, duplicates
    expect(t.noCompact.size).toBe(1);
  });

  test('a second fetcher reads no meta.json from the bucket or the meta cache; same result', async () => {
    const tb = fx.tb();
    const recording = new RecordingBucket(tb.bucket);
    const counting = new CountingBucket(recording);
    const { logger, entries } = captureLogger();
    const f = fetcher(counting, tb.cacheDir, logger);
    const again = await f.sync();
    await f.close();
    expect(recording.metaGets()).toEqual([]);
    expect(counting.count('get')).toBe(0);
    expect(f.metaCacheReads).toBe(0);
    expect(again.stats.metaReads).toBe(0);
    expect(again.stats.cacheHits).toBe(0);
    expect(decided(again)).toStrictEqual(decided(fx.cold()));
    const restored = entries.find((e) => e.msg === 'restored fetcher checkpoint');
    expect(restored?.fields).toMatchObject({ from_meta_cache: 0, missing_from_cache: 0 });
    expect(entries.filter((e) => e.level === 'warn')).toEqual([]);
  }, 120_000);
});

describe('a damaged metas file (2,000 blocks)', () => {
  const fx = coldFixture(2_000);

  describe.each([
    ['truncated', true],
    ['truncated, meta cache gone', false],
    ['one byte flipped', true],
    ['one byte flipped, meta cache gone', false],
  ])('%s', (name, keepCache) => {
    test('is detected, reported with a coded warning, and the result is the cold one', async () => {
      const tb = fx.tb();
      const cold = fx.cold();
      const cacheDir = join(tb.dir, `damaged-${name.replace(/\W+/g, '-')}`);
      await cp(tb.cacheDir, cacheDir, { recursive: true });
      if (!keepCache) await rm(join(cacheDir, 'meta'), { recursive: true, force: true });
      const file = join(cacheDir, METAS_FILENAME);
      const size = (await stat(file)).size;
      if (name.startsWith('truncated')) await truncate(file, Math.floor(size * 0.6));
      else {
        const b = await readFile(file);
        b[Math.floor(size / 2)]! ^= 0x10;
        await writeFile(file, b);
      }
      const recording = new RecordingBucket(tb.bucket);
      const { logger, entries } = captureLogger();
      const f = fetcher(recording, cacheDir, logger);
      const again = await f.sync();
      await f.close();
      const warns = entries.filter((e) => e.level === 'warn');
      expect(warns).toHaveLength(1);
      expect(warns[0]!.fields).toMatchObject({ code: 'ERR_FETCHER_BAD_METAS_FILE' });
      expect(decided(again)).toStrictEqual(decided(cold));
      // What the damage hid came from the meta cache, or from the bucket without one.
      const fallback = keepCache ? f.metaCacheReads : recording.metaGets().length;
      expect(fallback).toBeGreaterThan(1000);
      // The file was rewritten whole: the next restart reads nothing again.
      const healed = new RecordingBucket(tb.bucket);
      const g = fetcher(healed, cacheDir);
      const third = await g.sync();
      await g.close();
      expect(healed.metaGets()).toEqual([]);
      expect(g.metaCacheReads).toBe(0);
      expect(decided(third)).toStrictEqual(decided(cold));
    }, 120_000);
  });

  test("an earlier version's file (metas.v1.bin) is removed, not read; its blocks come from the meta cache", async () => {
    const tb = fx.tb();
    const cacheDir = join(tb.dir, 'legacy');
    await cp(tb.cacheDir, cacheDir, { recursive: true });
    // As an upgrade finds it: the old file, no new one.
    await cp(join(cacheDir, METAS_FILENAME), join(cacheDir, 'metas.v1.bin'));
    await rm(join(cacheDir, METAS_FILENAME));
    const { logger, entries } = captureLogger();
    const f = fetcher(new RecordingBucket(tb.bucket), cacheDir, logger);
    const again = await f.sync();
    await f.close();
    await expect(stat(join(cacheDir, 'metas.v1.bin'))).rejects.toThrow(/ENOENT/);
    expect(f.metaCacheReads).toBeGreaterThan(1000);
    expect(decided(again)).toStrictEqual(decided(fx.cold()));
    expect(entries.filter((e) => e.level === 'warn')).toEqual([]);
    // The new file was written: the next restart reads nothing.
    const g = fetcher(new RecordingBucket(tb.bucket), cacheDir);
    await g.sync();
    await g.close();
    expect(g.metaCacheReads).toBe(0);
  }, 120_000);

  test('new blocks are appended as a frame; a torn last frame costs only its blocks', async () => {
    const tb = fx.tb();
    const cacheDir = join(tb.dir, 'append');
    await cp(tb.cacheDir, cacheDir, { recursive: true });
    const file = join(cacheDir, METAS_FILENAME);
    const before = (await stat(file)).size;
    const f = fetcher(tb.bucket, cacheDir);
    await f.sync();
    const fresh = Array.from({ length: 10 }, (_, i) => ulidAt(NOW - H + i, 9_000_000 + i));
    const root = join(tb.dir, 'bucket');
    for (const id of fresh) {
      const p = join(root, layout.metaKey('beta', id));
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, formatMeta(mkMeta(id, { minTime: NOW - 3 * H })));
    }
    const withNew = await f.sync();
    expect(withNew.stats.metaReads).toBe(10);
    await f.close();
    expect(f.metasFileWrites).toBe(1);
    const after = (await stat(file)).size;
    expect(after).toBeGreaterThan(before);
    expect(after - before).toBeLessThan(5_000); // one small frame, not a rewrite
    await truncate(file, after - 3);
    const { logger, entries } = captureLogger();
    const g = fetcher(new RecordingBucket(tb.bucket), cacheDir, logger);
    const again = await g.sync();
    await g.close();
    const warn = entries.find((e) => e.level === 'warn');
    expect(warn?.fields).toMatchObject({ code: 'ERR_FETCHER_BAD_METAS_FILE', kept_blocks: 2_000 });
    expect(g.metaCacheReads).toBe(10);
    expect(decided(again)).toStrictEqual(decided(withNew));
  }, 120_000);
});
