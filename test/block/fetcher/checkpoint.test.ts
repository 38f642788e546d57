import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
  readCheckpointFile,
  writeCheckpointFile,
  type Checkpoint,
} from '../../../src/block/fetcher/index.js';
import { T0, ulidAt } from './helpers.js';

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

describe('checkpoint file', () => {
  test('round-trips through gzip, across the streaming chunk size', async () => {
    const cp = sample(20_000);
    const path = join(dir, 'cp.json.gz');
    const bytes = await writeCheckpointFile(path, cp);
    expect((await readFile(path)).length).toBe(bytes);
    const back = await readCheckpointFile(path);
    expect(back).toEqual(cp);
    expect(decodeCheckpoint(encodeCheckpoint(cp))).toEqual(cp);
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
      good.replace('"after":"', '"after":"x'),
      good.replace('"no-meta-json"', '"whatever"'),
    ]) {
      await writeFile(path, gzipSync(bad));
      await expect(readCheckpointFile(path)).rejects.toBeInstanceOf(CheckpointError);
    }
  });
});
