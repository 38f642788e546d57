/** The end-to-end scenario (scenario.ts) on S3: OpenStack Swift with s3api on loopback. */
import { afterAll, beforeAll } from 'vitest';
import { S3Bucket } from '../../src/objstore/s3.js';
import { Secret } from '../../src/objstore/secret.js';
import { startSwift, type SwiftService } from '../services/swift.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { describeCompactionScenario, type ScenarioTarget } from './scenario.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

let swift: SwiftService | undefined;
let target: ScenarioTarget | undefined;

beforeAll(async () => {
  swift = await startSwift();
  const bucket = await swift.bucketName();
  target = {
    bucket: new S3Bucket({
      bucket,
      endpoint: swift.endpoint,
      region: swift.region,
      forcePathStyle: true,
      credentials: { accessKeyId: swift.accessKey, secretAccessKey: new Secret(swift.secretKey) },
    }),
    objstore: JSON.stringify({
      type: 'S3',
      config: {
        bucket,
        endpoint: new URL(swift.endpoint).host,
        insecure: true,
        region: swift.region,
        access_key: swift.accessKey,
        secret_key: swift.secretKey,
      },
    }),
  };
}, 120_000);

afterAll(async () => {
  await target?.bucket.close();
  await swift?.stop();
  await assertNoLeakedProcesses();
});

describeCompactionScenario('strata compact end to end on S3 (Swift s3api)', () => {
  if (!target) throw new Error('swift not ready');
  return target;
});
