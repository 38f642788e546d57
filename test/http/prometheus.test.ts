/**
 * The oracle for --http.config is Prometheus 2.42 itself (Debian's package): the SAME web config
 * file given to a real Prometheus (--web.config.file) and to a Strata endpoint, the same requests
 * to both, the same answers; a hash made by bcryptjs accepted by Prometheus and the Prometheus
 * docs' hash accepted by Strata; and `promtool check web-config` agreeing with our parser on
 * which files are acceptable.
 */
import bcrypt from 'bcryptjs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpEndpoint, type HttpEndpoint } from '../../src/util/http.js';
import { loadServerTls } from '../../src/util/tls.js';
import { readWebConfig } from '../../src/util/web-config.js';
import { makeTestPki, type TestPki } from '../support/certs.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { registerSecret } from '../support/secrets.js';
import { runPromtool, startPrometheus, type PrometheusServer } from '../services/prometheus.js';
import { send, status, type ClientOptions } from './client.js';

/** "alice-pw-Zq81x" (cost 10), a hash made by libxcrypt's crypt(3), not by bcryptjs. */
const DOCS_HASH = '$2b$10$swI6RLVjC5q3csoQW9mtEu77bEANc3BQuW6OYmiwCO07j7Vfuq6yS';

let dir: string;
let pki: TestPki;
let prom: PrometheusServer | undefined;
let strata: HttpEndpoint | undefined;
let tlsClient: ClientOptions;
/** Made by bcryptjs here, for "pw-bob". */
let bobHash: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-webprom-'));
  pki = await makeTestPki(dir);
  // Paths relative to the file: both must resolve them against its directory.
  await Promise.all([
    copyFile(pki.server.cert, join(dir, 'server.crt')),
    copyFile(pki.server.key, join(dir, 'server.key')),
  ]);
  bobHash = registerSecret(bcrypt.hashSync('pw-bob', 10), 'bcrypt hash');
  registerSecret(DOCS_HASH, 'bcrypt hash');
  registerSecret('alice-pw-Zq81x', 'password');
  registerSecret('pw-bob', 'password');
  const file = join(dir, 'web.yml');
  await writeFile(
    file,
    `tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  min_version: TLS12
http_server_config:
  headers:
    X-Frame-Options: deny
    X-Content-Type-Options: nosniff
basic_auth_users:
  alice: ${DOCS_HASH}
  bob: ${bobHash}
`,
  );
  const [ca, cert, key] = await Promise.all(
    [pki.ca.cert, pki.client.cert, pki.client.key].map((p) => readFile(p)),
  );
  tlsClient = { ca, cert, key };
  const alice = { ...tlsClient, user: 'alice', password: 'alice-pw-Zq81x' };
  [prom, strata] = await Promise.all([
    startPrometheus({
      dataDir: join(dir, 'prom-data'),
      webConfigFile: file,
      scheme: 'https',
      ready: async (url) => (await status(`${url}/-/ready`, alice)) === 200,
    }),
    readWebConfig(file).then((config) =>
      startHttpEndpoint({
        address: '127.0.0.1:0',
        registry: new Registry(),
        status: () => ({}),
        web: { config },
      }),
    ),
  ]);
}, 60_000);

afterAll(async () => {
  await strata?.close();
  await prom?.stop();
  await rm(dir, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

describe('one web config file, Prometheus and Strata', () => {
  const both = (): [string, string][] => [
    ['prometheus', prom!.url],
    ['strata', `https://${strata!.address}`],
  ];

  it('answer the same requests the same way', async () => {
    const cases: [string, ClientOptions, number | RegExp][] = [
      ['no credentials', tlsClient, 401],
      ['alice, a libxcrypt hash', { ...tlsClient, user: 'alice', password: 'alice-pw-Zq81x' }, 200],
      ['bob, a bcryptjs hash', { ...tlsClient, user: 'bob', password: 'pw-bob' }, 200],
      ['wrong password', { ...tlsClient, user: 'alice', password: 'alice-pw-Zq81X' }, 401],
      ['unknown user', { ...tlsClient, user: 'carol', password: 'alice-pw-Zq81x' }, 401],
      ['no client certificate', { ca: tlsClient.ca, user: 'alice', password: 'alice-pw-Zq81x' }, /^error: /],
    ];
    for (const [name, base] of both()) {
      for (const [what, o, want] of cases) {
        const got = await status(`${base}/metrics`, o);
        if (typeof want === 'number') expect(got, `${name}: ${what}`).toBe(want);
        else expect(got, `${name}: ${what}`).toMatch(want);
      }
      const r = await send(`${base}/metrics`, tlsClient);
      expect(r.headers['www-authenticate'], name).toMatch(/^Basic/);
      expect(r.headers['x-frame-options'], name).toBe('deny');
      expect(r.headers['x-content-type-options'], name).toBe('nosniff');
      // Plain HTTP to the TLS port is not served: Go answers 400 itself, Node's TLS server drops it.
      const plain = await status(base.replace('https://', 'http://') + '/metrics', {
        user: 'alice',
        password: 'alice-pw-Zq81x',
      });
      if (name === 'prometheus') expect(plain).toBe(400);
      else expect(plain).toMatch(/^error: /);
    }
  });

  it('probes need credentials too by default, as in Prometheus', async () => {
    for (const [name, base] of both()) {
      expect(await status(`${base}/-/healthy`, tlsClient), name).toBe(401);
      expect(await status(`${base}/-/healthy`, { ...tlsClient, user: 'bob', password: 'pw-bob' }), name).toBe(
        200,
      );
    }
  });
});

describe('promtool check web-config and our parser agree', () => {
  const files = (): [string, string][] => [
    ['empty', ''],
    ['users', `basic_auth_users:\n  alice: ${DOCS_HASH}\n  bob: ${bobHash}\n`],
    [
      'tls with a client CA, versions, ciphers and curves',
      `tls_server_config:\n  cert_file: ${pki.server.cert}\n  key_file: ${pki.server.key}\n  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ${pki.ca.cert}\n  min_version: TLS13\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n  curve_preferences: [X25519]\n  prefer_server_cipher_suites: false\n`,
    ],
    [
      'headers',
      'http_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: sameorigin\n    Strict-Transport-Security: max-age=1\n',
    ],
    ['unknown key', `basic_auth_user:\n  alice: ${DOCS_HASH}\n`],
    [
      'unknown TLS key',
      `tls_server_config:\n  cert_file: ${pki.server.cert}\n  key_file: ${pki.server.key}\n  cert_path: x\n`,
    ],
    ['plaintext password', 'basic_auth_users:\n  alice: alice-pw-Zq81x\n'],
    ['header not allowed', 'http_server_config:\n  headers:\n    Server: strata\n'],
    ['header value not allowed', 'http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n'],
    [
      'bad client_auth_type',
      `tls_server_config:\n  cert_file: ${pki.server.cert}\n  key_file: ${pki.server.key}\n  client_auth_type: Sometimes\n`,
    ],
    [
      'client CA without client auth',
      `tls_server_config:\n  cert_file: ${pki.server.cert}\n  key_file: ${pki.server.key}\n  client_ca_file: ${pki.ca.cert}\n`,
    ],
    ['key without cert', `tls_server_config:\n  key_file: ${pki.server.key}\n`],
    [
      'bad TLS version',
      `tls_server_config:\n  cert_file: ${pki.server.cert}\n  key_file: ${pki.server.key}\n  max_version: TLS14\n`,
    ],
    [
      'unknown cipher',
      `tls_server_config:\n  cert_file: ${pki.server.cert}\n  key_file: ${pki.server.key}\n  cipher_suites: [TLS_FAKE]\n`,
    ],
    [
      'certificate file missing',
      `tls_server_config:\n  cert_file: nope.crt\n  key_file: ${pki.server.key}\n`,
    ],
    [
      'key of another certificate',
      `tls_server_config:\n  cert_file: ${pki.server.cert}\n  key_file: ${pki.client.key}\n`,
    ],
    ['inline certificate (newer exporter-toolkit)', 'tls_server_config:\n  cert: x\n  key: y\n'],
  ];

  it('on every file', async () => {
    for (const [i, [name, text]] of files().entries()) {
      const file = join(dir, `check-${i}.yml`);
      await writeFile(file, text);
      const p = await runPromtool(['check', 'web-config', file], { allowFailure: true });
      const ours = await readWebConfig(file)
        .then(async (c) => (c.tls ? loadServerTls(c.tls.files) : undefined))
        .then(
          () => 'accepted',
          (err: unknown) => `refused: ${err instanceof Error ? err.message : String(err)}`,
        );
      expect(
        ours === 'accepted',
        `${name}: promtool ${p.code === 0 ? 'accepted' : `refused: ${p.stderr}${p.stdout}`}; ours ${ours}`,
      ).toBe(p.code === 0);
    }
  });
});
