/**
 * src/util/tls.ts and the TLS mode of src/util/h2c-server.ts, in process, with certificates made
 * by openssl: mutual TLS admits only clients with a certificate of the client CA (refused in the
 * handshake otherwise, and plaintext is refused), replaced files are picked up without a restart,
 * and bad flag combinations or files fail with ERR_TLS_CONFIG naming the flag and the file.
 */
import * as http2 from 'node:http2';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenH2c, type H2cServer } from '../../src/util/h2c-server.js';
import type { LogFields, Logger } from '../../src/util/logger.js';
import { clientTlsFiles, loadClientTls, loadServerTls, serverTlsFiles } from '../../src/util/tls.js';
import { makeCa, makeCert, makeTestPki, type TestPki } from '../support/certs.js';

let dir: string;
let pki: TestPki;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-tls-'));
  pki = await makeTestPki(dir);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function recorder(): { logger: Logger; lines: { msg: string; fields: LogFields | undefined }[] } {
  const lines: { msg: string; fields: LogFields | undefined }[] = [];
  const logger: Logger = {
    debug: (msg, fields) => lines.push({ msg, fields }),
    info: (msg, fields) => lines.push({ msg, fields }),
    warn: (msg, fields) => lines.push({ msg, fields }),
    error: (msg, fields) => lines.push({ msg, fields }),
    child: () => logger,
  };
  return { logger, lines };
}

/** One GET over a fresh session: the status, or the error's message. */
async function get(url: string, opts: http2.SecureClientSessionOptions): Promise<number | string> {
  return new Promise((resolve) => {
    const session = http2.connect(url, opts);
    let settled = false;
    const done = (v: number | string): void => {
      if (settled) return;
      settled = true;
      session.destroy();
      resolve(v);
    };
    session.on('error', (err) => done(`error: ${err.message}`));
    session.on('close', () => done('error: connection closed'));
    const req = session.request({ ':path': '/' });
    req.on('response', (h) => {
      req.resume();
      req.on('end', () => done(Number(h[':status'])));
    });
    req.on('error', (err) => done(`error: ${err.message}`));
    req.on('close', () => done('error: stream closed'));
    req.end();
    setTimeout(() => done('error: timeout'), 5000).unref();
  });
}

async function serve(files: ReturnType<typeof serverTlsFiles>, logger?: Logger): Promise<H2cServer> {
  return listenH2c((_req, res) => res.end('ok'), {
    host: '127.0.0.1',
    port: 0,
    closeGraceMs: 100,
    ...(files ? { tls: files } : {}),
    tlsReloadIntervalMs: 100,
    ...(logger ? { logger } : {}),
  });
}

describe('gRPC server TLS', () => {
  it('mutual TLS: a client certificate of the client CA is required, plaintext is refused', async () => {
    const { logger, lines } = recorder();
    const server = await serve(
      serverTlsFiles({ cert: pki.server.cert, key: pki.server.key, clientCa: pki.ca.cert }),
      logger,
    );
    try {
      const url = `https://${server.address}`;
      const base = { ca: await readFile(pki.ca.cert) };
      expect(await get(url, { ...base, ...(await pair(pki.client)) })).toBe(200);
      expect(await get(url, base)).toMatch(/certificate required/);
      expect(await get(url, { ...base, ...(await pair(pki.otherClient)) })).toMatch(/^error/);
      expect(await get(`http://${server.address}`, {})).toMatch(/^error/);
      const refused = lines.filter((l) => l.msg === 'gRPC TLS handshake refused');
      expect(refused.length, JSON.stringify(lines)).toBeGreaterThanOrEqual(3);
      expect(refused.map((l) => String(l.fields?.err)).join('\n')).toMatch(/certificate/);
      // The client side checks the server too: another CA's trust store refuses it.
      expect(await get(url, { ca: await readFile(pki.otherCa.cert), ...(await pair(pki.client)) })).toMatch(
        /^error/,
      );
    } finally {
      await server.close();
    }
  });

  it('server TLS without a client CA takes any client; loadClientTls builds the options', async () => {
    const server = await serve(serverTlsFiles({ cert: pki.server.cert, key: pki.server.key }));
    try {
      const url = `https://${server.address}`;
      const files = clientTlsFiles({ secure: true, ca: pki.ca.cert, skipVerify: false });
      expect(await get(url, await loadClientTls(files!))).toBe(200);
      const skip = clientTlsFiles({ secure: true, skipVerify: true });
      expect(await get(url, await loadClientTls(skip!))).toBe(200);
      const noCa = clientTlsFiles({ secure: true, skipVerify: false });
      expect(await get(url, await loadClientTls(noCa!))).toMatch(/^error/);
      const named = clientTlsFiles({
        secure: true,
        ca: pki.ca.cert,
        serverName: 'localhost',
        skipVerify: false,
      });
      expect(await get(url, await loadClientTls(named!))).toBe(200);
      const wrongName = clientTlsFiles({
        secure: true,
        ca: pki.ca.cert,
        serverName: 'nope',
        skipVerify: false,
      });
      expect(await get(url, await loadClientTls(wrongName!))).toMatch(/^error/);
    } finally {
      await server.close();
    }
  });

  it('replaced certificate files are used without a restart', async () => {
    const live = join(dir, 'live');
    await mkdir(live, { recursive: true });
    const files = { cert: join(live, 'tls.crt'), key: join(live, 'tls.key'), ca: join(live, 'ca.crt') };
    await copyFile(pki.server.cert, files.cert);
    await copyFile(pki.server.key, files.key);
    await copyFile(pki.ca.cert, files.ca);
    const { logger, lines } = recorder();
    const server = await serve(
      serverTlsFiles({ cert: files.cert, key: files.key, clientCa: files.ca }),
      logger,
    );
    try {
      const url = `https://${server.address}`;
      const newCa = await makeCa(dir, 'new-ca');
      const newServer = await makeCert(dir, newCa, 'new-server', 'server');
      const newClient = await makeCert(dir, newCa, 'new-client', 'client');
      const trustsNew = { ca: await readFile(newCa.cert), ...(await pair(newClient)) };
      expect(await get(url, trustsNew)).toMatch(/^error/);
      // A half-done swap (new cert, old key) is not applied: the old certificates keep working.
      await copyFile(newServer.cert, files.cert);
      await sleep(400);
      expect(await get(url, { ca: await readFile(pki.ca.cert), ...(await pair(pki.client)) })).toBe(200);
      expect(lines.some((l) => l.msg.startsWith('TLS certificates not reloaded'))).toBe(true);
      await copyFile(newServer.key, files.key);
      await copyFile(newCa.cert, files.ca);
      let status: number | string = '';
      for (let i = 0; i < 50 && status !== 200; i++) {
        await sleep(100);
        status = await get(url, trustsNew);
      }
      expect(status).toBe(200);
      expect(await get(url, { ca: await readFile(pki.ca.cert), ...(await pair(pki.client)) })).toMatch(
        /^error/,
      );
      expect(lines.some((l) => l.msg === 'TLS certificates reloaded')).toBe(true);
      // No key material in any log line.
      const key = await readFile(newServer.key, 'utf8');
      expect(JSON.stringify(lines)).not.toContain(key.split('\n')[1]);
    } finally {
      await server.close();
    }
  });

  it('flag combinations and unusable files fail with ERR_TLS_CONFIG naming flag and file', async () => {
    expect(serverTlsFiles({})).toBeUndefined();
    expect(() => serverTlsFiles({ cert: 'a' })).toThrow(/--grpc-server-tls-cert and --grpc-server-tls-key/);
    expect(() => serverTlsFiles({ clientCa: 'a' })).toThrow(/--grpc-server-tls-client-ca needs/);
    expect(clientTlsFiles({ secure: false, cert: 'x', skipVerify: false })).toBeUndefined();
    expect(() => clientTlsFiles({ secure: true, cert: 'x', skipVerify: false })).toThrow(
      /--grpc-client-tls-cert and --grpc-client-tls-key/,
    );
    const missing = join(dir, 'missing.crt');
    await expect(
      loadServerTls(serverTlsFiles({ cert: missing, key: pki.server.key })!),
    ).rejects.toMatchObject({
      code: 'ERR_TLS_CONFIG',
      message: `--grpc-server-tls-cert: cannot read ${missing}: no such file or directory`,
    });
    await expect(
      loadServerTls(serverTlsFiles({ cert: pki.server.cert, key: pki.client.key })!),
    ).rejects.toMatchObject({
      code: 'ERR_TLS_CONFIG',
      message: `--grpc-server-tls-key: ${pki.client.key} is not the key of --grpc-server-tls-cert ${pki.server.cert}`,
    });
    const junk = join(dir, 'junk.pem');
    await writeFile(junk, 'not pem');
    await expect(
      loadClientTls(clientTlsFiles({ secure: true, ca: junk, skipVerify: false })!),
    ).rejects.toMatchObject({
      code: 'ERR_TLS_CONFIG',
      message: `--grpc-client-tls-ca: ${junk} holds no PEM block`,
    });
  });

  it('warns when the key file is readable by every user', async () => {
    const key = join(dir, 'open.key');
    await copyFile(pki.server.key, key);
    await chmod(key, 0o644);
    const { logger, lines } = recorder();
    const server = await serve(serverTlsFiles({ cert: pki.server.cert, key }), logger);
    await server.close();
    expect(lines).toContainEqual({
      msg: 'key file is readable by every user; restrict it (chmod 600)',
      fields: { flag: '--grpc-server-tls-key', file: key },
    });
  });
});

async function pair(c: { cert: string; key: string }): Promise<{ cert: Buffer; key: Buffer }> {
  return { cert: await readFile(c.cert), key: await readFile(c.key) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
