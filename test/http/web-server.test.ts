/**
 * startHttpEndpoint with --http.config, in process over loopback: basic auth on every route (the
 * ring page's Forget POST too), the probes exemption, configured headers, HTTPS only when the file
 * has tls_server_config, client certificates per client_auth_type (openssl-made PKI), and changes
 * to the file and the certificate files picked up without a restart.
 */
import bcrypt from 'bcryptjs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ConnectionOptions } from 'node:tls';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsrfToken } from '../../src/util/csrf.js';
import { ringPageHandler } from '../../src/ring/page.js';
import { startHttpEndpoint, type HttpEndpoint } from '../../src/util/http.js';
import { readWebConfig } from '../../src/util/web-config.js';
import { makeCa, makeCert, makeTestPki, type TestPki } from '../support/certs.js';
import { waitFor } from '../support/processes.js';
import { registerSecret } from '../support/secrets.js';
import { send, status } from './client.js';

const HASH = '$2b$10$swI6RLVjC5q3csoQW9mtEu77bEANc3BQuW6OYmiwCO07j7Vfuq6yS'; // alice-pw-Zq81x

let dir: string;
let pki: TestPki;
let caPem: Buffer;
const open: HttpEndpoint[] = [];

beforeAll(async () => {
  registerSecret(HASH, 'bcrypt hash');
  for (const pw of ['alice-pw-Zq81x', 'pw-carol', 'pw-dave']) registerSecret(pw, 'password');
  dir = await mkdtemp(join(tmpdir(), 'strata-websrv-'));
  pki = await makeTestPki(dir);
  caPem = await readFile(pki.ca.cert);
});

afterAll(async () => {
  for (const e of open) await e.close();
  await rm(dir, { recursive: true, force: true });
});

/** The negotiated protocol and cipher of one TLS handshake. */
function handshake(
  address: string,
  o: ConnectionOptions,
): Promise<{ protocol: string | null; cipher: string }> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const s = connect({ host, port: Number(port), ca: caPem, servername: 'localhost', ...o }, () => {
      resolve({ protocol: s.getProtocol(), cipher: s.getCipher().name });
      s.destroy();
    });
    s.on('error', reject);
  });
}

let n = 0;
async function serve(
  yaml: string,
  o: { probes?: boolean; setup?: (e: HttpEndpoint) => void } = {},
): Promise<{ e: HttpEndpoint; file: string }> {
  const file = join(dir, `web-${n++}.yml`);
  await writeFile(file, yaml);
  const registry = new Registry();
  const e = await startHttpEndpoint({
    address: '127.0.0.1:0',
    registry,
    status: () => ({ ok: true }),
    web: {
      config: await readWebConfig(file),
      unauthenticatedProbes: o.probes ?? false,
      reloadIntervalMs: 50,
    },
  });
  open.push(e);
  o.setup?.(e);
  return { e, file };
}

const USERS = `basic_auth_users:\n  alice: ${HASH}\n`;

describe('basic auth', () => {
  it('401 with WWW-Authenticate without the right user and password, 200 with them', async () => {
    const { e } = await serve(USERS);
    const base = `http://${e.address}`;
    for (const path of ['/api/v1/status', '/metrics', '/-/healthy', '/-/ready', '/nope']) {
      const r = await send(base + path);
      expect(r.status, path).toBe(401);
      expect(r.headers['www-authenticate']).toBe('Basic');
    }
    expect(await status(`${base}/api/v1/status`, { user: 'alice', password: 'alice-pw-Zq81x' })).toBe(200);
    expect(await status(`${base}/metrics`, { user: 'alice', password: 'alice-pw-Zq81x' })).toBe(200);
    expect(await status(`${base}/metrics`, { user: 'alice', password: 'wrong' })).toBe(401);
    expect(await status(`${base}/metrics`, { user: 'bob', password: 'alice-pw-Zq81x' })).toBe(401);
    expect(await status(`${base}/nope`, { user: 'alice', password: 'alice-pw-Zq81x' })).toBe(404);
  });

  it('the ring page Forget POST needs a user: refused before the form is looked at', async () => {
    const forgotten: string[] = [];
    const csrf = new CsrfToken();
    const { e } = await serve(USERS, {
      setup: (ep) =>
        ep.mount(
          '/compactor/ring',
          ringPageHandler({
            title: 'Compactor ring',
            status: () => ({
              key: 'collectors/compactor',
              now: new Date().toISOString(),
              heartbeatTimeoutSeconds: 60,
              instances: [],
            }),
            forget: (id) => {
              forgotten.push(id);
              return Promise.resolve(true);
            },
            csrf,
          }),
        ),
    });
    const url = `http://${e.address}/compactor/ring`;
    const body = `csrf_token=${encodeURIComponent(csrf.value)}&forget=c-1`;
    const anon = await send(url, { method: 'POST', body });
    expect(anon.status).toBe(401);
    expect(await status(url, { method: 'POST', body, user: 'alice', password: 'nope' })).toBe(401);
    expect(forgotten).toEqual([]);
    expect(await status(url, { method: 'POST', body, user: 'alice', password: 'alice-pw-Zq81x' })).toBe(303);
    expect(forgotten).toEqual(['c-1']);
  });

  it('--http.unauthenticated-probes: /-/healthy and /-/ready open, everything else still closed', async () => {
    const { e } = await serve(USERS, { probes: true });
    const base = `http://${e.address}`;
    expect(await status(`${base}/-/healthy`)).toBe(200);
    expect(await status(`${base}/-/ready`)).toBe(200);
    expect(await status(`${base}/-/ready?x=1`)).toBe(200);
    expect(await status(`${base}/metrics`)).toBe(401);
    expect(await status(`${base}/api/v1/status`)).toBe(401);
    expect(await status(`${base}/-/healthy/x`)).toBe(401);
  });

  it('no basic_auth_users: open, plain HTTP, and the configured headers on every response', async () => {
    const { e } = await serve(
      'http_server_config:\n  headers:\n    X-Frame-Options: sameorigin\n    Strict-Transport-Security: max-age=60\n',
    );
    for (const path of ['/metrics', '/nope']) {
      const r = await send(`http://${e.address}${path}`);
      expect(r.status).toBe(path === '/nope' ? 404 : 200);
      expect(r.headers['x-frame-options']).toBe('sameorigin');
      expect(r.headers['strict-transport-security']).toBe('max-age=60');
    }
    const { e: locked } = await serve(
      `${USERS}http_server_config:\n  headers:\n    Content-Security-Policy: default-src 'none'\n`,
    );
    const r = await send(`http://${locked.address}/metrics`);
    expect(r.status).toBe(401);
    expect(r.headers['content-security-policy']).toBe("default-src 'none'");
  });

  it('users and headers changed in the file apply without a restart; a broken file keeps the last good one', async () => {
    const { e, file } = await serve(USERS);
    const url = `http://${e.address}/metrics`;
    expect(await status(url, { user: 'carol', password: 'pw-carol' })).toBe(401);
    await writeFile(
      file,
      `basic_auth_users:\n  carol: ${bcrypt.hashSync('pw-carol', 4)}\nhttp_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n`,
    );
    await waitFor(
      'carol admitted',
      async () => ((await status(url, { user: 'carol', password: 'pw-carol' })) === 200 ? true : undefined),
      5000,
      50,
    );
    expect(await status(url, { user: 'alice', password: 'alice-pw-Zq81x' })).toBe(401);
    expect((await send(url, { user: 'carol', password: 'pw-carol' })).headers['x-content-type-options']).toBe(
      'nosniff',
    );
    await writeFile(file, 'basic_auth_users:\n  carol: not-a-hash\n');
    await new Promise((r) => setTimeout(r, 300));
    expect(await status(url, { user: 'carol', password: 'pw-carol' })).toBe(200);
    expect(await status(url)).toBe(401);
  });
});

describe('TLS', () => {
  const tlsYaml = (extra = ''): string =>
    `tls_server_config:\n  cert_file: ${pki.server.cert}\n  key_file: ${pki.server.key}\n${extra}`;

  it('HTTPS only with tls_server_config: plain HTTP to the port fails, basic auth on top', async () => {
    const { e } = await serve(tlsYaml() + USERS);
    expect(
      await status(`https://${e.address}/metrics`, { ca: caPem, user: 'alice', password: 'alice-pw-Zq81x' }),
    ).toBe(200);
    expect(await status(`https://${e.address}/metrics`, { ca: caPem })).toBe(401);
    expect(
      await status(`http://${e.address}/metrics`, { user: 'alice', password: 'alice-pw-Zq81x' }),
    ).toMatch(/^error: /);
    // An untrusted server certificate: the client refuses.
    expect(await status(`https://${e.address}/metrics`)).toMatch(/^error: /);
    // And without tls_server_config the same request over TLS fails.
    const { e: plain } = await serve(USERS);
    expect(await status(`https://${plain.address}/metrics`, { ca: caPem })).toMatch(/^error: /);
  });

  it('paths relative to the file, TLS 1.2 cipher list keeping TLS 1.3 on', async () => {
    const sub = await mkdtemp(join(dir, 'rel-'));
    await copyFile(pki.server.cert, join(sub, 's.crt'));
    await copyFile(pki.server.key, join(sub, 's.key'));
    const file = join(sub, 'web.yml');
    await writeFile(
      file,
      'tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n',
    );
    const e = await startHttpEndpoint({
      address: '127.0.0.1:0',
      registry: new Registry(),
      status: () => ({}),
      web: { config: await readWebConfig(file) },
    });
    open.push(e);
    expect(await status(`https://${e.address}/-/healthy`, { ca: caPem })).toBe(200);
    expect(await handshake(e.address, {})).toEqual({ protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' });
    expect(await handshake(e.address, { maxVersion: 'TLSv1.2' })).toEqual({
      protocol: 'TLSv1.2',
      cipher: 'ECDHE-ECDSA-AES128-GCM-SHA256',
    });
    // A TLS 1.2 client offering only another suite is refused.
    await expect(
      handshake(e.address, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' }),
    ).rejects.toThrow();
  });

  it('RequireAndVerifyClientCert: only clients with a certificate of client_ca_file', async () => {
    const { e } = await serve(
      tlsYaml(`  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${pki.ca.cert}\n`),
    );
    const url = `https://${e.address}/-/healthy`;
    const [cert, key, otherCert, otherKey] = await Promise.all(
      [pki.client.cert, pki.client.key, pki.otherClient.cert, pki.otherClient.key].map((p) => readFile(p)),
    );
    expect(await status(url, { ca: caPem, cert, key })).toBe(200);
    expect(await status(url, { ca: caPem })).toMatch(/^error: /);
    expect(await status(url, { ca: caPem, cert: otherCert, key: otherKey })).toMatch(/^error: /);
  });

  it('VerifyClientCertIfGiven and RequireAnyClientCert', async () => {
    const [cert, key, otherCert, otherKey] = await Promise.all(
      [pki.client.cert, pki.client.key, pki.otherClient.cert, pki.otherClient.key].map((p) => readFile(p)),
    );
    const { e: ifGiven } = await serve(
      tlsYaml(`  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ${pki.ca.cert}\n`),
    );
    const u1 = `https://${ifGiven.address}/-/healthy`;
    expect(await status(u1, { ca: caPem })).toBe(200);
    expect(await status(u1, { ca: caPem, cert, key })).toBe(200);
    expect(await status(u1, { ca: caPem, cert: otherCert, key: otherKey })).toMatch(/^error: /);
    const { e: any } = await serve(tlsYaml('  client_auth_type: RequireAnyClientCert\n'));
    const u2 = `https://${any.address}/-/healthy`;
    expect(await status(u2, { ca: caPem })).toMatch(/^error: /);
    expect(await status(u2, { ca: caPem, cert: otherCert, key: otherKey })).toBe(200);
  });

  it('client_allowed_sans: only certificates carrying one of the SANs', async () => {
    const [client, clientKey, withSan, withSanKey] = await Promise.all(
      [pki.client.cert, pki.client.key, pki.server.cert, pki.server.key].map((p) => readFile(p)),
    );
    // RequireAnyClientCert does not verify the chain, so the server certificate (DNS:localhost) can serve as one.
    const { e } = await serve(
      tlsYaml(
        '  client_auth_type: RequireAnyClientCert\n  client_allowed_sans: [other.example, localhost]\n',
      ),
    );
    const url = `https://${e.address}/-/healthy`;
    expect(await status(url, { ca: caPem, cert: withSan, key: withSanKey })).toBe(200);
    expect(await status(url, { ca: caPem, cert: client, key: clientKey })).toMatch(/^error: /);
  });

  it('a new client_auth_type waits for a restart: clients keep getting in, other changes apply', async () => {
    const { e, file } = await serve(tlsYaml() + USERS);
    const url = `https://${e.address}/-/healthy`;
    await writeFile(
      file,
      tlsYaml('  client_auth_type: RequireAnyClientCert\n') +
        `basic_auth_users:\n  dave: ${bcrypt.hashSync('pw-dave', 4)}\n`,
    );
    await waitFor(
      'dave admitted',
      async () =>
        (await status(url, { ca: caPem, user: 'dave', password: 'pw-dave' })) === 200 ? true : undefined,
      5000,
      50,
    );
    expect(await status(url, { ca: caPem, user: 'alice', password: 'alice-pw-Zq81x' })).toBe(401);
  });

  it('replaced certificate files are served without a restart', async () => {
    const sub = await mkdtemp(join(dir, 'rot-'));
    const cert = join(sub, 'server.crt');
    const key = join(sub, 'server.key');
    await copyFile(pki.server.cert, cert);
    await copyFile(pki.server.key, key);
    const { e } = await serve(`tls_server_config:\n  cert_file: ${cert}\n  key_file: ${key}\n`);
    const url = `https://${e.address}/-/healthy`;
    const newCa = await makeCa(sub, 'new-ca');
    const next = await makeCert(sub, newCa, 'next', 'server');
    const newCaPem = await readFile(newCa.cert);
    expect(await status(url, { ca: caPem })).toBe(200);
    expect(await status(url, { ca: newCaPem })).toMatch(/^error: /);
    await copyFile(next.key, key);
    await copyFile(next.cert, cert);
    await waitFor(
      'new certificate served',
      async () => ((await status(url, { ca: newCaPem })) === 200 ? true : undefined),
      5000,
      50,
    );
    expect(await status(url, { ca: caPem })).toMatch(/^error: /);
  });

  it('a certificate file that cannot be read stops the start with ERR_TLS_CONFIG naming the field', async () => {
    const file = join(dir, 'bad-cert.yml');
    await writeFile(file, `tls_server_config:\n  cert_file: missing.crt\n  key_file: ${pki.server.key}\n`);
    await expect(
      startHttpEndpoint({
        address: '127.0.0.1:0',
        registry: new Registry(),
        status: () => ({}),
        web: { config: await readWebConfig(file) },
      }),
    ).rejects.toMatchObject({
      code: 'ERR_TLS_CONFIG',
      message: `--http.config ${file} tls_server_config.cert_file: cannot read ${join(dir, 'missing.crt')}: no such file or directory`,
    });
  });
});
