/**
 * `strata store` with mutual TLS (--grpc-server-tls-*) and `strata query` as its client
 * (--grpc-client-tls-*), certificates made by openssl: a querier with a certificate of the client
 * CA gets series; one without a certificate, with another CA's, or in plaintext is refused in the
 * handshake (the endpoint stays down) and gets nothing. A second querier reaches the first one's
 * own Store API, also over mutual TLS. Replaced certificate files are used without a restart, and
 * unusable TLS flags stop the command with ERR_TLS_CONFIG naming flag and file.
 */
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { makeCa, makeCert, makeTestPki, type TestPki } from '../support/certs.js';
import { runStrata } from '../compactor/run.js';
import { assertNoLeakedProcesses, waitFor } from '../support/processes.js';
import {
  filesystemConfigFile,
  scratch,
  startQuery,
  startStore,
  stopAll,
  type Running,
  type Scratch,
} from '../query/harness.js';
import { makeFixture } from './fixture.js';

interface EndpointStatus {
  address: string;
  healthy: boolean;
  lastError: string | null;
  consecutiveFailures: number;
}

let s: Scratch;
let pki: TestPki;
let objstoreFile = '';

beforeAll(async () => {
  s = await scratch('strata-store-tls-');
  pki = await makeTestPki(s.dir);
  const dir = s.path('bucket');
  objstoreFile = await filesystemConfigFile(s, dir);
  const bucket = new FilesystemBucket({ directory: dir });
  // Only the bucket is used: the local copies go at once.
  await rm((await makeFixture(bucket)).root, { recursive: true, force: true });
  await bucket.close();
}, 120_000);

afterAll(async () => {
  await s?.cleanup();
  await assertNoLeakedProcesses();
});

async function endpoint(q: Running): Promise<EndpointStatus> {
  const res = await fetch(`${q.http}/api/v1/status`);
  const body = (await res.json()) as { endpoints: EndpointStatus[] };
  return body.endpoints[0]!;
}

async function labelNames(q: Running): Promise<string[]> {
  const res = await fetch(`${q.http}/api/v1/labels`);
  const body = (await res.json()) as { data: string[] };
  return body.data;
}

const serverTls = (): string[] => [
  '--grpc-server-tls-cert',
  pki.server.cert,
  '--grpc-server-tls-key',
  pki.server.key,
  '--grpc-server-tls-client-ca',
  pki.ca.cert,
];
const clientTls = (c: { cert: string; key: string } | undefined): string[] => [
  '--grpc-client-tls-secure',
  '--grpc-client-tls-ca',
  pki.ca.cert,
  ...(c ? ['--grpc-client-tls-cert', c.cert, '--grpc-client-tls-key', c.key] : []),
];

describe('strata store and strata query over mutual TLS', () => {
  it('only a querier with a certificate of the client CA gets series', async () => {
    const running: Running[] = [];
    try {
      const store = await startStore({
        objstoreConfigFile: objstoreFile,
        dataDir: s.path('store'),
        extra: serverTls(),
      });
      running.push(store);
      const [good, noCert, otherCa, plaintext] = await Promise.all([
        startQuery({ endpoints: [store.grpc], extra: [...clientTls(pki.client), ...serverTls()] }, 'good'),
        startQuery({ endpoints: [store.grpc], extra: clientTls(undefined) }, 'no-cert'),
        startQuery({ endpoints: [store.grpc], extra: clientTls(pki.otherClient) }, 'other-ca'),
        startQuery({ endpoints: [store.grpc] }, 'plaintext'),
      ]);
      running.push(good, noCert, otherCa, plaintext);
      const e = await endpoint(good);
      expect(e.healthy, JSON.stringify(e)).toBe(true);
      expect(await labelNames(good)).toContain('__name__');
      for (const q of [noCert, otherCa, plaintext]) {
        const st = await waitFor(
          `${q.name}: two failed Info calls`,
          async () => {
            const st = await endpoint(q);
            return st.consecutiveFailures >= 2 ? st : undefined;
          },
          30_000,
          200,
        );
        expect(st.healthy, q.name).toBe(false);
        expect(st.lastError, q.name).not.toBeNull();
        // TLS 1.3: the refusal reaches the client as an alert (no certificate) or a reset stream.
        if (q === noCert) expect(st.lastError).toMatch(/certificate required/);
        expect(await labelNames(q), q.name).toEqual([]);
      }
      // The querier's own Store API, behind mutual TLS: a second querier with a good certificate.
      const stacked = await startQuery({ endpoints: [good.grpc], extra: clientTls(pki.client) }, 'stacked');
      running.push(stacked);
      const st = await endpoint(stacked);
      expect(st.healthy, JSON.stringify(st)).toBe(true);
      expect(await labelNames(stacked)).toContain('__name__');
      const refused = await startQuery({ endpoints: [good.grpc], extra: clientTls(undefined) }, 'refused');
      running.push(refused);
      expect((await endpoint(refused)).healthy).toBe(false);
    } finally {
      await stopAll(running);
    }
  });

  it('picks up replaced certificate files without a restart', async () => {
    const live = s.path('live');
    await mkdir(live, { recursive: true });
    const files = { cert: join(live, 'tls.crt'), key: join(live, 'tls.key'), ca: join(live, 'ca.crt') };
    await copyFile(pki.server.cert, files.cert);
    await copyFile(pki.server.key, files.key);
    await copyFile(pki.ca.cert, files.ca);
    const newCa = await makeCa(s.dir, 'rotated-ca');
    const [newServer, newClient] = await Promise.all([
      makeCert(s.dir, newCa, 'rotated-server', 'server'),
      makeCert(s.dir, newCa, 'rotated-client', 'client'),
    ]);
    const running: Running[] = [];
    try {
      const store = await startStore({
        objstoreConfigFile: objstoreFile,
        dataDir: s.path('store'),
        extra: ['--grpc-server-tls-cert', files.cert, '--grpc-server-tls-key', files.key],
      });
      running.push(store);
      // Trusts only the new CA, and has a client certificate of it.
      const extra = [
        '--grpc-client-tls-secure',
        '--grpc-client-tls-ca',
        newCa.cert,
        '--grpc-client-tls-cert',
        newClient.cert,
        '--grpc-client-tls-key',
        newClient.key,
      ];
      const q = await startQuery({ endpoints: [store.grpc], extra }, 'new-ca');
      running.push(q);
      expect((await endpoint(q)).healthy).toBe(false);
      await copyFile(newServer.key, files.key);
      await copyFile(newServer.cert, files.cert);
      const st = await waitFor(
        'the querier trusting the new CA to reach the store',
        async () => {
          const st = await endpoint(q);
          return st.healthy ? st : undefined;
        },
        30_000,
        200,
      );
      expect(st.healthy).toBe(true);
      expect(await labelNames(q)).toContain('__name__');
      expect(store.process.output()).toMatch(/TLS certificates reloaded/);
    } finally {
      await stopAll(running);
    }
  });

  it('unusable TLS flags stop the command with ERR_TLS_CONFIG naming flag and file', async () => {
    const missing = join(s.dir, 'missing.crt');
    const r = await runStrata(
      ['store', '--objstore.config-file', objstoreFile, '--data-dir', s.path('bad-store')].concat([
        '--grpc-server-tls-cert',
        missing,
        '--grpc-server-tls-key',
        pki.server.key,
      ]),
      { timeoutMs: 30_000 },
    );
    expect(r.code).toBe(1);
    expect(r.output).toContain(
      `strata: ERR_TLS_CONFIG: --grpc-server-tls-cert: cannot read ${missing}: no such file or directory`,
    );
    const w = await runStrata(
      [
        'query',
        '--endpoint',
        '127.0.0.1:1',
        '--grpc-client-tls-secure',
        '--grpc-client-tls-key',
        pki.client.key,
      ],
      { timeoutMs: 30_000 },
    );
    expect(w.code).toBe(1);
    expect(w.output).toContain(
      'ERR_TLS_CONFIG: --grpc-client-tls-cert and --grpc-client-tls-key must be given together',
    );
  });
});
