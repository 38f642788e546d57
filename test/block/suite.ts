/**
 * Blocks-in-a-bucket behaviour every Bucket implementation must show. A test file calls
 * `registerBlockBucketTests` with a factory handing each test a fresh, empty bucket under its own
 * prefix, so the filesystem and S3 (Swift) runs execute exactly the same cases.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  buildBucketIndex,
  readBucketIndex,
  updateBucketIndex,
  writeBucketIndex,
  type BucketIndex,
} from '../../src/block/bucket-index.js';
import { deleteBlock, markForDeletion } from '../../src/block/delete.js';
import { BlockDownloadError, downloadBlock } from '../../src/block/download.js';
import {
  GLOBAL_MARKERS_DIR,
  listBlockIds,
  listTenants,
  multiTenantLayout,
  singleTenantLayout,
  type Layout,
} from '../../src/block/layout.js';
import {
  listTenantMarkers,
  loadTenantMarkers,
  markNoCompact,
  markNoDownsample,
  readMarker,
  writeMarker,
} from '../../src/block/markers.js';
import { formatMarker, newDeletionMark } from '../../src/tsdb/markers.js';
import { findPartialBlocks, isPartialBlockDeletable } from '../../src/block/partial.js';
import { scanTenantBlocks } from '../../src/block/scan.js';
import { BlockUploadError, uploadBlock } from '../../src/block/upload.js';
import { listAll, type Bucket } from '../../src/objstore/bucket.js';
import { parseMeta, readMetaFile } from '../../src/tsdb/meta.js';
import type { SynthBlock } from '../../src/tsdb/synth/write.js';
import { errorCode } from '../../src/util/errors.js';
import { FaultyBucket, multiSegmentBlock, readTree, synthBlocks, tempDir } from './helpers.js';

export interface BlockSuiteOptions {
  /** A fresh, empty bucket for one test, under a prefix no other test uses. */
  newBucket: () => Promise<Bucket>;
}

const HOUR = 3600_000;
const NOW = Date.UTC(2024, 0, 2, 12);

export function registerBlockBucketTests(name: string, opts: BlockSuiteOptions): void {
  describe(`blocks in a bucket: ${name}`, () => {
    let local: { dir: string; cleanup: () => Promise<void> };
    let single: SynthBlock[];
    let multi: SynthBlock[];

    beforeAll(async () => {
      local = await tempDir();
      single = await synthBlocks(join(local.dir, 'single'), { hours: 4, series: 12, samplesPerChunk: 30 });
      single.push(await multiSegmentBlock(join(local.dir, 'single'), '01HK0000000000000000000SEG'));
      multi = await synthBlocks(join(local.dir, 'multi'), {
        hours: 4,
        series: 8,
        tenants: ['team-a', 'team-b'],
        replicas: 2,
      });
    });

    afterAll(async () => {
      await local.cleanup();
    });

    async function uploadAll(bucket: Bucket, layout: Layout, blocks: readonly SynthBlock[]): Promise<void> {
      for (const b of blocks) {
        await uploadBlock(bucket, layout, layout.tenancy === 'multi' ? b.tenant : '', b.dir, {
          now: () => NOW,
        });
      }
    }

    async function expectSameBlock(
      localDir: string,
      downloaded: string,
      uploadedMeta: Buffer,
    ): Promise<void> {
      const a = await readTree(localDir);
      const b = await readTree(downloaded);
      // Everything except meta.json (which gains thanos.files and upload_time) and tombstones (never uploaded).
      const content = [...a.keys()].filter((k) => k !== 'meta.json' && k !== 'tombstones').sort();
      expect([...b.keys()].sort()).toEqual([...content, 'meta.json'].sort());
      for (const k of content) expect(b.get(k)!.equals(a.get(k)!), k).toBe(true);
      expect(b.get('meta.json')!.equals(uploadedMeta)).toBe(true);
      const lm = await readMetaFile(localDir);
      const dm = parseMeta(b.get('meta.json')!.toString('utf8'), 'downloaded');
      const strip = (m: typeof lm): unknown => ({
        ...m,
        thanos: { ...m.thanos, files: undefined, upload_time: undefined },
      });
      expect(strip(dm)).toEqual(strip(lm));
      expect(dm.thanos?.upload_time).toBe('2024-01-02T12:00:00Z');
      const files = dm.thanos?.files ?? [];
      expect(files.map((f) => f.rel_path)).toEqual([...content, 'meta.json'].sort());
      for (const f of files) {
        if (f.rel_path === 'meta.json') expect(f.size_bytes).toBeUndefined();
        else expect(f.size_bytes).toBe(a.get(f.rel_path)!.length);
      }
    }

    test('single-tenant: upload then download gives byte-identical blocks; meta.json goes last', async () => {
      const inner = await opts.newBucket();
      const bucket = new FaultyBucket(inner, () => false);
      const layout = singleTenantLayout();
      const dl = await tempDir();
      try {
        for (const b of single) {
          bucket.uploads = [];
          const r = await uploadBlock(bucket, layout, '', b.dir, { now: () => NOW, concurrency: 3 });
          expect(r.id).toBe(b.meta.ulid);
          expect(bucket.uploads.at(-1)).toBe(`${b.meta.ulid}/meta.json`);
          expect(bucket.uploads.at(-2)).toBe(`${b.meta.ulid}/index`);
          expect(bucket.uploads.filter((k) => k.includes('/chunks/')).length).toBe(
            b.meta.thanos!.segment_files!.length,
          );
          expect(bucket.uploads).not.toContain(`${b.meta.ulid}/tombstones`);
        }
        expect(await listBlockIds(bucket, layout, '')).toEqual(single.map((b) => b.meta.ulid).sort());
        expect(await listTenants(bucket, layout)).toEqual(['']);
        const segmented = single.at(-1)!.meta;
        expect(segmented.thanos!.segment_files!.length).toBeGreaterThan(5);
        const idx = await buildBucketIndex(bucket, layout, '', { nowMs: NOW });
        expect(idx.index.blocks.find((x) => x.blockId === segmented.ulid)).toMatchObject({
          segmentsFormat: '1b6d',
          segmentsNum: segmented.thanos!.segment_files!.length,
        });
        for (const b of single) {
          const dst = join(dl.dir, b.meta.ulid);
          const r = await downloadBlock(bucket, layout, '', b.meta.ulid, dst, { concurrency: 2 });
          expect(r.meta.ulid).toBe(b.meta.ulid);
          await expectSameBlock(b.dir, dst, await bucket.get(layout.metaKey('', b.meta.ulid)));
        }
        // The local block is left exactly as it was.
        expect((await readMetaFile(single[0]!.dir)).thanos?.upload_time).toBeUndefined();
      } finally {
        await dl.cleanup();
      }
    });

    test('multi-tenant: tenants discovered, reserved folders skipped, blocks round-trip', async () => {
      const bucket = await opts.newBucket();
      const layout = multiTenantLayout();
      const dl = await tempDir();
      try {
        await uploadAll(bucket, layout, multi);
        await bucket.upload(`${GLOBAL_MARKERS_DIR}/team-x/tenant-deletion-mark.json`, Buffer.from('{}'));
        await bucket.upload('stray-file.txt', Buffer.from('x'));
        expect(await listTenants(bucket, layout)).toEqual(['team-a', 'team-b']);
        for (const t of ['team-a', 'team-b']) {
          const mine = multi.filter((b) => b.tenant === t);
          expect(await listBlockIds(bucket, layout, t)).toEqual(mine.map((b) => b.meta.ulid).sort());
          for (const b of mine) {
            const dst = join(dl.dir, t, b.meta.ulid);
            await downloadBlock(bucket, layout, t, b.meta.ulid, dst);
            await expectSameBlock(b.dir, dst, await bucket.get(layout.metaKey(t, b.meta.ulid)));
          }
        }
      } finally {
        await dl.cleanup();
      }
    });

    test('a killed upload leaves a partial block that scans and the index skip and partial detection finds', async () => {
      const inner = await opts.newBucket();
      const layout = multiTenantLayout();
      const [victim, ...rest] = multi.filter((b) => b.tenant === 'team-a');
      const id = victim!.meta.ulid;
      await uploadAll(inner, layout, rest);
      // The process "dies" after chunks and index: meta.json never arrives.
      const dying = new FaultyBucket(inner, (k) => k.endsWith('/meta.json'));
      const err = await uploadBlock(dying, layout, 'team-a', victim!.dir, { now: () => NOW }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BlockUploadError);
      expect((err as BlockUploadError).file).toBe('meta.json');
      expect((err as BlockUploadError).blockId).toBe(id);
      // Chunks and index stay (meta.json failures are never cleaned up: it might still land).
      expect(await inner.exists(layout.indexKey('team-a', id))).toBe(true);
      expect(await inner.exists(layout.metaKey('team-a', id))).toBe(false);

      const scan = await scanTenantBlocks(inner, layout, 'team-a');
      expect(scan.blocks.map((b) => b.id)).toEqual(rest.map((b) => b.meta.ulid).sort());
      expect(scan.partials).toEqual([{ tenant: 'team-a', id, reason: 'no-meta' }]);

      const partials = await findPartialBlocks(inner, layout, 'team-a');
      expect(partials.map((p) => p.id)).toEqual([id]);
      const p = partials[0]!;
      expect(p.reason).toBe('no-meta');
      expect(p.objects).toBeGreaterThanOrEqual(2);
      expect(p.hasDeletionMark).toBe(false);
      expect(p.newestObjectMs).toBeDefined();
      expect(Math.abs(p.lastActivityMs - Date.now())).toBeLessThan(10 * 60_000);
      expect(isPartialBlockDeletable(p, Date.now())).toBe(false);
      expect(isPartialBlockDeletable(p, Date.now() + 49 * HOUR)).toBe(true);

      const built = await buildBucketIndex(inner, layout, 'team-a', { nowMs: NOW });
      expect(built.index.blocks.map((b) => b.blockId)).toEqual(rest.map((b) => b.meta.ulid).sort());
      expect(built.partials).toEqual([{ id, reason: 'no-meta' }]);

      // A corrupt meta.json counts as partial too, with its parse error.
      await inner.upload(layout.metaKey('team-a', id), Buffer.from('{"ulid": 1'));
      const again = await findPartialBlocks(inner, layout, 'team-a');
      expect(again.map((x) => [x.id, x.reason])).toEqual([[id, 'bad-meta']]);

      // Re-uploading completes the block.
      await uploadBlock(inner, layout, 'team-a', victim!.dir, { now: () => NOW });
      expect(await findPartialBlocks(inner, layout, 'team-a')).toEqual([]);
    });

    test('an upload failing in chunks or index is cleaned up', async () => {
      const inner = await opts.newBucket();
      const layout = singleTenantLayout();
      const b = single[0]!;
      const failing = new FaultyBucket(inner, (k) => k.endsWith('/index'));
      const err = await uploadBlock(failing, layout, '', b.dir).catch((e: unknown) => e);
      expect(errorCode(err)).toBe('ERR_BLOCK_UPLOAD');
      expect((err as BlockUploadError).file).toBe('index');
      expect(await listAll(inner, '', { recursive: true })).toEqual([]);
    });

    test('markers round-trip and appear in the block and in the tenant markers/ folder', async () => {
      const bucket = await opts.newBucket();
      const layout = multiTenantLayout();
      const blocks = multi.filter((b) => b.tenant === 'team-b');
      await uploadAll(bucket, layout, blocks);
      const [a, b, c] = blocks.map((x) => x.meta.ulid);
      expect(await markForDeletion(bucket, layout, 'team-b', a!, 'compacted into X', NOW)).toBe('written');
      expect(await markNoCompact(bucket, layout, 'team-b', b!, 'critical', 'corrupt index', NOW)).toBe(
        'written',
      );
      expect(await markNoDownsample(bucket, layout, 'team-b', c!, 'manual', '', NOW)).toBe('written');

      const del = await bucket.get(layout.deletionMarkKey('team-b', a!));
      expect(del.toString()).toBe(
        `{"id":"${a}","version":1,"details":"compacted into X","deletion_time":${NOW / 1000}}`,
      );
      expect((await bucket.get(`team-b/markers/${a}-deletion-mark.json`)).equals(del)).toBe(true);
      const nc = await bucket.get(layout.noCompactMarkKey('team-b', b!));
      expect(nc.toString()).toBe(
        `{"id":"${b}","version":1,"details":"corrupt index","no_compact_time":${NOW / 1000},"reason":"critical"}`,
      );
      expect((await bucket.get(`team-b/markers/${b}-no-compact-mark.json`)).equals(nc)).toBe(true);
      expect((await bucket.get(layout.noDownsampleMarkKey('team-b', c!))).toString()).toBe(
        `{"id":"${c}","version":1,"no_downsample_time":${NOW / 1000},"reason":"manual"}`,
      );
      expect(await bucket.exists(`team-b/markers/${c}-no-downsample-mark.json`)).toBe(false);

      const r = await readMarker(bucket, layout, 'team-b', a!, 'deletion');
      expect(r).toEqual({
        state: 'present',
        marker: {
          kind: 'deletion',
          id: a,
          version: 1,
          details: 'compacted into X',
          deletionTime: NOW / 1000,
        },
      });
      expect(await readMarker(bucket, layout, 'team-b', c!, 'deletion')).toEqual({ state: 'absent' });

      // Idempotent: the original mark (and its time) is kept; a lost copy is repaired from it.
      await bucket.delete(`team-b/markers/${a}-deletion-mark.json`);
      expect(await markForDeletion(bucket, layout, 'team-b', a!, 'later', NOW + HOUR)).toBe('exists');
      expect((await bucket.get(`team-b/markers/${a}-deletion-mark.json`)).equals(del)).toBe(true);

      const listed = await listTenantMarkers(bucket, layout, 'team-b');
      expect(listed.map((e) => [e.id, e.kind]).sort()).toEqual(
        [
          [a, 'deletion'],
          [b, 'no-compact'],
        ].sort(),
      );
      const loaded = await loadTenantMarkers(bucket, layout, 'team-b');
      expect([...loaded.deletion.keys()]).toEqual([a]);
      expect(loaded.noCompact.get(b!)?.reason).toBe('critical');
      expect([...loaded.noDownsample.keys()]).toEqual([c]);
      expect(loaded.invalid).toEqual([]);
    });

    test('single-tenant markers live only in the block folder', async () => {
      const bucket = await opts.newBucket();
      const layout = singleTenantLayout();
      await uploadAll(bucket, layout, single.slice(0, 2));
      const id = single[0]!.meta.ulid;
      await markForDeletion(bucket, layout, '', id, '', NOW);
      await markNoCompact(bucket, layout, '', single[1]!.meta.ulid, 'manual', 'by hand', NOW);
      expect(await bucket.exists(`${id}/deletion-mark.json`)).toBe(true);
      expect((await listAll(bucket, 'markers/', { recursive: true })).length).toBe(0);
      const loaded = await loadTenantMarkers(bucket, layout, '');
      expect([...loaded.deletion.keys()]).toEqual([id]);
      expect([...loaded.noCompact.keys()]).toEqual([single[1]!.meta.ulid]);
      // Marked blocks are still complete blocks for scans.
      expect((await scanTenantBlocks(bucket, layout, '')).blocks.length).toBe(2);
    });

    test('unparsable markers are reported, not fatal', async () => {
      const bucket = await opts.newBucket();
      const layout = multiTenantLayout();
      const blocks = multi.filter((b) => b.tenant === 'team-a');
      await uploadAll(bucket, layout, blocks);
      const [a, b, c] = blocks.map((x) => x.meta.ulid);
      const secretish = 'not-json s3cr3t';
      await bucket.upload(layout.noCompactMarkKey('team-a', a!), Buffer.from(secretish));
      await bucket.upload(`team-a/markers/${a}-no-compact-mark.json`, Buffer.from(secretish));
      await bucket.upload(layout.deletionMarkKey('team-a', b!), Buffer.from('{"id":"x","version":1}'));
      await bucket.upload(`team-a/markers/${b}-deletion-mark.json`, Buffer.from('{"id":"x","version":1}'));
      await markForDeletion(bucket, layout, 'team-a', c!, '', NOW);
      await bucket.upload(`team-a/markers/${c}-deletion-mark.json`, Buffer.from(`{"id":"${c}","version":2}`));

      const r = await readMarker(bucket, layout, 'team-a', a!, 'no-compact');
      expect(r.state).toBe('invalid');
      if (r.state === 'invalid') {
        expect(r.error.code).toBe('ERR_BLOCK_BAD_MARKER');
        expect(r.error.message).toContain(layout.noCompactMarkKey('team-a', a!));
        expect(r.error.message).not.toContain('s3cr3t');
      }
      const warnings: string[] = [];
      const logger = {
        debug: () => {},
        info: () => {},
        warn: (msg: string, f?: Readonly<Record<string, unknown>>) =>
          warnings.push(`${msg} ${JSON.stringify(f)}`),
        error: () => {},
        child() {
          return logger;
        },
      };
      const loaded = await loadTenantMarkers(bucket, layout, 'team-a', { logger });
      expect(loaded.invalid.map((e) => e.key).sort()).toEqual(
        [
          `team-a/markers/${a}-no-compact-mark.json`,
          `team-a/markers/${b}-deletion-mark.json`,
          `team-a/markers/${c}-deletion-mark.json`,
        ].sort(),
      );
      expect(loaded.deletion.size + loaded.noCompact.size).toBe(0);
      expect(warnings.length).toBe(3);
      expect(warnings.join('\n')).not.toContain('s3cr3t');
      // The index writer skips them and still indexes every block.
      const built = await buildBucketIndex(bucket, layout, 'team-a', { nowMs: NOW, logger });
      expect(built.index.blocks.length).toBe(blocks.length);
      expect(built.index.blockDeletionMarks).toEqual([]);
      expect(built.invalidMarkers.length).toBe(2);
    });

    test('bucket index matches the bucket and round-trips through gzip', async () => {
      const bucket = await opts.newBucket();
      const layout = multiTenantLayout();
      const blocks = multi.filter((b) => b.tenant === 'team-b');
      const [partial, ...complete] = blocks;
      await uploadAll(bucket, layout, complete);
      const pid = partial!.meta.ulid;
      await bucket.uploadFile(layout.indexKey('team-b', pid), join(partial!.dir, 'index'));
      const marked = complete[0]!.meta.ulid;
      await markForDeletion(bucket, layout, 'team-b', marked, '', NOW);

      const before = Math.floor(Date.now() / 1000) - 5;
      const built = await buildBucketIndex(bucket, layout, 'team-b', { nowMs: NOW });
      const idx = built.index;
      expect(idx.version).toBe(1);
      expect(idx.updatedAt).toBe(NOW / 1000);
      expect(idx.blocks.map((b) => b.blockId)).toEqual(complete.map((b) => b.meta.ulid).sort());
      expect(idx.blockDeletionMarks).toEqual([{ blockId: marked, deletionTime: NOW / 1000 }]);
      expect(built.partials).toEqual([{ id: pid, reason: 'no-meta' }]);
      for (const b of idx.blocks) {
        const meta = complete.find((x) => x.meta.ulid === b.blockId)!.meta;
        expect(b.minTime).toBe(meta.minTime);
        expect(b.maxTime).toBe(meta.maxTime);
        expect(b.segmentsFormat).toBe('1b6d');
        expect(b.segmentsNum).toBe(1);
        expect(b.uploadedAt).toBeGreaterThanOrEqual(before);
        expect(b.uploadedAt).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 5);
      }

      await writeBucketIndex(bucket, layout, 'team-b', idx);
      const raw = JSON.parse(
        gunzipSync(await bucket.get('team-b/bucket-index.json.gz')).toString(),
      ) as Record<string, unknown>;
      expect(Object.keys(raw)).toEqual(['version', 'blocks', 'block_deletion_marks', 'updated_at']);
      expect(Object.keys((raw['blocks'] as object[])[0]!)).toEqual([
        'block_id',
        'min_time',
        'max_time',
        'segments_format',
        'segments_num',
        'series_max_size',
        'chunk_max_size',
        'uploaded_at',
      ]);
      const back: BucketIndex | undefined = await readBucketIndex(bucket, layout, 'team-b');
      expect(back).toEqual(idx);
      expect(await readBucketIndex(bucket, layout, 'team-a')).toBeUndefined();

      // Incremental update: completing the partial block and deleting the marked one.
      await uploadBlock(bucket, layout, 'team-b', partial!.dir, { now: () => NOW });
      await deleteBlock(bucket, layout, 'team-b', marked);
      const next = await updateBucketIndex(bucket, layout, 'team-b', { nowMs: NOW + HOUR });
      expect(next.index.blocks.map((b) => b.blockId)).toEqual(
        blocks
          .map((b) => b.meta.ulid)
          .filter((x) => x !== marked)
          .sort(),
      );
      expect(next.index.blockDeletionMarks).toEqual([]);
      expect(await readBucketIndex(bucket, layout, 'team-b')).toEqual(next.index);
    });

    test('hard delete removes every object and marker copy, in order, idempotently', async () => {
      const bucket = await opts.newBucket();
      const layout = multiTenantLayout();
      const blocks = multi.filter((b) => b.tenant === 'team-a');
      await uploadAll(bucket, layout, blocks);
      const [a, b] = blocks.map((x) => x.meta.ulid);
      await markForDeletion(bucket, layout, 'team-a', a!, '', NOW);
      await markNoCompact(bucket, layout, 'team-a', a!, 'manual', '', NOW);
      const r = await deleteBlock(bucket, layout, 'team-a', a!);
      expect(r.deleted).toBeGreaterThanOrEqual(6);
      const left = (await listAll(bucket, 'team-a/', { recursive: true })).map((e) => e.key);
      expect(left.some((k) => k.includes(a!))).toBe(false);
      expect(left.some((k) => k.includes(b!))).toBe(true);
      expect((await deleteBlock(bucket, layout, 'team-a', a!)).deleted).toBe(0);

      // A delete that stopped after meta.json: partial, with its deletion mark, not for the partial cleaner.
      await markForDeletion(bucket, layout, 'team-a', b!, '', NOW);
      await bucket.delete(layout.metaKey('team-a', b!));
      const partials = await findPartialBlocks(bucket, layout, 'team-a');
      expect(partials.map((p) => [p.id, p.hasDeletionMark])).toEqual([[b, true]]);
      expect(isPartialBlockDeletable(partials[0]!, Date.now() + 100 * HOUR)).toBe(false);
      await deleteBlock(bucket, layout, 'team-a', b!);
      expect(await findPartialBlocks(bucket, layout, 'team-a')).toEqual([]);
    });

    test('download failures name the block and file and leave nothing behind', async () => {
      const bucket = await opts.newBucket();
      const layout = singleTenantLayout();
      const dl = await tempDir();
      try {
        const b = single[0]!;
        const id = b.meta.ulid;
        const missing = await downloadBlock(bucket, layout, '', id, join(dl.dir, id)).catch(
          (e: unknown) => e,
        );
        expect(missing).toBeInstanceOf(BlockDownloadError);
        expect((missing as BlockDownloadError).file).toBe('meta.json');
        expect((missing as BlockDownloadError).message).toContain(id);

        await uploadAll(bucket, layout, [b]);
        const meta = parseMeta((await bucket.get(layout.metaKey('', id))).toString(), 'x');
        const chunk = meta.thanos!.files!.find((f) => f.rel_path.startsWith('chunks/'))!.rel_path;
        await bucket.upload(layout.blockFile('', id, chunk), Buffer.from('short'));
        const short = await downloadBlock(bucket, layout, '', id, join(dl.dir, id)).catch((e: unknown) => e);
        // A file of the wrong size in a block with meta.json is a defect of the block itself.
        expect(errorCode(short)).toBe('ERR_BLOCK_INCOMPLETE');
        expect((short as BlockDownloadError).file).toBe(chunk);
        expect((short as BlockDownloadError).message).toMatch(/size 5 bytes, expected \d+/);
        expect(await readdir(dl.dir)).toEqual([]);

        // Existing destinations are refused unless overwrite is set.
        await uploadAll(bucket, layout, [b]);
        await downloadBlock(bucket, layout, '', id, join(dl.dir, id));
        const exists = await downloadBlock(bucket, layout, '', id, join(dl.dir, id)).catch((e: unknown) => e);
        expect(errorCode(exists)).toBe('ERR_BLOCK_DOWNLOAD');
        await downloadBlock(bucket, layout, '', id, join(dl.dir, id), { overwrite: true });
        expect((await stat(join(dl.dir, id, 'index'))).isFile()).toBe(true);
        expect(await readdir(dl.dir)).toEqual([id]);
      } finally {
        await dl.cleanup();
      }
    });

    test('a block without thanos.files downloads from a listing', async () => {
      const bucket = await opts.newBucket();
      const layout = singleTenantLayout();
      const dl = await tempDir();
      try {
        const b = single[1]!;
        const id = b.meta.ulid;
        await uploadAll(bucket, layout, [b]);
        const meta = parseMeta((await bucket.get(layout.metaKey('', id))).toString(), 'x');
        delete meta.thanos;
        await bucket.upload(layout.metaKey('', id), Buffer.from(JSON.stringify(meta)));
        await writeMarker(bucket, layout, '', newDeletionMark(id, NOW));
        const r = await downloadBlock(bucket, layout, '', id, join(dl.dir, id));
        expect(r.files).toBe(1 + (await readdir(join(b.dir, 'chunks'))).length + 1);
        const tree = await readTree(join(dl.dir, id));
        expect(tree.has('deletion-mark.json')).toBe(false);
        expect(tree.get('index')!.equals((await readTree(b.dir)).get('index')!)).toBe(true);
        expect(formatMarker(newDeletionMark(id, NOW))).toContain('"deletion_time"');
      } finally {
        await dl.cleanup();
      }
    });
  });
}
