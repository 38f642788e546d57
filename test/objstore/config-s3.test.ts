/**
 * sse_config and the files of http_config.tls_config: parsing, reading the files the config
 * names, warnings for world-readable secret files, and that keys never show in errors or printouts.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  loadObjstoreConfig,
  parseObjstoreConfig,
  s3BucketOptions,
  type S3Config,
} from '../../src/objstore/config.js';
import { isTlsError } from '../../src/objstore/s3errors.js';
import { sseReadParams, sseWriteParams } from '../../src/objstore/s3sse.js';
import { Secret } from '../../src/objstore/secret.js';
import type { LogFields, Logger } from '../../src/util/logger.js';
import { readSecretFile } from '../../src/util/secret-file.js';
import { makeTestPki, type TestPki } from '../support/certs.js';
import { registerSecret } from '../support/secrets.js';

const BASE = 'type: S3\nconfig:\n  bucket: b\n  endpoint: s3.example.test\n';

function s3(extra: string): S3Config {
  const c = parseObjstoreConfig(`${BASE}${extra}`);
  if (c.type !== 'S3') throw new Error('not s3');
  return c;
}

function capture(): { logger: Logger; warnings: Array<{ msg: string; fields: LogFields | undefined }> } {
  const warnings: Array<{ msg: string; fields: LogFields | undefined }> = [];
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (msg, fields) => void warnings.push({ msg, fields }),
    error: () => {},
    child: () => logger,
  };
  return { logger, warnings };
}

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string; field?: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof Error) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

let dir = '';
let pki: TestPki | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-config-s3-'));
  pki = await makeTestPki(dir);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sse_config', () => {
  test('the three Thanos types; fields the type does not use are reported as without effect', () => {
    expect(s3('').sse).toBeUndefined();
    expect(s3('  sse_config: {type: "", kms_key_id: ""}\n').sse).toBeUndefined();
    expect(s3('  sse_config: {type: SSE-S3}\n').sse).toEqual({ type: 'SSE-S3' });
    const kms = s3(
      '  sse_config:\n    type: SSE-KMS\n    kms_key_id: k1\n    kms_encryption_context: {a: b}\n',
    );
    expect(kms.sse).toEqual({ type: 'SSE-KMS', kmsKeyId: 'k1', kmsEncryptionContext: { a: 'b' } });
    const c = s3('  sse_config: {type: SSE-C, encryption_key: /k, kms_key_id: k1}\n');
    expect(c.sse).toEqual({ type: 'SSE-C', encryptionKeyFile: '/k' });
    expect(c.ignoredFields).toContain('config.sse_config.kms_key_id');
  });

  test('request fields: writes get the type, reads only the SSE-C key', () => {
    expect(sseWriteParams({ type: 'SSE-S3' })).toEqual({ ServerSideEncryption: 'AES256' });
    expect(sseReadParams({ type: 'SSE-S3' })).toEqual({});
    expect(sseWriteParams({ type: 'SSE-KMS', kmsKeyId: 'k', kmsEncryptionContext: {} })).toEqual({
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: 'k',
    });
    const key = new Secret(Buffer.alloc(32, 1).toString('base64'));
    const ssec = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: key.reveal() };
    expect(sseWriteParams({ type: 'SSE-C', key })).toEqual(ssec);
    expect(sseReadParams({ type: 'SSE-C', key })).toEqual(ssec);
    expect(sseWriteParams(undefined)).toEqual({});
  });

  test('SSE-C key file: exactly 32 bytes, never printed, warned about when every user can read it', async () => {
    const key = Buffer.from(registerSecret('sse-c-test-key-3f9a1c7e5b2d8a401', 'the SSE-C test key'));
    registerSecret(key.toString('base64'), 'the SSE-C test key (base64)');
    const file = join(dir, 'sse.key');
    await writeFile(file, key, { mode: 0o600 });
    const config = s3(`  sse_config: {type: SSE-C, encryption_key: ${file}}\n`);
    const quiet = capture();
    const o = await s3BucketOptions(config, quiet.logger);
    expect(o.sse?.type === 'SSE-C' ? o.sse.key.reveal() : '').toBe(key.toString('base64'));
    for (const s of [inspect(o, { depth: 10, showHidden: true }), JSON.stringify(o)]) {
      expect(s).not.toContain(key.toString('base64'));
      expect(s).not.toContain(key.toString('latin1'));
    }
    expect(quiet.warnings).toEqual([]);

    await chmod(file, 0o644);
    const loud = capture();
    await s3BucketOptions(config, loud.logger);
    expect(loud.warnings).toEqual([
      {
        msg: 'secret file is readable by every user; restrict it (chmod 600)',
        fields: { what: 'config.sse_config.encryption_key', file },
      },
    ]);

    await writeFile(file, `${key.toString('latin1')}\n`);
    const long = await rejection(s3BucketOptions(config));
    expect(long).toMatchObject({ code: 'ERR_OBJSTORE_CONFIG', field: 'config.sse_config.encryption_key' });
    expect(long.message).toContain('holds 33 bytes');
    expect(inspect(long, { depth: 10 })).not.toContain(key.toString('latin1'));

    const missing = join(dir, 'no-such.key');
    const gone = await rejection(
      s3BucketOptions(s3(`  sse_config: {type: SSE-C, encryption_key: ${missing}}\n`)),
    );
    expect(gone).toMatchObject({ code: 'ERR_OBJSTORE_CONFIG', field: 'config.sse_config.encryption_key' });
    expect(gone.message).toBe(
      `objstore config: config.sse_config.encryption_key: cannot read ${missing}: no such file or directory`,
    );
  });

  test('readSecretFile names what the file is for in its error', async () => {
    const err = await rejection(readSecretFile(join(dir, 'nope'), '--thing-file', undefined));
    expect(err).toMatchObject({ code: 'ERR_NOT_FOUND' });
    expect(err.message).toBe(`--thing-file: cannot read ${join(dir, 'nope')}: no such file or directory`);
  });
});

describe('http_config.tls_config files', () => {
  const ready = (): TestPki => {
    if (!pki) throw new Error('no pki');
    return pki;
  };

  test('CA, client pair and server name reach the HTTP options; trust_root_ca adds the system CAs', async () => {
    const p = ready();
    const o = await s3BucketOptions(
      s3(
        `  http_config:\n    tls_config:\n      ca_file: ${p.ca.cert}\n      cert_file: ${p.client.cert}\n` +
          `      key_file: ${p.client.key}\n      server_name: s3.internal\n`,
      ),
    );
    expect(o.http?.ca).toContain('BEGIN CERTIFICATE');
    expect(o.http?.cert).toContain('BEGIN CERTIFICATE');
    expect(o.http?.key?.reveal()).toContain('PRIVATE KEY');
    expect(o.http?.serverName).toBe('s3.internal');
    expect(inspect(o, { depth: 10 })).not.toContain('PRIVATE KEY');
    const withRoots = await s3BucketOptions(
      s3(`  http_config:\n    tls_config: {ca_file: ${p.ca.cert}, trust_root_ca: true}\n`),
    );
    expect(withRoots.http?.ca).toHaveLength(rootCertificates.length + 1);
  });

  test('bad files: errors name the field and the path, never the contents', async () => {
    const p = ready();
    const notPem = join(dir, 'not.pem');
    await writeFile(notPem, 'hello');
    const cases: Array<[string, string]> = [
      [`tls_config: {ca_file: ${join(dir, 'missing.pem')}}`, 'config.http_config.tls_config.ca_file'],
      [`tls_config: {ca_file: ${notPem}}`, 'config.http_config.tls_config.ca_file'],
      [
        `tls_config: {cert_file: ${p.client.cert}, key_file: ${p.otherClient.key}}`,
        'config.http_config.tls_config.key_file',
      ],
      [
        `tls_config: {cert_file: ${join(dir, 'nope.crt')}, key_file: ${p.client.key}}`,
        'config.http_config.tls_config.cert_file',
      ],
    ];
    for (const [yaml, field] of cases) {
      const err = await rejection(s3BucketOptions(s3(`  http_config: {${yaml}}\n`)));
      expect(err, yaml).toMatchObject({ code: 'ERR_OBJSTORE_CONFIG', field });
      expect(err.message).toMatch(new RegExp(`^objstore config: ${field}: .*${dir}`));
      expect(err.message).not.toContain('BEGIN');
    }
  });

  test('a world-readable client key is loaded with a warning', async () => {
    const p = ready();
    await chmod(p.client.key, 0o644);
    const { logger, warnings } = capture();
    await s3BucketOptions(
      s3(`  http_config: {tls_config: {cert_file: ${p.client.cert}, key_file: ${p.client.key}}}\n`),
      logger,
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.fields).toEqual({
      flag: 'config.http_config.tls_config.key_file',
      file: p.client.key,
    });
    await chmod(p.client.key, 0o600);
  });

  test('TLS handshake failures are told apart from network failures', () => {
    const coded = (code: string): Error => Object.assign(new Error('x'), { code });
    for (const c of [
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'CERT_HAS_EXPIRED',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      'ERR_SSL_WRONG_VERSION_NUMBER',
    ]) {
      expect(isTlsError(coded(c)), c).toBe(true);
    }
    for (const c of ['ECONNRESET', 'ECONNREFUSED', 'ENOTFOUND', 'ERR_STREAM_PREMATURE_CLOSE']) {
      expect(isTlsError(coded(c)), c).toBe(false);
    }
    expect(isTlsError(new Error('no code'))).toBe(false);
  });

  test('credentials in a config file every user can read, or on the command line: a warning', async () => {
    const secret = registerSecret('s3-secret-in-file-9c2e71', 'an S3 secret key in a config file');
    const file = join(dir, 'objstore.yaml');
    await writeFile(file, `${BASE}  access_key: a\n  secret_key: ${secret}\n`, { mode: 0o600 });
    const quiet = capture();
    await loadObjstoreConfig({ file }, quiet.logger);
    expect(quiet.warnings).toEqual([]);

    await chmod(file, 0o644);
    const loud = capture();
    await loadObjstoreConfig({ file }, loud.logger);
    expect(loud.warnings).toEqual([
      {
        msg: 'secret file is readable by every user; restrict it (chmod 600)',
        fields: { what: '--objstore.config-file', file },
      },
    ]);
    expect(JSON.stringify(loud.warnings)).not.toContain(secret);

    // Nothing secret in it: no warning, whoever can read it.
    const fsFile = join(dir, 'fs.yaml');
    await writeFile(fsFile, `type: FILESYSTEM\nconfig:\n  directory: ${dir}\n`, { mode: 0o644 });
    const fsLog = capture();
    await loadObjstoreConfig({ file: fsFile }, fsLog.logger);
    expect(fsLog.warnings).toEqual([]);

    const inline = capture();
    await loadObjstoreConfig({ inline: `${BASE}  access_key: a\n  secret_key: ${secret}\n` }, inline.logger);
    expect(inline.warnings.map((w) => w.fields)).toEqual([{ flag: '--objstore.config' }]);
    expect(JSON.stringify(inline.warnings)).not.toContain(secret);
  });
});
