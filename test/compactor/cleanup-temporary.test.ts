/**
 * The cleaner removes what a killed writer left in a filesystem bucket: the partial block and the
 * temporary file inside it, both after the partial-block delay, so no folder stays behind that
 * Thanos would take for a block or Cortex/Mimir for a tenant.
 */
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { MetaFetcher } from '../../src/block/fetcher/index.js';
import { multiTenantLayout } from '../../src/block/layout.js';
import { cleanTenants } from '../../src/compactor/cleanup.js';
import type { Bucket } from '../../src/objstore/bucket.js';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { ForwardingBucket } from '../../src/objstore/forwarding.js';
import { InstrumentedBucket } from '../../src/objstore/instrumented.js';
import { ObjstoreError } from '../../src/objstore/errors.js';
import { captureLogger, mkMeta, putBlock, T0, ulidAt } from '../block/fetcher/helpers.js';

const H = 3600_000;
const layout = multiTenantLayout();
let dir = '';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-cleanup-tmp-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function backdate(path: string, hours: number): Promise<void> {
  const t = (Date.now() - hours * H) / 1000;
  await utimes(path, t, t);
}

describe('the cleaner and temporary files', () => {
  test('a killed upload: partial block and its temporary file go after the partial delay', async () => {
    const root = join(dir, 'bucket');
    const fs = new FilesystemBucket({ directory: root, fsync: false });
    const bucket = new InstrumentedBucket(fs); // the cleaner sees the bucket through wrappers
    const good = ulidAt(T0, 1);
    await putBlock(bucket, layout, 'team-a', mkMeta(good));
    // Killed while writing chunks/000001: the index made it, meta.json never came.
    const killed = ulidAt(T0 + 2 * H, 2);
    await bucket.upload(layout.indexKey('team-a', killed), Buffer.from('index'));
    const leftover = join(
      root,
      'team-a',
      killed,
      'chunks',
      '.strata-tmp.66666666-6666-4666-8666-666666666666',
    );
    await mkdir(join(leftover, '..'), { recursive: true });
    await writeFile(leftover, 'half a segment');
    // Another writer's fresh temporary file in a complete block: kept.
    const fresh = join(root, 'team-a', good, '.strata-tmp.77777777-7777-4777-8777-777777777777');
    await writeFile(fresh, 'being written');
    for (const p of [leftover, join(root, 'team-a', killed, 'index')]) await backdate(p, 3);

    const { logger, entries } = captureLogger();
    const fetcher = new MetaFetcher({ bucket, layout, logger, registry: new Registry(), now: Date.now });
    const sync = await fetcher.sync();
    await fetcher.close();
    expect([...(sync.tenants.get('team-a')?.partial.keys() ?? [])]).toEqual([killed]);

    const r = await cleanTenants(
      sync.tenants.values(),
      { deleteDelayMs: 48 * H, partialDelayMs: 2 * H },
      { bucket, layout, logger, now: Date.now },
    );
    expect(r).toMatchObject({ deletedPartial: 1, deletedTemporary: 1, errors: 0 });
    // What Cortex/Mimir (top level) and Thanos (ULID folders) would list.
    expect(await readdir(root)).toEqual(['team-a']);
    expect(await readdir(join(root, 'team-a'))).toEqual([good]);
    expect((await readdir(join(root, 'team-a', good))).sort()).toEqual([
      '.strata-tmp.77777777-7777-4777-8777-777777777777',
      'index',
      'meta.json',
    ]);
    expect(entries.filter((e) => e.level === 'warn')).toEqual([]);
    expect(entries.some((e) => e.msg === 'deleted temporary files of killed writers')).toBe(true);
  });

  test('a failing temporary cleanup counts as an error and warns; buckets without it are fine', async () => {
    class Broken extends ForwardingBucket {
      override cleanupTemporary(): Promise<number> {
        return Promise.reject(
          new ObjstoreError('ERR_OBJSTORE_TRANSIENT', 'cleanup_temporary', undefined, 'EBUSY'),
        );
      }
    }
    const fs = new FilesystemBucket({ directory: join(dir, 'b'), fsync: false });
    const { logger, entries } = captureLogger();
    const r = await cleanTenants(
      [],
      { deleteDelayMs: 0, partialDelayMs: 0 },
      {
        bucket: new Broken(fs),
        layout,
        logger,
        now: Date.now,
      },
    );
    expect(r).toMatchObject({ deletedTemporary: 0, errors: 1 });
    expect(entries.map((e) => [e.level, e.msg])).toEqual([
      ['warn', 'deleting temporary files failed; retried next pass'],
    ]);

    const plain: Bucket = { ...fsMethods(fs) };
    const r2 = await cleanTenants(
      [],
      { deleteDelayMs: 0, partialDelayMs: 0 },
      { bucket: plain, layout, logger, now: Date.now },
    );
    expect(r2).toMatchObject({ deletedTemporary: 0, errors: 0 });
  });
});

/** The Bucket methods of fs without the optional capability, as an S3 bucket has them. */
function fsMethods(b: Bucket): Bucket {
  return {
    name: b.name,
    get: (k) => b.get(k),
    getRange: (k, o, l) => b.getRange(k, o, l),
    getStream: (k) => b.getStream(k),
    upload: (k, body, size) => b.upload(k, body, size),
    uploadFile: (k, p) => b.uploadFile(k, p),
    downloadFile: (k, p) => b.downloadFile(k, p),
    delete: (k) => b.delete(k),
    deleteMany: (ks) => b.deleteMany(ks),
    exists: (k) => b.exists(k),
    attributes: (k) => b.attributes(k),
    iter: (p, o) => b.iter(p, o),
    isNotFound: (e) => b.isNotFound(e),
    close: () => b.close(),
  };
}
