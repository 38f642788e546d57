import { afterAll } from 'vitest';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { tempDir } from './helpers.js';
import { registerBlockBucketTests } from './suite.js';

const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const c of cleanups) await c();
});

registerBlockBucketTests('filesystem', {
  newBucket: async () => {
    const t = await tempDir('strata-block-fs-');
    cleanups.push(t.cleanup);
    return new FilesystemBucket({ directory: t.dir });
  },
});
