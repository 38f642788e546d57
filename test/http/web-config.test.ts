/**
 * The --http.config parser (exporter-toolkit's web config format): accepted files and what they
 * become, every refused case with ERR_WEB_CONFIG naming the file and the field (never echoing a
 * hash or password), and the bcrypt check with its cache.
 */
import bcrypt from 'bcryptjs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BasicAuthenticator, parseBasicAuth } from '../../src/util/basic-auth.js';
import { parseWebConfig, readWebConfig, WebConfigError } from '../../src/util/web-config.js';
import { basic } from './client.js';

/** "alice-pw-Zq81x", cost 10: also accepted by Prometheus 2.42 (test/http/prometheus.test.ts). */
const HASH = '$2b$10$swI6RLVjC5q3csoQW9mtEu77bEANc3BQuW6OYmiwCO07j7Vfuq6yS';
const FILE = '/etc/strata/web.yml';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-webconf-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function refused(text: string): WebConfigError {
  try {
    parseWebConfig(text, FILE);
  } catch (err) {
    expect(err).toBeInstanceOf(WebConfigError);
    const e = err as WebConfigError;
    expect(e.code).toBe('ERR_WEB_CONFIG');
    expect(e.message).not.toContain('\n');
    expect(e.message.startsWith(`--http.config ${FILE}: `)).toBe(true);
    return e;
  }
  throw new Error('accepted');
}

describe('accepted files', () => {
  it('an empty file: plain HTTP, no users, no headers', () => {
    const c = parseWebConfig('', FILE);
    expect(c).toEqual({ file: FILE, http2: true, headers: {}, users: new Map() });
    expect(parseWebConfig('# only a comment\n', FILE).tls).toBeUndefined();
  });

  it('every section, with paths relative to the file and Go names mapped to OpenSSL ones', () => {
    const c = parseWebConfig(
      `tls_server_config:
  cert_file: certs/server.crt
  key_file: /abs/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ../ca.crt
  min_version: TLS13
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]
  prefer_server_cipher_suites: false
  curve_preferences: [X25519, CurveP256]
  client_allowed_sans: [client.example]
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    X-Content-Type-Options: nosniff
    Strict-Transport-Security: max-age=31536000
    Content-Security-Policy: ""
basic_auth_users:
  alice: ${HASH}
  "1234": '$2y$04$abcdefghijklmnopqrstuu5Mr0.wVvwJpOzA7eHLXuI3M4n3lj1uW'
`,
      FILE,
    );
    expect(c.tls?.files).toEqual({
      cert: {
        flag: `--http.config ${FILE} tls_server_config.cert_file`,
        path: '/etc/strata/certs/server.crt',
      },
      key: { flag: `--http.config ${FILE} tls_server_config.key_file`, path: '/abs/server.key' },
      clientCa: { flag: `--http.config ${FILE} tls_server_config.client_ca_file`, path: '/etc/ca.crt' },
    });
    expect(c.tls).toMatchObject({
      clientAuth: 'RequireAndVerifyClientCert',
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      honorCipherOrder: false,
      ecdhCurve: 'X25519:P-256',
      clientAllowedSans: ['client.example'],
    });
    // TLS 1.3 names have no effect (as in Go); Node's own TLS 1.3 suites stay on.
    expect(c.tls?.ciphers).toBe(
      'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256',
    );
    expect(c.http2).toBe(false);
    // An empty value leaves the header unset.
    expect(c.headers).toEqual({
      'X-Frame-Options': 'deny',
      'X-Content-Type-Options': 'nosniff',
      'Strict-Transport-Security': 'max-age=31536000',
    });
    expect([...c.users.keys()].sort()).toEqual(['1234', 'alice']);
  });

  it('defaults: NoClientCert, TLS 1.2 to 1.3, server cipher order, Node ciphers and curves', () => {
    const c = parseWebConfig('tls_server_config: {cert_file: a.crt, key_file: a.key}\n', FILE);
    expect(c.tls).toMatchObject({
      clientAuth: 'NoClientCert',
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      honorCipherOrder: true,
    });
    expect(c.tls?.ciphers).toBeUndefined();
    expect(c.tls?.ecdhCurve).toBeUndefined();
    // Sections present but empty: no TLS, as in exporter-toolkit.
    expect(
      parseWebConfig('tls_server_config:\nhttp_server_config:\nbasic_auth_users:\n', FILE).tls,
    ).toBeUndefined();
  });
});

describe('refused files', () => {
  const cases: [string, string, RegExp][] = [
    ['unknown top-level key', `basic_auth_user:\n  alice: ${HASH}\n`, /: basic_auth_user: unknown field$/],
    [
      'unknown TLS key',
      'tls_server_config:\n  cert_file: a\n  key_file: b\n  certfile: c\n',
      /tls_server_config\.certfile: unknown field/,
    ],
    [
      'unknown http_server_config key',
      'http_server_config:\n  http3: true\n',
      /http_server_config\.http3: unknown field/,
    ],
    [
      'http2 not a boolean',
      'http_server_config:\n  http2: maybe\n',
      /http_server_config\.http2: expected true or false/,
    ],
    ['a list at the top', '- a\n', /: expected a mapping, got a list$/],
    [
      'cert without key',
      'tls_server_config:\n  cert_file: a.crt\n',
      /tls_server_config\.key_file: is required when TLS is configured/,
    ],
    [
      'key without cert',
      'tls_server_config:\n  key_file: a.key\n',
      /tls_server_config\.cert_file: is required/,
    ],
    [
      'client auth alone needs a cert',
      'tls_server_config:\n  client_auth_type: RequireAndVerifyClientCert\n',
      /tls_server_config\.cert_file: is required/,
    ],
    [
      'bad client_auth_type',
      'tls_server_config: {cert_file: a, key_file: b, client_auth_type: Always}\n',
      /tls_server_config\.client_auth_type: must be one of NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert$/,
    ],
    [
      'client CA without client auth',
      'tls_server_config: {cert_file: a, key_file: b, client_ca_file: c}\n',
      /tls_server_config\.client_ca_file: is set but client_auth_type is NoClientCert/,
    ],
    [
      'allowed SANs without a required certificate',
      'tls_server_config: {cert_file: a, key_file: b, client_auth_type: VerifyClientCertIfGiven, client_allowed_sans: [x]}\n',
      /tls_server_config\.client_allowed_sans: needs client_auth_type/,
    ],
    [
      'bad min_version',
      'tls_server_config: {cert_file: a, key_file: b, min_version: TLS14}\n',
      /tls_server_config\.min_version: must be one of TLS10, TLS11, TLS12, TLS13$/,
    ],
    [
      'min above max',
      'tls_server_config: {cert_file: a, key_file: b, min_version: TLS13, max_version: TLS12}\n',
      /tls_server_config\.min_version: is above max_version/,
    ],
    [
      'unknown cipher',
      'tls_server_config: {cert_file: a, key_file: b, cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]}\n',
      /tls_server_config\.cipher_suites\[0\]: is not a cipher suite Go supports/,
    ],
    [
      'unknown curve',
      'tls_server_config: {cert_file: a, key_file: b, curve_preferences: [CurveP224]}\n',
      /tls_server_config\.curve_preferences\[0\]: must be one of/,
    ],
    [
      'inline PEM',
      'tls_server_config:\n  cert: "-----BEGIN CERTIFICATE-----"\n  key_file: b\n',
      /tls_server_config\.cert: inline PEM is not supported; use cert_file/,
    ],
    ['rate_limit', 'rate_limit: {interval: 1s, burst: 5}\n', /: rate_limit: is not supported/],
    [
      'header not allowed',
      'http_server_config:\n  headers:\n    X-Powered-By: strata\n',
      /http_server_config\.headers\.X-Powered-By: cannot be configured \(allowed: /,
    ],
    [
      'header value not allowed',
      'http_server_config:\n  headers:\n    X-Frame-Options: allow-from\n',
      /http_server_config\.headers\.X-Frame-Options: must be one of deny, sameorigin$/,
    ],
    [
      'header case differs',
      'http_server_config:\n  headers:\n    x-frame-options: deny\n',
      /headers\.x-frame-options: cannot be configured/,
    ],
    [
      'users not a mapping',
      'basic_auth_users: [alice]\n',
      /basic_auth_users: expected a mapping, got a list/,
    ],
    [
      'bcrypt cost below 4',
      'basic_auth_users:\n  alice: $2b$03$WkPnuBEW3N5rpiB3QpjBfuqXtb.Yb0lc0c.2WV2k7dTj9ywhPG6IW\n',
      /basic_auth_users\.alice: is not a bcrypt hash/,
    ],
  ];
  for (const [name, text, re] of cases) {
    it(name, () => {
      expect(refused(text).message).toMatch(re);
    });
  }

  it('a plaintext password instead of a hash: refused without echoing it', () => {
    const e = refused('basic_auth_users:\n  alice: hunter2-secret\n');
    expect(e.message).toMatch(/basic_auth_users\.alice: is not a bcrypt hash/);
    expect(e.field).toBe('basic_auth_users.alice');
    expect(e.message).not.toContain('hunter2');
  });

  it('invalid YAML: line and column, not the line itself (it may hold a hash)', () => {
    const e = refused(`basic_auth_users:\n  alice: ${HASH}\n  bob: [${HASH}\n`);
    expect(e.message).toMatch(/: invalid YAML at line \d+, column \d+ \([A-Z_]+\)$/);
    expect(e.message).not.toContain('WkPnuBEW');
  });

  it('a duplicate key', () => {
    const e = refused(`basic_auth_users:\n  alice: ${HASH}\n  alice: ${HASH}\n`);
    expect(e.message).toMatch(/invalid YAML at line 3, column 3 \(DUPLICATE_KEY\)/);
  });

  it('a missing file names it', async () => {
    const missing = join(dir, 'nope.yml');
    await expect(readWebConfig(missing)).rejects.toMatchObject({
      code: 'ERR_WEB_CONFIG',
      message: `--http.config ${missing}: cannot read: no such file or directory`,
    });
  });
});

describe('basic auth check', () => {
  it('parses the header as Go does', () => {
    expect(parseBasicAuth(basic('a:b', 'c:d'))).toEqual({ user: 'a', password: 'b:c:d' });
    expect(parseBasicAuth('basic ' + Buffer.from('u:').toString('base64'))).toEqual({
      user: 'u',
      password: '',
    });
    expect(parseBasicAuth('Bearer x')).toBeUndefined();
    expect(parseBasicAuth('Basic !!!')).toBeUndefined();
    expect(parseBasicAuth('Basic ' + Buffer.from('nocolon').toString('base64'))).toBeUndefined();
    expect(parseBasicAuth(undefined)).toBeUndefined();
  });

  it('a bcrypt comparison per new credential, none for one already checked', async () => {
    const own = bcrypt.hashSync('pw-bob', 4);
    const auth = new BasicAuthenticator(
      new Map([
        ['alice', HASH],
        ['bob', own],
      ]),
    );
    expect(auth.enabled).toBe(true);
    expect(await auth.check(basic('alice', 'alice-pw-Zq81x'))).toBe(true);
    expect(auth.comparisons).toBe(1);
    for (let i = 0; i < 20; i++) expect(await auth.check(basic('alice', 'alice-pw-Zq81x'))).toBe(true);
    expect(auth.comparisons).toBe(1);
    expect(await auth.check(basic('bob', 'pw-bob'))).toBe(true);
    expect(await auth.check(basic('bob', 'alice-pw-Zq81x'))).toBe(false);
    expect(await auth.check(basic('alice', 'pw-bob'))).toBe(false);
    // An unknown user costs a comparison too (no timing tell), and never passes.
    expect(await auth.check(basic('mallory', 'alice-pw-Zq81x'))).toBe(false);
    expect(auth.comparisons).toBe(5);
    expect(await auth.check(basic('mallory', 'alice-pw-Zq81x'))).toBe(false);
    expect(await auth.check(undefined)).toBe(false);
    expect(auth.comparisons).toBe(5);
    expect(new BasicAuthenticator(new Map()).enabled).toBe(false);
  });
});
