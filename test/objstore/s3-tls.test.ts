/**
 * The objstore config's http_config.tls_config and sse_config against a real S3 server: Swift
 * (s3api, at-rest encryption on) behind a TLS-terminating proxy (test/support/tls-proxy.ts) that
 * records handshakes and request headers. Buckets come from YAML through the config parser, as
 * the CLI makes them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Bucket } from '../../src/objstore/bucket.js';
import { createBucket, parseObjstoreConfig, s3BucketOptions } from '../../src/objstore/config.js';
import { PrefixedBucket } from '../../src/objstore/prefixed.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../src/objstore/retry.js';
import { MIB, S3Bucket } from '../../src/objstore/s3.js';
import { errorCode } from '../../src/util/errors.js';
import { startSwift, type SwiftService } from '../services/swift.js';
import { makeCert, makeTestPki, type TestPki } from '../support/certs.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { registerSecret } from '../support/secrets.js';
import { startTlsProxy, type RecordedRequest, type TlsProxy } from '../support/tls-proxy.js';
import { registerConformanceTests } from './conformance.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

let swift: SwiftService | undefined;
let pki: TestPki | undefined;
let dir = '';
let bucketName = '';
/** Server certificate for 127.0.0.1; asks for (does not require) a client certificate. */
let proxy: TlsProxy | undefined;
/** Requires a client certificate signed by the test CA. */
let mtls: TlsProxy | undefined;
/** Certificate for DNS:s3.strata.test only. */
let named: TlsProxy | undefined;
let shared: S3Bucket | undefined;
let seq = 0;

function nextPrefix(): string {
  seq += 1;
  return `t${seq}-${process.pid}`;
}

function ready<T>(v: T | undefined): T {
  if (v === undefined) throw new Error('test setup did not finish');
  return v;
}

/** An S3 objstore config for a proxy port; `extra` is YAML indented under `config:`. */
function yaml(port: number, extra = ''): string {
  const s = ready(swift);
  return [
    'type: S3',
    'config:',
    `  bucket: ${bucketName}`,
    `  endpoint: 127.0.0.1:${port}`,
    `  region: ${s.region}`,
    `  access_key: "${s.accessKey}"`,
    `  secret_key: "${s.secretKey}"`,
    '  part_size: 5242880',
    extra,
    `prefix: ${nextPrefix()}`,
  ].join('\n');
}

function tlsYaml(fields: Record<string, string | boolean>): string {
  const lines = Object.entries(fields).map(([k, v]) => `      ${k}: ${typeof v === 'string' ? `"${v}"` : v}`);
  return ['  http_config:', '    tls_config:', ...lines].join('\n');
}

async function open(
  port: number,
  extra = '',
  onRequest?: (c: string) => void,
  retry?: RetryPolicy,
): Promise<Bucket> {
  return createBucket(parseObjstoreConfig(yaml(port, extra)), {
    ...(onRequest ? { onRequest } : {}),
    ...(retry ? { retry } : {}),
  });
}

async function failure(p: Promise<unknown>): Promise<{ code: string | undefined; message: string }> {
  try {
    await p;
  } catch (err) {
    return { code: errorCode(err), message: err instanceof Error ? err.message : String(err) };
  }
  throw new Error('expected a failure');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-s3-tls-'));
  const [started, certs] = await Promise.all([startSwift(3, { encryption: true }), makeTestPki(dir)]);
  swift = started;
  pki = certs;
  const namedCert = await makeCert(dir, certs.ca, 'named', 'server', 'DNS:s3.strata.test');
  const target = Number(new URL(started.endpoint).port);
  [proxy, mtls, named] = await Promise.all([
    startTlsProxy({ ...certs.server, clientCa: certs.ca.cert, targetPort: target }),
    startTlsProxy({ ...certs.server, clientCa: certs.ca.cert, requireClientCert: true, targetPort: target }),
    startTlsProxy({ ...namedCert, targetPort: target }),
  ]);
  bucketName = await started.bucketName();
  const config = parseObjstoreConfig(yaml(proxy.port, tlsYaml({ ca_file: certs.ca.cert })));
  if (config.type !== 'S3') throw new Error('not S3');
  // A small page size so the conformance suite's listing spans pages.
  shared = new S3Bucket({ ...(await s3BucketOptions(config)), pageSize: 50 });
}, 60_000);

afterAll(async () => {
  await shared?.close();
  await Promise.all([proxy?.close(), mtls?.close(), named?.close()]);
  await swift?.stop();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

registerConformanceTests('s3 over TLS (tls_config.ca_file; Swift behind a TLS proxy)', {
  newBucket: async () => new PrefixedBucket(ready(shared), nextPrefix(), { closeInner: false }),
  paginationKeys: 110,
  largeObjectBytes: 6 * MIB,
});

describe('http_config.tls_config against Swift over TLS', () => {
  test('without the CA the first request fails with ERR_OBJSTORE_TLS naming the endpoint, not retried', async () => {
    const port = ready(proxy).port;
    let requests = 0;
    const b = await open(port, '', () => (requests += 1));
    try {
      const f = await failure(b.exists('k'));
      expect(f.code).toBe('ERR_OBJSTORE_TLS');
      expect(f.message).toContain(`https://127.0.0.1:${port}`);
      expect(f.message).toMatch(/certificate/);
      expect(requests).toBe(1);
    } finally {
      await b.close();
    }
  });

  test('insecure_skip_verify (tls_config or http_config) connects without the CA', async () => {
    const port = ready(proxy).port;
    for (const extra of [
      tlsYaml({ insecure_skip_verify: true }),
      '  http_config: {insecure_skip_verify: true}',
    ]) {
      const b = await open(port, extra);
      try {
        await b.upload('skip', Buffer.from('v'));
        expect((await b.get('skip')).toString()).toBe('v');
      } finally {
        await b.close();
      }
    }
  });

  test('server_name: a certificate for a name, reached by IP, verifies against that name only', async () => {
    const n = ready(named);
    const ca = ready(pki).ca.cert;
    const before = n.handshakes.length;
    const ok = await open(n.port, tlsYaml({ ca_file: ca, server_name: 's3.strata.test' }));
    try {
      await ok.upload('named', Buffer.from('v'));
      expect((await ok.get('named')).toString()).toBe('v');
    } finally {
      await ok.close();
    }
    expect(n.handshakes.slice(before).every((h) => h.servername === 's3.strata.test')).toBe(true);
    const wrong: Array<Record<string, string>> = [
      { ca_file: ca },
      { ca_file: ca, server_name: 'other.strata.test' },
    ];
    for (const fields of wrong) {
      const b = await open(n.port, tlsYaml(fields));
      try {
        const f = await failure(b.exists('named'));
        expect(f.code).toBe('ERR_OBJSTORE_TLS');
        expect(f.message).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
      } finally {
        await b.close();
      }
    }
  });

  test('cert_file/key_file: the client certificate is sent; a server that requires one refuses without it', async () => {
    const p = ready(pki);
    const m = ready(mtls);
    const withCert = tlsYaml({ ca_file: p.ca.cert, cert_file: p.client.cert, key_file: p.client.key });
    const before = m.handshakes.length;
    const ok = await open(m.port, withCert);
    try {
      await ok.upload('mtls', Buffer.from('v'));
      expect((await ok.get('mtls')).toString()).toBe('v');
    } finally {
      await ok.close();
    }
    const seen = m.handshakes.slice(before);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((h) => h.clientCn === 'client')).toBe(true);

    // No certificate: OpenSSL refuses the handshake with an alert (TLS 1.3: certificate_required).
    const none = await open(m.port, tlsYaml({ ca_file: p.ca.cert }));
    try {
      const f = await failure(none.exists('mtls'));
      expect(f.code, f.message).toBe('ERR_OBJSTORE_TLS');
      expect(f.message).toContain('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
    } finally {
      await none.close();
    }
    // A certificate of another CA: Node's TLS server (the proxy) verifies it after the handshake
    // and drops the connection without an alert, so the client sees a reset (a real S3 server
    // alerts during the handshake). It fails either way and no request gets through.
    const requestsBefore = m.requests.length;
    const other = tlsYaml({ ca_file: p.ca.cert, cert_file: p.otherClient.cert, key_file: p.otherClient.key });
    const b = await open(m.port, other, undefined, { ...DEFAULT_RETRY_POLICY, maxAttempts: 1 });
    try {
      expect((await failure(b.exists('mtls'))).code).toBeDefined();
    } finally {
      await b.close();
    }
    expect(m.requests.length).toBe(requestsBefore);
  });
});

/** Requests recorded since `from` whose target starts with the bucket path and contains `key`. */
function recorded(from: number, key: string): RecordedRequest[] {
  return ready(proxy)
    .requests.slice(from)
    .filter((r) => r.target.startsWith(`/${bucketName}/`) && r.target.includes(key));
}

/** Object files on Swift's disk that contain `needle` in the clear. */
async function filesContaining(needle: Buffer): Promise<number> {
  const root = join(ready(swift).dataDir, 'd1', 'objects');
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  let hits = 0;
  for (const e of entries) {
    if (!e.isFile() || !e.name.endsWith('.data')) continue;
    if ((await readFile(join(e.parentPath, e.name))).includes(needle)) hits += 1;
  }
  return hits;
}

describe('sse_config against Swift over TLS', () => {
  const tls = (): string => tlsYaml({ ca_file: ready(pki).ca.cert });

  test('SSE-S3: writes carry x-amz-server-side-encryption AES256; Swift accepts it and stores no plaintext', async () => {
    const from = ready(proxy).requests.length;
    const b = await open(ready(proxy).port, `${tls()}\n  sse_config: {type: SSE-S3}`);
    const marker = randomBytes(16).toString('hex');
    const small = Buffer.from(`${marker} small object`);
    const large = Buffer.concat([Buffer.from(marker), randomBytes(6 * MIB)]);
    try {
      await b.upload('sse-s3/small', small);
      await b.upload('sse-s3/large', large);
      expect(await b.get('sse-s3/small')).toEqual(small);
      expect((await b.getRange('sse-s3/large', 0, 32)).toString()).toBe(marker);
      expect((await b.attributes('sse-s3/large')).size).toBe(large.length);
    } finally {
      await b.close();
    }
    const puts = recorded(from, 'sse-s3/small').filter((r) => r.method === 'PUT');
    const creates = recorded(from, 'sse-s3/large').filter(
      (r) => r.method === 'POST' && r.target.includes('uploads'),
    );
    expect(puts).toHaveLength(1);
    expect(creates).toHaveLength(1);
    for (const r of [...puts, ...creates]) expect(r.headers['x-amz-server-side-encryption']).toBe('AES256');
    // Reads never carry it (the server decrypts by itself).
    for (const r of recorded(from, 'sse-s3/').filter((x) => x.method === 'GET' || x.method === 'HEAD')) {
      expect(r.headers['x-amz-server-side-encryption']).toBeUndefined();
    }
    expect(await filesContaining(Buffer.from(marker))).toBe(0);
  });

  test('SSE-KMS: aws:kms, key id and context are sent; Swift refuses KMS with a permanent 501', async () => {
    const from = ready(proxy).requests.length;
    const sse =
      '  sse_config: {type: SSE-KMS, kms_key_id: strata-test-key, kms_encryption_context: {team: obs}}';
    const b = await open(ready(proxy).port, `${tls()}\n${sse}`);
    try {
      const f = await failure(b.upload('sse-kms/x', Buffer.from('v')));
      expect(f.code).toBe('ERR_OBJSTORE_PERMANENT');
      expect(f.message).toContain('HTTP 501');
    } finally {
      await b.close();
    }
    const [put] = recorded(from, 'sse-kms/x');
    expect(put?.headers).toMatchObject({
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': 'strata-test-key',
      'x-amz-server-side-encryption-context': Buffer.from('{"team":"obs"}').toString('base64'),
    });
  });

  test('SSE-C: the customer key (and its MD5) goes with every PUT, GET, ranged GET, HEAD and multipart request', async () => {
    const key = randomBytes(32);
    registerSecret(key.toString('base64'), 'the SSE-C test key');
    const keyFile = join(dir, 'sse-c.key');
    await writeFile(keyFile, key, { mode: 0o600 });
    const from = ready(proxy).requests.length;
    const b = await open(
      ready(proxy).port,
      `${tls()}\n  sse_config: {type: SSE-C, encryption_key: "${keyFile}"}`,
    );
    const large = randomBytes(6 * MIB);
    let notFound = '';
    try {
      await b.upload('sse-c/small', Buffer.from('small'));
      await b.upload('sse-c/large', large);
      expect((await b.get('sse-c/small')).toString()).toBe('small');
      expect(await b.getRange('sse-c/large', MIB, 10)).toEqual(large.subarray(MIB, MIB + 10));
      expect((await b.attributes('sse-c/large')).size).toBe(large.length);
      notFound = (await failure(b.get('sse-c/missing'))).message;
      expect(inspect(b, { depth: 10, showHidden: true })).not.toContain(key.toString('base64'));
    } finally {
      await b.close();
    }
    expect(notFound).not.toContain(key.toString('base64'));
    const reqs = recorded(from, 'sse-c/');
    const kinds = new Set(reqs.map((r) => `${r.method} ${r.target.includes('uploadId') ? 'mp' : ''}`));
    // PUT, GET, HEAD, and the multipart trio: create (POST ?uploads), parts (PUT ?uploadId), complete.
    expect([...kinds].sort()).toEqual(['GET ', 'HEAD ', 'POST ', 'POST mp', 'PUT ', 'PUT mp']);
    const md5 = createHash('md5').update(key).digest('base64');
    for (const r of reqs) {
      expect(r.headers, `${r.method} ${r.target}`).toMatchObject({
        'x-amz-server-side-encryption-customer-algorithm': 'AES256',
        'x-amz-server-side-encryption-customer-key': key.toString('base64'),
        'x-amz-server-side-encryption-customer-key-md5': md5,
      });
    }
  });
});
