/** The end-to-end scenario (scenario.ts) on a filesystem bucket. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { filesystemObjstore } from './run.js';
import { describeCompactionScenario, type ScenarioTarget } from './scenario.js';

let root = '';
let target: ScenarioTarget | undefined;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-compactor-fs-'));
  const dir = join(root, 'bucket');
  target = { bucket: new FilesystemBucket({ directory: dir }), objstore: filesystemObjstore(dir) };
});

afterAll(async () => {
  await target?.bucket.close();
  if (root) await rm(root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

describeCompactionScenario('strata compact end to end on a filesystem bucket', () => {
  if (!target) throw new Error('bucket not ready');
  return target;
});
