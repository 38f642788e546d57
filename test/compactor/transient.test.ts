/**
 * A transient storage error while uploading a compaction's output is a transient failure in both
 * modes, never a bad block: `strata compact` retries the plan in its next pass, and a worker tells
 * the planner "retryable" (before the classification looked through BlockUploadError's cause it
 * was a plain failure).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { ObjstoreError } from '../../src/objstore/errors.js';
import { layoutFor } from '../../src/block/layout.js';
import { uploadBlock } from '../../src/block/upload.js';
import { MetaFetcher } from '../../src/block/fetcher/fetcher.js';
import { defaultCompactorFilters } from '../../src/block/fetcher/filters/defaults.js';
import { Compactor } from '../../src/compactor/compactor.js';
import { compactorMetrics } from '../../src/compactor/metrics.js';
import { PlanningPass } from '../../src/compactor/pass.js';
import { bucketPlanExecutor, classifyPlanFailure } from '../../src/scheduler/executor.js';
import { nopLogger } from '../../src/util/logger.js';
import { FaultyBucket, synthBlocks, tempDir } from '../block/helpers.js';

/** Uploads of an output's index fail with a transient error while `failing` is set. */
class TransientIndexUploads extends FaultyBucket {
  failing = true;
  transientFailures = 0;

  constructor(inner: FilesystemBucket) {
    super(inner, () => false);
  }

  override async uploadFile(key: string, localPath: string): Promise<void> {
    if (this.failing && key.endsWith('/index')) {
      this.transientFailures++;
      throw new ObjstoreError(
        'ERR_OBJSTORE_TRANSIENT',
        'upload',
        key,
        'SlowDown: please reduce your request rate',
      );
    }
    await super.uploadFile(key, localPath);
  }
}

const layout = layoutFor('single');
const PLAN = { replicaLabels: ['replica'] };
let tmp: { dir: string; cleanup: () => Promise<void> };

async function replicaBucket(name: string): Promise<TransientIndexUploads> {
  const fs = new FilesystemBucket({ directory: join(tmp.dir, name) });
  for (const b of await synthBlocks(join(tmp.dir, `${name}-blocks`), { replicas: 2, series: 5 })) {
    await uploadBlock(fs, layout, '', b.dir);
  }
  return new TransientIndexUploads(fs);
}

function fetcher(bucket: TransientIndexUploads, name: string): MetaFetcher {
  return new MetaFetcher(
    { bucket, layout, registry: new Registry(), now: Date.now },
    {
      cacheDir: join(tmp.dir, `${name}-cache`),
      filters: defaultCompactorFilters({ consistencyDelayMs: 0, replicaLabels: PLAN.replicaLabels }),
    },
  );
}

beforeAll(async () => {
  tmp = await tempDir('strata-transient-');
});

afterAll(async () => {
  await tmp.cleanup();
});

describe('a transient upload error', () => {
  it('strata compact: counted as transient, nothing marked, the next pass compacts', async () => {
    const bucket = await replicaBucket('compact');
    const registry = new Registry();
    const c = new Compactor(
      {
        dataDir: join(tmp.dir, 'compact-data'),
        concurrency: 1,
        deleteDelayMs: 0,
        partialDelayMs: 48 * 3600_000,
        plan: PLAN,
      },
      {
        bucket,
        layout,
        syncer: fetcher(bucket, 'compact'),
        logger: nopLogger,
        metrics: compactorMetrics(registry),
        now: Date.now,
      },
    );
    const first = await c.runPass();
    expect(bucket.transientFailures).toBe(1);
    expect(first).toMatchObject({ plansDone: 0, plansFailed: 1, blocksMarkedNoCompact: 0 });
    const failed = await registry.getSingleMetric('strata_compactions_failed_total')!.get();
    expect(failed.values.map((v) => [v.labels.kind, v.value])).toEqual([['transient', 1]]);
    const keys: string[] = [];
    for await (const e of bucket.iter('', { recursive: true })) keys.push(e.key);
    expect(keys.filter((k) => k.endsWith('no-compact-mark.json'))).toEqual([]);

    bucket.failing = false;
    const second = await c.runPass();
    expect(second).toMatchObject({ plansDone: 1, plansFailed: 0, blocksMarkedNoCompact: 0 });
  });

  it('worker: reported to the planner as retryable, blaming no block', async () => {
    const bucket = await replicaBucket('worker');
    const pass = new PlanningPass(PLAN, {
      bucket,
      layout,
      syncer: fetcher(bucket, 'worker'),
      logger: nopLogger,
      now: Date.now,
    });
    const { plans } = await pass.run();
    expect(plans).toHaveLength(1);
    const exec = bucketPlanExecutor({
      bucket,
      dataDir: join(tmp.dir, 'worker-data'),
      logger: nopLogger,
      now: Date.now,
    });
    const err = await exec
      .execute(
        { ...plans[0]!, epoch: 1, plannerId: '' },
        { signal: new AbortController().signal, onProgress: () => undefined },
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(bucket.transientFailures).toBe(1);
    expect(classifyPlanFailure(err)).toMatchObject({ retryable: true, code: 'ERR_BLOCK_UPLOAD' });
    expect(classifyPlanFailure(err).failingBlock).toBeUndefined();
  });
});
