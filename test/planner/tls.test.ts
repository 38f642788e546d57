/**
 * `strata planner` with mutual TLS (--grpc-server-tls-cert/-key/-client-ca) and `strata worker`s
 * (--grpc-client-tls-*), certificates made by openssl: workers without a client certificate, with
 * one from another CA, or speaking plaintext are refused in the handshake and get no plan; a
 * worker with a good certificate gets the plans and the bucket ends where `strata compact` ends.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { ensureBuilt } from '../support/build.js';
import { makeTestPki, type TestPki } from '../support/certs.js';
import { assertNoLeakedProcesses, type TrackedProcess } from '../support/processes.js';
import { haFixture, type HaFixture } from '../compactor/fixtures.js';
import { liveBlocks } from '../compactor/inspect.js';
import { compactArgs, filesystemObjstore, runStrataOk } from '../compactor/run.js';
import {
  blockKey,
  expectSameBlocks,
  plannerStatus,
  plansLogged,
  readTenants,
  records,
  startPlanner,
  startWorker,
  stopOk,
  uploadFixture,
  waitForEndState,
  waitForLog,
  withOutputs,
  type Planner,
} from './cluster.js';

let root = '';
let fx: HaFixture;
let pki: TestPki;
let compactBucket: FilesystemBucket | undefined;
let plannerBucket: FilesystemBucket | undefined;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-planner-tls-'));
  compactBucket = new FilesystemBucket({ directory: join(root, 'bucket-compact') });
  plannerBucket = new FilesystemBucket({ directory: join(root, 'bucket-planner') });
  [fx, pki] = await Promise.all([
    haFixture({ windows: 8, series: 20, tenants: [{ tenant: 'alpha', kind: 'identical' }] }),
    makeTestPki(root),
    ensureBuilt(),
  ]).then(([f, p]) => [f, p] as const);
  await uploadFixture(compactBucket, fx);
  await uploadFixture(plannerBucket, fx);
}, 300_000);

afterAll(async () => {
  await compactBucket?.close();
  await plannerBucket?.close();
  if (root) await rm(root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

describe('strata planner and strata worker over mutual TLS', () => {
  it('only a worker with a certificate of the client CA gets plans; the bucket converges', async () => {
    await runStrataOk(
      compactArgs({
        objstore: filesystemObjstore(join(root, 'bucket-compact')),
        dataDir: join(root, 'compact-data'),
        extra: ['--deduplication.func', 'penalty'],
      }),
    );
    const refStates = await readTenants(compactBucket!, fx);
    const want = new Map([...refStates].map(([t, st]) => [t, liveBlocks(st).map(blockKey).sort()]));

    const objstore = filesystemObjstore(join(root, 'bucket-planner'));
    const secure = ['--grpc-client-tls-secure', '--grpc-client-tls-ca', pki.ca.cert];
    const refused: Record<string, readonly string[]> = {
      'no-cert': secure,
      'other-ca': [
        ...secure,
        '--grpc-client-tls-cert',
        pki.otherClient.cert,
        '--grpc-client-tls-key',
        pki.otherClient.key,
      ],
      plaintext: [],
    };
    let planner: Planner | undefined;
    const workers: TrackedProcess[] = [];
    try {
      planner = await startPlanner({
        objstore,
        dataDir: join(root, 'planner-data'),
        extra: [
          '--deduplication.func',
          'penalty',
          '--grpc-server-tls-cert',
          pki.server.cert,
          '--grpc-server-tls-key',
          pki.server.key,
          '--grpc-server-tls-client-ca',
          pki.ca.cert,
        ],
      });
      const bad = await Promise.all(
        Object.entries(refused).map(([id, extra]) =>
          startWorker({ planner: planner!, objstore, dataDir: join(root, `data-${id}`), id, extra }),
        ),
      );
      workers.push(...bad);
      // Each is refused (twice: it keeps trying), and the planner never saw a worker.
      for (const w of bad) {
        await waitForLog(w, 'a refused stream', (r) => r.msg === 'planner stream failed');
        await waitForLog(
          w,
          'a second refused stream',
          () => records(w).filter((r) => r.msg === 'planner stream failed').length >= 2,
        );
      }
      expect((await plannerStatus(planner)).workers).toEqual([]);
      for (const w of bad) await stopOk(w);

      const good = await startWorker({
        planner,
        objstore,
        dataDir: join(root, 'data-good'),
        id: 'good',
        extra: [
          ...secure,
          '--grpc-client-tls-cert',
          pki.client.cert,
          '--grpc-client-tls-key',
          pki.client.key,
        ],
      });
      workers.push(good);
      await waitForEndState(planner, plannerBucket!, fx, want, 60_000, 10_000);
      const status = await plannerStatus(planner);
      expect(status.workers.map((w) => w.worker)).toEqual(['good']);
      expect(plansLogged(good, 'plan started').length).toBeGreaterThan(0);
      for (const w of bad) expect(plansLogged(w, 'plan started'), w.name).toEqual([]);
      expect(records(planner.proc).find((r) => r.msg === 'strata planner started')?.grpc_tls).toBe('mutual');
      await stopOk(good);
      await stopOk(planner.proc);
    } catch (err) {
      throw withOutputs(err, [...(planner ? [planner.proc] : []), ...workers]);
    } finally {
      for (const w of workers) await w.stop('SIGKILL', 1000);
      await planner?.proc.stop('SIGKILL', 1000);
    }
    const states = await readTenants(plannerBucket!, fx);
    for (const t of fx.tenants) {
      expectSameBlocks(
        liveBlocks(states.get(t.tenant)!).map(blockKey).sort(),
        want.get(t.tenant)!,
        `${t.tenant}: live blocks`,
      );
    }
  });
});
