import { afterAll, beforeAll } from 'vitest';
import { PrefixedBucket } from '../../src/objstore/prefixed.js';
import { MIB, S3Bucket } from '../../src/objstore/s3.js';
import { Secret } from '../../src/objstore/secret.js';
import { startSwift, type SwiftService } from '../services/swift.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { registerBlockBucketTests } from './suite.js';

// The SDK warns once per process that it will need Node 22 from 2027; not news for these tests.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

let swift: SwiftService | undefined;
let shared: S3Bucket | undefined;
let seq = 0;

beforeAll(async () => {
  swift = await startSwift();
  shared = new S3Bucket({
    bucket: await swift.bucketName(),
    endpoint: swift.endpoint,
    region: swift.region,
    forcePathStyle: true,
    credentials: { accessKeyId: swift.accessKey, secretAccessKey: new Secret(swift.secretKey) },
    partSize: 5 * MIB,
    // Small pages so block listings cross page boundaries.
    pageSize: 7,
  });
});

afterAll(async () => {
  await shared?.close();
  await swift?.stop();
  await assertNoLeakedProcesses();
});

registerBlockBucketTests('s3 (Swift s3api)', {
  newBucket: async () => {
    if (!shared) throw new Error('bucket not ready');
    seq += 1;
    return new PrefixedBucket(shared, `block-${seq}-${process.pid}`, { closeInner: false });
  },
});
