/**
 * Thanos' Store API acceptance table against `strata store` (a bucket holding the case's series
 * as two replica blocks), against `strata query` in front of such a store, and against two stacked
 * queriers (the outer one sees the inner as a QUERY peer).
 */
import { afterAll } from 'vitest';
import { assertNoLeakedProcesses } from '../support/processes.js';
import {
  filesystemConfigFile,
  scratch,
  startQuery,
  startStore,
  stopAll,
  uploadBlocks,
  type Running,
  type Scratch,
} from '../query/harness.js';
import type { AcceptanceCase } from './acceptance-cases.js';
import { describeStoreApiAcceptance, writeCaseBlocks, type AcceptanceEndpoint } from './acceptance.js';

let root: Scratch | undefined;

async function caseStore(c: AcceptanceCase, now: number): Promise<Running> {
  root ??= await scratch('strata-acceptance-');
  const bucket = root.path('bucket');
  const blocks = await writeCaseBlocks(c, now, root.path('blocks'));
  const config = await filesystemConfigFile(root, bucket);
  await uploadBlocks(bucket, blocks);
  return startStore({ objstoreConfigFile: config, dataDir: root.path('store') });
}

afterAll(async () => {
  await root?.cleanup();
  await assertNoLeakedProcesses();
});

describeStoreApiAcceptance('Store API acceptance: strata store', {
  externalLabelsWithoutData: false,
  async start(c, now): Promise<AcceptanceEndpoint> {
    const store = await caseStore(c, now);
    return { address: store.grpc, stop: () => store.stop() };
  },
});

describeStoreApiAcceptance('Store API acceptance: strata query in front of strata store', {
  externalLabelsWithoutData: false,
  async start(c, now): Promise<AcceptanceEndpoint> {
    const store = await caseStore(c, now);
    let query: Running | undefined;
    try {
      query = await startQuery({ endpoints: [store.grpc], replicaLabel: 'replica' });
    } catch (err) {
      await store.stop();
      throw err;
    }
    return { address: query.grpc, stop: () => stopAll([store, query]) };
  },
});

describeStoreApiAcceptance('Store API acceptance: strata query in front of strata query (stacked)', {
  externalLabelsWithoutData: false,
  async start(c, now): Promise<AcceptanceEndpoint> {
    const store = await caseStore(c, now);
    const running: Running[] = [store];
    try {
      const inner = await startQuery({ endpoints: [store.grpc], replicaLabel: 'replica' });
      running.push(inner);
      running.push(await startQuery({ endpoints: [inner.grpc], replicaLabel: 'replica' }));
    } catch (err) {
      await stopAll(running);
      throw err;
    }
    return { address: running[running.length - 1]!.grpc, stop: () => stopAll(running) };
  },
});
