/**
 * Compaction under queries: while `strata compact` (deletion delay 1h, so its inputs stay in the
 * bucket marked for deletion) merges 2h blocks into 8h blocks, a loop of remote reads of the whole
 * range through strata query → strata store must return exactly the generated samples every time:
 * no gap while the inputs are marked, no duplicate while inputs and output are both in the bucket.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffDumps } from '../support/dump.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { startStrata, tail, waitExit } from '../compactor/run.js';
import {
  filesystemConfigFile,
  freshSeed,
  makeData,
  remoteReadDump,
  scratch,
  startQuery,
  startStore,
  stopAll,
  uploadBlocks,
  type QueryData,
  type Running,
  type Scratch,
} from './harness.js';

const seed = freshSeed();
/** A multiple of 2 days since the epoch: 8h level ranges are aligned to it. */
const START = 1_700_006_400_000;

let s: Scratch | undefined;
let data: QueryData;
let bucket = '';
let config = '';
let store: Running | undefined;
let query: Running | undefined;

beforeAll(async () => {
  s = await scratch('strata-compaction-queries-');
  data = await makeData(
    { seed, series: 10, startMs: START, durationMs: 16 * 3600_000, intervalMs: 30_000, churn: 0.3 },
    s.path('blocks'),
  );
  bucket = s.path('bucket');
  await uploadBlocks(
    bucket,
    data.blocks.map((b) => b.dir),
    { externalLabels: { cluster: 'c1' } },
  );
  config = await filesystemConfigFile(s, bucket);
  store = await startStore({ objstoreConfigFile: config, dataDir: s.path('store'), deleteDelay: '1h' });
  query = await startQuery({ endpoints: [store.grpc] });
}, 120_000);

afterAll(async () => {
  await stopAll([store, query]);
  await s?.cleanup();
  await assertNoLeakedProcesses();
});

/** Levels of the blocks in the (single-tenant) bucket, and how many carry a deletion mark. */
async function bucketState(): Promise<{ levels: number[]; marked: number }> {
  const levels: number[] = [];
  let marked = 0;
  for (const name of await readdir(bucket)) {
    if (!/^[0-9A-HJKMNP-TV-Z]{26}$/.test(name)) continue;
    const meta = JSON.parse(await readFile(join(bucket, name, 'meta.json'), 'utf8')) as {
      compaction: { level: number };
    };
    levels.push(meta.compaction.level);
    if (
      await readFile(join(bucket, name, 'deletion-mark.json')).then(
        () => true,
        () => false,
      )
    )
      marked++;
  }
  return { levels, marked };
}

describe(`compaction under a query loop (seed ${seed})`, () => {
  it('every answer is the full data, before, during and after compaction', async () => {
    const read = (): Promise<string[]> =>
      remoteReadDump(
        query!.http,
        { start: data.minTime, end: data.maxTime, matchers: [{ type: 'RE', name: '__name__', value: '.+' }] },
        ['cluster'],
      );
    const check = (got: string[], when: string): void => {
      if (got.length !== data.dump.length || got.some((l, i) => l !== data.dump[i])) {
        throw new Error(
          `${when}: ${got.length} samples, want ${data.dump.length} (seed ${seed}):\n` +
            (diffDumps(data.dump, got, { sort: false }) ?? 'same samples, different order'),
        );
      }
    };
    check(await read(), 'before compaction');

    const compact = startStrata([
      'compact',
      '--objstore.config-file',
      config,
      '--data-dir',
      s!.path('compact'),
      '--consistency-delay',
      '0s',
      '--delete-delay',
      '1h',
      '--http-address',
      '127.0.0.1:0',
    ]);
    const exited = waitExit(compact, 80_000);
    let done = false;
    void exited.then(() => (done = true));
    let during = 0;
    let after = 0;
    let doneAt = 0;
    // Query until the compactor is done and the store had 4 s (4 syncs) to see its outcome.
    while (!done || Date.now() - doneAt < 4000) {
      check(await read(), done ? `after compaction (query ${after})` : `during compaction (query ${during})`);
      if (done) {
        if (doneAt === 0) doneAt = Date.now();
        after++;
      } else during++;
    }
    const r = await exited;
    expect(r.code, tail(r.output)).toBe(0);
    const st = await bucketState();
    console.log(
      `queries during compaction: ${during}, after: ${after}; bucket levels ${st.levels.join(',')}`,
    );
    expect(Math.max(...st.levels), 'the compactor merged blocks').toBeGreaterThan(1);
    expect(st.marked, 'inputs kept, marked for deletion').toBeGreaterThan(0);
    expect(during + after).toBeGreaterThan(3);
  }, 90_000);
});
