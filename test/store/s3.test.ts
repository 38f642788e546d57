/**
 * `strata store` on S3 (Swift s3api on loopback) with a multi-tenant bucket: serves one tenant,
 * every sample equal to promtool dump, and the default group ID names endpoint, bucket, tenant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { S3Bucket } from '../../src/objstore/s3.js';
import { Secret } from '../../src/objstore/secret.js';
import { startSwift, type SwiftService } from '../services/swift.js';
import { ensureBuilt } from '../support/build.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import {
  collectSeries,
  expected,
  makeFixture,
  seriesToDump,
  storeClients,
  wire,
  type WireMatcher,
} from './fixture.js';
import { startStore, type RunningStore } from './run.js';

let swift: SwiftService | undefined;
let store: RunningStore | undefined;
let oracle: readonly string[];
let bucketName: string;

beforeAll(async () => {
  await ensureBuilt();
  swift = await startSwift();
  bucketName = await swift.bucketName();
  const bucket = new S3Bucket({
    bucket: bucketName,
    endpoint: swift.endpoint,
    region: swift.region,
    forcePathStyle: true,
    credentials: { accessKeyId: swift.accessKey, secretAccessKey: new Secret(swift.secretKey) },
  });
  const fx = await makeFixture(bucket, 'team-1');
  oracle = fx.oracle;
  await rm(fx.root, { recursive: true, force: true });
  await bucket.close();
  const objstore = JSON.stringify({
    type: 'S3',
    config: {
      bucket: bucketName,
      endpoint: new URL(swift.endpoint).host,
      insecure: true,
      region: swift.region,
      access_key: swift.accessKey,
      secret_key: swift.secretKey,
    },
  });
  store = await startStore(objstore, ['--tenancy', 'multi', '--tenant', 'team-1']);
}, 180_000);

afterAll(async () => {
  await store?.proc.stop();
  await swift?.stop();
  await assertNoLeakedProcesses();
});

describe('strata store on S3', () => {
  it('serves the tenant: samples equal promtool dump; group ID from the objstore', async () => {
    const c = storeClients(store!.grpc);
    const ms: WireMatcher[] = [{ type: '=~', name: '__name__', value: 'strata_gen_(requests_total|up)' }];
    const series = await collectSeries(c, {
      minTime: -(2n ** 63n),
      maxTime: 2n ** 63n - 1n,
      matchers: wire(ms),
    });
    const want = expected(oracle, ms, -Infinity, Infinity);
    expect(want.length).toBeGreaterThan(0);
    expect(seriesToDump(series, -Infinity, Infinity)).toEqual(want);
    const info = await c.info.info({});
    expect(info.storeGroupId).toBe(`s3:${swift!.endpoint.replace(/\/+$/, '')}/${bucketName};tenant=team-1`);
  });
});
