/**
 * Certificates for TLS tests, made with the `openssl` binary (Debian's openssl package): CAs,
 * server certificates for 127.0.0.1 (SAN IP:127.0.0.1 and DNS:localhost) and client certificates.
 * Keys are EC P-256 (fast to make), written with mode 0600.
 */
import { execFile } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { registerPrivateKeyFile } from './secrets.js';

const run = promisify(execFile);

export interface CertFiles {
  readonly cert: string;
  readonly key: string;
}

async function openssl(args: readonly string[], cwd: string): Promise<void> {
  await run('openssl', [...args], { cwd });
}

async function newKey(dir: string, name: string): Promise<string> {
  const key = join(dir, `${name}.key`);
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key], dir);
  await chmod(key, 0o600);
  registerPrivateKeyFile(key);
  return key;
}

/** A self-signed CA `name` in `dir` (name.crt, name.key). */
export async function makeCa(dir: string, name: string): Promise<CertFiles> {
  const key = await newKey(dir, name);
  const cert = join(dir, `${name}.crt`);
  await openssl(
    ['req', '-x509', '-new', '-key', key, '-sha256', '-days', '2', '-subj', `/CN=${name}`, '-out', cert],
    dir,
  );
  return { cert, key };
}

/**
 * A certificate `name` signed by `ca`: a server one (for 127.0.0.1/localhost unless `san` says
 * otherwise, e.g. 'DNS:s3.example.test'), or a client one.
 */
export async function makeCert(
  dir: string,
  ca: CertFiles,
  name: string,
  kind: 'server' | 'client',
  san = 'IP:127.0.0.1,DNS:localhost',
): Promise<CertFiles> {
  const key = await newKey(dir, name);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  await writeFile(
    ext,
    kind === 'server'
      ? `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`
      : 'extendedKeyUsage=clientAuth\n',
  );
  await openssl(['req', '-new', '-key', key, '-subj', `/CN=${name}`, '-out', csr], dir);
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      // No serial file: certificates of one CA are made in parallel.
      '-set_serial',
      String(Math.floor(Math.random() * 2 ** 48)),
      '-days',
      '2',
      '-sha256',
      '-extfile',
      ext,
      '-out',
      cert,
    ],
    dir,
  );
  return { cert, key };
}

/** The usual set: CA "ca" with server and client certificates, and a client of another CA. */
export interface TestPki {
  readonly ca: CertFiles;
  readonly server: CertFiles;
  readonly client: CertFiles;
  readonly otherCa: CertFiles;
  readonly otherClient: CertFiles;
}

export async function makeTestPki(dir: string): Promise<TestPki> {
  const [ca, otherCa] = await Promise.all([makeCa(dir, 'ca'), makeCa(dir, 'other-ca')]);
  const [server, client, otherClient] = await Promise.all([
    makeCert(dir, ca, 'server', 'server'),
    makeCert(dir, ca, 'client', 'client'),
    makeCert(dir, otherCa, 'other-client', 'client'),
  ]);
  return { ca, server, client, otherCa, otherClient };
}
