import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  CHECKPOINT_FILENAME,
  CheckpointError,
  METAS_FILENAME,
  MetaFetcher,
  decodeCheckpoint,
  encodeCheckpoint,
  readCheckpointFile,
  writeCheckpointFile,
  type Checkpoint,
  type LoadedCheckpoint,
} from '../../../src/block/fetcher/index.js';
import { multiTenantLayout } from '../../../src/block/layout.js';
import type { Bucket } from '../../../src/objstore/bucket.js';
import { FilesystemBucket } from '../../../src/objstore/filesystem.js';
import { captureLogger, mkMeta, putBlock, RecordingBucket, T0, tempBucket, ulidAt } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-cp-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sample(known: number): Checkpoint {
  const ids = Array.from({ length: known }, (_, i) => ulidAt(T0 + i, i));
  return {
    version: 1,
    writtenAtMs: 123,
    tenants: new Map([
      [
        'team "a"',
        {
          after: ids[Math.floor(known / 2)],
          known: ids,
          partial: [{ id: ulidAt(T0, 999_999), reason: 'no-meta-json', detail: 'x', firstSeenMs: 5 }],
          syncsSinceFullList: 3,
          deletionMarks: [{ id: ids[0]!, time: 17, reason: '' }],
          noCompactMarks: [{ id: ids[1]!, time: 18, reason: 'manual' }],
        },
      ],
      [
        '',
        {
          after: undefined,
          known: [],
          partial: [],
          syncsSinceFullList: 0,
          deletionMarks: [],
          noCompactMarks: [],
        },
      ],
    ]),
  };
}

/** The loaded checkpoint with its known IDs as arrays, to compare with what was written. */
function withArrays(cp: LoadedCheckpoint): Checkpoint {
  const tenants = new Map([...cp.tenants].map(([name, t]) => [name, { ...t, known: [...t.known] }]));
  return { ...cp, tenants };
}

describe('checkpoint file', () => {
  test('round-trips through gzip, across the streaming chunk size', async () => {
    const cp = sample(20_000);
    const path = join(dir, 'cp.json.gz');
    const bytes = await writeCheckpointFile(path, cp);
    expect((await readFile(path)).length).toBe(bytes);
    const back = await readCheckpointFile(path);
    expect(back && withArrays(back)).toEqual(cp);
    expect(withArrays(decodeCheckpoint(encodeCheckpoint(cp)))).toEqual(cp);
    const known = back!.tenants.get('team "a"')!.known;
    expect(known.length).toBe(20_000);
    expect(known.at(12_345)).toBe(ulidAt(T0 + 12_345, 12_345));
  });

  test('names and details holding the text of a known key round-trip (the lists are found by it)', () => {
    const cp = sample(30);
    const [name, t] = [...cp.tenants][0]!;
    const tricky = new Map(cp.tenants);
    tricky.delete(name);
    tricky.set('a"known":"01ARZ3NDEKTSV4RRFFQ69G5FAV', {
      ...t,
      partial: [{ ...t.partial[0]!, detail: '"known":"01ARZ3NDEKTSV4RRFFQ69G5FAV"' }],
    });
    tricky.set('known', { ...t, known: [...t.known].slice(3), after: undefined });
    const back = decodeCheckpoint(encodeCheckpoint({ ...cp, tenants: tricky }));
    expect(withArrays(back)).toEqual({ ...cp, tenants: tricky });
  });

  test('a known list is compared with a map of the same blocks in any order', () => {
    const known = decodeCheckpoint(encodeCheckpoint(sample(50))).tenants.get('team "a"')!.known;
    const ids = Array.from({ length: 50 }, (_, i) => ulidAt(T0 + i, i));
    const mapOf = (keys: string[]): Map<string, number> => new Map(keys.map((k, i) => [k, i]));
    expect(known.sameAsKeys(mapOf(ids))).toBe(true);
    expect(known.sameAsKeys(mapOf([...ids].reverse()))).toBe(true);
    expect(known.sameAsKeys(mapOf([...ids.slice(0, 20), ...ids.slice(20).reverse()]))).toBe(true);
    // A different last block, in order and out of it; one block more or less.
    const other = ulidAt(T0 + 999, 999);
    expect(known.sameAsKeys(mapOf([...ids.slice(0, 49), other]))).toBe(false);
    expect(known.sameAsKeys(mapOf([other, ...ids.slice(1)]))).toBe(false);
    expect(known.sameAsKeys(mapOf(ids.slice(1)))).toBe(false);
    expect(known.sameAsKeys(mapOf([...ids, other]))).toBe(false);
  });

  test('absent file: undefined; damaged files: CheckpointError', async () => {
    expect(await readCheckpointFile(join(dir, 'none'))).toBeUndefined();
    const path = join(dir, 'bad');
    await writeFile(path, 'plain text');
    await expect(readCheckpointFile(path)).rejects.toBeInstanceOf(CheckpointError);
    const good = encodeCheckpoint(sample(3));
    for (const bad of [
      '{',
      '[]',
      good.replace('"version":1', '"version":2'),
      good.replace(/"known":"[0-9A-Z]{5}/, '"known":"'),
      // A character outside Crockford's alphabet in the second ID: the length is still right.
      good.replace(/("known":"[0-9A-Z]{26}[0-9A-Z]{3})[0-9A-Z]/, '$1U'),
      good.replace(/("known":"[0-9A-Z]{26}[0-9A-Z]{3})[0-9A-Z]/, '$1é'),
      good.replace('"after":"', '"after":"x'),
      good.replace('"no-meta-json"', '"whatever"'),
    ]) {
      await writeFile(path, gzipSync(bad));
      await expect(readCheckpointFile(path)).rejects.toBeInstanceOf(CheckpointError);
    }
  });
});

describe('checkpoint on a fresh data dir', () => {
  test('a sync of an empty bucket writes its checkpoint and logs no warning', async () => {
    const bucketDir = join(dir, 'bucket');
    await mkdir(bucketDir);
    const bucket = new FilesystemBucket({ directory: bucketDir, fsync: false });
    // Neither the data dir nor its parent exist yet; no tenant means no meta cache writes either.
    const cacheDir = join(dir, 'data', 'fetcher');
    const { logger, entries } = captureLogger();
    const f = new MetaFetcher(
      { bucket, layout: multiTenantLayout(), logger, registry: new Registry(), now: () => T0 },
      { cacheDir },
    );
    const r = await f.sync();
    expect(r.tenants.size).toBe(0);
    await f.close();
    expect(entries.filter((e) => e.level === 'warn' || e.level === 'error')).toEqual([]);
    expect(f.checkpointWrites).toBeGreaterThan(0);
    const cp = await readCheckpointFile(join(cacheDir, CHECKPOINT_FILENAME));
    expect(cp?.tenants.size).toBe(0);
    expect(await readdir(cacheDir)).toEqual([CHECKPOINT_FILENAME]);
  });
});

describe('a restore that fails', () => {
  test('fails the sync, is tried again by the next one, and a close after it writes nothing', async () => {
    const tb = await tempBucket();
    try {
      const layout = multiTenantLayout();
      for (let i = 0; i < 30; i++) {
        const id = ulidAt(T0 + i * 1000, i);
        await putBlock(tb.bucket, layout, `t${i % 3}`, mkMeta(id, { minTime: T0 + i * 7_200_000 }));
      }
      const make = (bucket: Bucket = tb.bucket): MetaFetcher =>
        new MetaFetcher(
          { bucket, layout, registry: new Registry(), now: () => T0 + 1e9 },
          { cacheDir: tb.cacheDir },
        );
      const first = make();
      const cold = await first.sync();
      await first.close();
      const cpPath = join(tb.cacheDir, CHECKPOINT_FILENAME);
      const metasPath = join(tb.cacheDir, METAS_FILENAME);
      const metasBytes = await readFile(metasPath);
      // The checkpoint cannot be read (a directory in its place: EISDIR, not a damaged file).
      await rename(cpPath, `${cpPath}.aside`);
      await mkdir(cpPath);
      const broken = make();
      await expect(broken.sync()).rejects.toThrow(/EISDIR/);
      await broken.close();
      // Nothing was written over what is on disk (the state was never restored).
      expect(await readFile(metasPath)).toStrictEqual(metasBytes);
      // The next sync of the same fetcher loads again once the path is readable.
      const recording = new RecordingBucket(tb.bucket);
      const retry = make(recording);
      await expect(retry.sync()).rejects.toThrow(/EISDIR/);
      await rm(cpPath, { recursive: true });
      await rename(`${cpPath}.aside`, cpPath);
      const again = await retry.sync();
      await retry.close();
      expect(recording.metaGets()).toEqual([]);
      expect([...again.tenants].map(([t, r]) => [t, [...r.metas.keys()].sort()])).toStrictEqual(
        [...cold.tenants].map(([t, r]) => [t, [...r.metas.keys()].sort()]),
      );
    } finally {
      await tb.cleanup();
    }
  });
});
