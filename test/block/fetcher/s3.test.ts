/**
 * The main sync scenario on a real S3 endpoint (Swift s3api on loopback): HTTP request counts
 * for cold, repeated (startAfter) and incremental syncs, a restart, and a cleaner deletion.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { deleteBlock, markForDeletion } from '../../../src/block/delete.js';
import { multiTenantLayout } from '../../../src/block/layout.js';
import { MetaFetcher } from '../../../src/block/fetcher/index.js';
import { PrefixedBucket } from '../../../src/objstore/prefixed.js';
import { S3Bucket } from '../../../src/objstore/s3.js';
import { Secret } from '../../../src/objstore/secret.js';
import { startSwift, type SwiftService } from '../../services/swift.js';
import { assertNoLeakedProcesses } from '../../support/processes.js';
import { H, T0, blockSet, mkMeta, putBlock, tempBucket, ulidAt, type TempBucket } from './helpers.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const layout = multiTenantLayout();
const NOW = T0 + 5000 * H;
let swift: SwiftService | undefined;
let s3: S3Bucket | undefined;
let tb: TempBucket | undefined;
const http = new Map<string, number>();

beforeAll(async () => {
  swift = await startSwift();
  s3 = new S3Bucket(
    {
      bucket: await swift.bucketName(),
      endpoint: swift.endpoint,
      region: swift.region,
      forcePathStyle: true,
      credentials: { accessKeyId: swift.accessKey, secretAccessKey: new Secret(swift.secretKey) },
      pageSize: 10,
    },
    { onRequest: (c) => http.set(c, (http.get(c) ?? 0) + 1) },
  );
  tb = await tempBucket();
}, 180_000);

afterAll(async () => {
  await s3?.close();
  await swift?.stop();
  await tb?.cleanup();
  await assertNoLeakedProcesses();
});

function httpCount(command: string): number {
  return http.get(command) ?? 0;
}

describe('fetcher on S3 (Swift)', () => {
  test('repeated syncs list after the watermark and read no known meta.json', async () => {
    const bucket = new PrefixedBucket(s3!, `fetcher-${process.pid}`, { closeInner: false });
    const tenants = ['t1', 't2'];
    const ids = new Map<string, string[]>();
    let seq = 0;
    for (const t of tenants) {
      const list: string[] = [];
      for (let i = 0; i < 25; i++) {
        const id = ulidAt(T0 + i * H, ++seq);
        await putBlock(bucket, layout, t, mkMeta(id));
        list.push(id);
      }
      ids.set(t, list);
    }
    const make = (): MetaFetcher =>
      new MetaFetcher({ bucket, layout, now: () => NOW }, { cacheDir: tb!.cacheDir, concurrency: 8 });
    const f = make();
    http.clear();
    const r1 = await f.sync();
    expect(blockSet(r1.tenants)).toHaveLength(50);
    expect(httpCount('GetObjectCommand')).toBe(50);
    // 1 tenant listing, 25 folders at 10 per page = 3 pages per tenant; no markers/ folder to list.
    expect(httpCount('ListObjectsV2Command')).toBe(1 + 2 * 3);

    http.clear();
    const r2 = await f.sync();
    expect(blockSet(r2.tenants)).toEqual(blockSet(r1.tenants));
    expect(httpCount('GetObjectCommand')).toBe(0);
    expect(httpCount('ListObjectsV2Command')).toBe(1 + 2);

    const fresh = ulidAt(T0 + 900 * H, 999);
    await putBlock(bucket, layout, 't2', mkMeta(fresh));
    http.clear();
    const r3 = await f.sync();
    expect(r3.tenants.get('t2')!.metas.has(fresh)).toBe(true);
    expect(httpCount('GetObjectCommand')).toBe(1);
    expect(httpCount('ListObjectsV2Command')).toBe(1 + 2);

    // The cleaner path: mark, sync, delete, sync: one HEAD settles it.
    const victim = ids.get('t1')![3]!;
    await markForDeletion(bucket, layout, 't1', victim, '', NOW);
    http.clear();
    // The tail listing shows t1's new markers/ folder (a common prefix after every block ID): listed.
    const marked = await f.sync();
    expect([...marked.tenants.get('t1')!.deletionMarks.keys()]).toEqual([victim]);
    expect(httpCount('ListObjectsV2Command')).toBe(1 + 2 + 1);
    await deleteBlock(bucket, layout, 't1', victim);
    http.clear();
    const r4 = await f.sync();
    expect(r4.tenants.get('t1')!.metas.has(victim)).toBe(false);
    expect(httpCount('HeadObjectCommand')).toBe(1);
    await f.close();

    // A restart reads nothing from the bucket.
    const g = make();
    http.clear();
    const r5 = await g.sync();
    expect(blockSet(r5.tenants)).toEqual(blockSet(r4.tenants));
    expect(httpCount('GetObjectCommand')).toBe(0);
    await g.close();
  }, 180_000);
});
