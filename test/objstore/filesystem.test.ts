import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { PrefixedBucket } from '../../src/objstore/prefixed.js';
import { registerConformanceTests } from './conformance.js';

let root = '';
let shared: FilesystemBucket;
let seq = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-fs-bucket-'));
  shared = new FilesystemBucket({ directory: root });
});

afterAll(async () => {
  // Temp files of finished writes never stay behind.
  const leftovers = await readdir(join(root, '.strata-tmp')).catch(() => []);
  await rm(root, { recursive: true, force: true });
  if (leftovers.length > 0) throw new Error(`temp files left behind: ${leftovers.join(', ')}`);
});

registerConformanceTests('filesystem', {
  newBucket: async () => new PrefixedBucket(shared, `test-${++seq}`, { closeInner: false }),
  paginationKeys: 1100,
  largeObjectBytes: 12 * 1024 * 1024,
});
