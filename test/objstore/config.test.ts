import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  createBucket,
  loadObjstoreConfig,
  parseObjstoreConfig,
  s3BucketOptions,
  type S3Config,
} from '../../src/objstore/config.js';
import { ObjstoreConfigError } from '../../src/objstore/config-fields.js';
import { PrefixedBucket } from '../../src/objstore/prefixed.js';
import { DEFAULT_PART_SIZE } from '../../src/objstore/s3.js';
import { errorCode } from '../../src/util/errors.js';
import { makeCa } from '../support/certs.js';

const SECRET = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY';

function s3(text: string): S3Config {
  const c = parseObjstoreConfig(text);
  if (c.type !== 'S3') throw new Error('not s3');
  return c;
}

function configError(text: string): ObjstoreConfigError {
  try {
    parseObjstoreConfig(text);
  } catch (err) {
    if (err instanceof ObjstoreConfigError) return err;
    throw err;
  }
  throw new Error('parsed without error');
}

describe('parseObjstoreConfig', () => {
  test('FILESYSTEM, any case, with and without prefix', () => {
    expect(parseObjstoreConfig('type: FILESYSTEM\nconfig:\n  directory: /data/bucket\n')).toEqual({
      type: 'FILESYSTEM',
      prefix: '',
      directory: '/data/bucket',
    });
    expect(parseObjstoreConfig('type: filesystem\nconfig: {directory: ./b}\nprefix: tenant-a')).toEqual({
      type: 'FILESYSTEM',
      prefix: 'tenant-a',
      directory: './b',
    });
  });

  test('S3 with the Thanos fields', () => {
    const c = s3(`
type: S3
config:
  bucket: "blocks"
  endpoint: "minio.local:9000"
  region: "eu-west-1"
  aws_sdk_auth: false
  access_key: "AKIAEXAMPLE"
  insecure: true
  signature_version2: false
  secret_key: "${SECRET}"
  session_token: ""
  put_user_metadata:
    team: observability
    X-Amz-Storage-Class: STANDARD_IA
  http_config:
    idle_conn_timeout: 1m30s
    response_header_timeout: 2m
    insecure_skip_verify: false
    tls_handshake_timeout: 10s
    expect_continue_timeout: 1s
    max_idle_conns: 100
    max_idle_conns_per_host: 100
    max_conns_per_host: 32
    tls_config:
      ca_file: ""
      server_name: ""
      insecure_skip_verify: false
  trace:
    enable: false
  list_objects_version: ""
  bucket_lookup_type: auto
  send_content_md5: true
  disable_multipart: false
  part_size: 134217728
  sse_config:
    type: ""
    kms_key_id: ""
prefix: "cluster-1"
`);
    expect(c).toMatchObject({
      type: 'S3',
      prefix: 'cluster-1',
      bucket: 'blocks',
      endpoint: 'http://minio.local:9000',
      region: 'eu-west-1',
      accessKey: 'AKIAEXAMPLE',
      awsSdkAuth: false,
      insecure: true,
      forcePathStyle: true,
      partSize: 134217728,
      disableMultipart: false,
      putUserMetadata: { team: 'observability', 'X-Amz-Storage-Class': 'STANDARD_IA' },
      http: { idleConnTimeoutMs: 90_000, responseHeaderTimeoutMs: 120_000, maxConnsPerHost: 32 },
    });
    expect(c.secretKey?.reveal()).toBe(SECRET);
    expect(c.sessionToken).toBeUndefined();
    expect(c.ignoredFields).toEqual(
      expect.arrayContaining([
        'config.signature_version2',
        'config.trace',
        'config.http_config.max_idle_conns',
      ]),
    );
  });

  test('endpoint: Thanos-style host uses insecure to pick the scheme; URLs are kept; AWS defaults', () => {
    const base = 'type: S3\nconfig:\n  bucket: b\n';
    expect(s3(`${base}  endpoint: s3.example.com\n`).endpoint).toBe('https://s3.example.com');
    expect(s3(`${base}  endpoint: 127.0.0.1:8080\n  insecure: true\n`).endpoint).toBe(
      'http://127.0.0.1:8080',
    );
    expect(s3(`${base}  endpoint: http://127.0.0.1:8080/\n`).endpoint).toBe('http://127.0.0.1:8080');
    const aws = s3(`${base}  endpoint: s3.eu-central-1.amazonaws.com\n`);
    expect(aws).toMatchObject({ region: 'eu-central-1', forcePathStyle: false, partSize: DEFAULT_PART_SIZE });
    expect(s3(`${base}  endpoint: s3.amazonaws.com\n`).region).toBe('us-east-1');
    expect(s3(`${base}  endpoint: s3.amazonaws.com\n  bucket_lookup_type: path\n`).forcePathStyle).toBe(true);
    expect(s3(`${base}  endpoint: minio:9000\n  bucket_lookup_type: virtual-hosted\n`).forcePathStyle).toBe(
      false,
    );
  });

  test('errors name the field', () => {
    const cases: Array<[string, string]> = [
      ['config: {directory: /x}', 'type'],
      ['type: GCS\nconfig: {bucket: b}', 'type'],
      ['type: NOPE\nconfig: {}', 'type'],
      ['type: FILESYSTEM\nconfig: {}', 'config.directory'],
      ['type: FILESYSTEM\nconfig: {directory: /x, dir: /y}', 'config.dir'],
      ['type: FILESYSTEM\nconfig: {directory: /x}\nprefx: a', 'prefx'],
      ['type: FILESYSTEM\nconfig: [1, 2]', 'config'],
      ['type: S3\nconfig: {endpoint: e}', 'config.bucket'],
      ['type: S3\nconfig: {bucket: b}', 'config.endpoint'],
      ['type: S3\nconfig: {bucket: b, endpoint: "http://h/path"}', 'config.endpoint'],
      ['type: S3\nconfig: {bucket: b, endpoint: "ftp://h"}', 'config.endpoint'],
      ['type: S3\nconfig: {bucket: b, endpoint: e, part_size: 1000}', 'config.part_size'],
      ['type: S3\nconfig: {bucket: b, endpoint: e, part_size: big}', 'config.part_size'],
      ['type: S3\nconfig: {bucket: b, endpoint: e, insecure: "yes"}', 'config.insecure'],
      ['type: S3\nconfig: {bucket: b, endpoint: e, access_key: a}', 'config.secret_key'],
      ['type: S3\nconfig: {bucket: b, endpoint: e, secret_key: s}', 'config.access_key'],
      [
        'type: S3\nconfig: {bucket: b, endpoint: e, aws_sdk_auth: true, access_key: a, secret_key: s}',
        'config.aws_sdk_auth',
      ],
      ['type: S3\nconfig: {bucket: b, endpoint: e, bucket_lookup_type: dns}', 'config.bucket_lookup_type'],
      ['type: S3\nconfig: {bucket: b, endpoint: e, sse_config: {type: AES256}}', 'config.sse_config.type'],
      [
        'type: S3\nconfig: {bucket: b, endpoint: e, sse_config: {type: SSE-KMS}}',
        'config.sse_config.kms_key_id',
      ],
      [
        'type: S3\nconfig: {bucket: b, endpoint: e, sse_config: {type: SSE-C}}',
        'config.sse_config.encryption_key',
      ],
      [
        'type: S3\nconfig: {bucket: b, endpoint: e, http_config: {tls_config: {cert_file: c}}}',
        'config.http_config.tls_config.key_file',
      ],
      [
        'type: S3\nconfig: {bucket: b, endpoint: e, http_config: {idle_conn_timeout: soon}}',
        'config.http_config.idle_conn_timeout',
      ],
      [
        'type: S3\nconfig: {bucket: b, endpoint: e, http_config: {tls_config: {ca: x}}}',
        'config.http_config.tls_config.ca',
      ],
      [
        'type: S3\nconfig: {bucket: b, endpoint: e, put_user_metadata: {a: [1]}}',
        'config.put_user_metadata.a',
      ],
      ['type: S3\nconfig: {bucket: b, endpoint: e, list_objects_version: v3}', 'config.list_objects_version'],
      ['', ''],
      ['- a\n- b', ''],
    ];
    for (const [text, field] of cases) {
      const err = configError(text);
      expect(err.code, text).toBe('ERR_OBJSTORE_CONFIG');
      expect(err.field, text).toBe(field);
      if (field !== '') expect(err.message, text).toContain(field);
    }
  });

  test('no error message and no printout of a config shows the secret', () => {
    const broken = [
      `type: S3\nconfig:\n  bucket: b\n  secret_key: "${SECRET}\n`, // unterminated quote
      `type: S3\nconfig:\n  bucket: b\n  secret_key: ${SECRET}\n   endpoint: [x`,
      `type: S3\nconfig:\n  bucket: b\n  endpoint: e\n  region: [${SECRET}]\n`,
      `type: S3\nconfig:\n  bucket: b\n  endpoint: e\n  part_size: ${SECRET}\n`,
      `type: S3\nconfig:\n  bucket: b\n  endpoint: e\n  secret_key: ${SECRET}\n  secret_key: ${SECRET}\n`,
      `type: S3\nconfig:\n  bucket: b\n  endpoint: "http://user:${SECRET}@host"\n`,
      `type: S3\nconfig:\n  bucket: b\n  endpoint: e\n  http_config: {idle_conn_timeout: ${SECRET}}\n`,
    ];
    expect(configError(broken[0] as string).message).toMatch(
      /invalid YAML at line \d+, column \d+ \(MISSING_CHAR\)/,
    );
    for (const text of broken) {
      const err = configError(text);
      for (const s of [err.message, inspect(err, { depth: 10 }), JSON.stringify(err)])
        expect(s).not.toContain(SECRET);
    }
    const ok = s3(
      `type: S3\nconfig:\n  bucket: b\n  endpoint: e\n  access_key: a\n  secret_key: ${SECRET}\n`,
    );
    for (const s of [
      inspect(ok, { depth: 10, showHidden: true }),
      JSON.stringify(ok),
      String(ok.secretKey),
    ]) {
      expect(s).not.toContain(SECRET);
    }
  });
});

describe('loadObjstoreConfig and createBucket', () => {
  let dir = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strata-objstore-config-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('file or inline, exactly one', async () => {
    const file = join(dir, 'objstore.yml');
    await writeFile(file, `type: FILESYSTEM\nconfig:\n  directory: ${join(dir, 'data')}\n`);
    expect((await loadObjstoreConfig({ file })).type).toBe('FILESYSTEM');
    expect((await loadObjstoreConfig({ inline: 'type: FILESYSTEM\nconfig: {directory: /d}' })).type).toBe(
      'FILESYSTEM',
    );
    for (const src of [{}, { file, inline: 'type: S3' }, { file: join(dir, 'missing.yml') }]) {
      await expect(loadObjstoreConfig(src)).rejects.toMatchObject({ code: 'ERR_OBJSTORE_CONFIG' });
    }
    const bad = join(dir, 'bad.yml');
    await writeFile(bad, 'type: FILESYSTEM\nconfig: {}\n');
    await expect(loadObjstoreConfig({ file: bad })).rejects.toThrow(`${bad}: config.directory: is required`);
  });

  test('a FILESYSTEM directory that does not exist is a config error unless created on request', async () => {
    const missing = join(dir, 'no', 'such-bucket');
    const config = parseObjstoreConfig(`type: FILESYSTEM\nconfig: {directory: ${missing}}`);
    let caught: unknown;
    await createBucket(config).catch((err: unknown) => (caught = err));
    expect(errorCode(caught)).toBe('ERR_OBJSTORE_CONFIG');
    expect(String(caught)).toBe(`ObjstoreError: FILESYSTEM bucket directory ${missing} does not exist`);
    await expect(stat(missing)).rejects.toMatchObject({ code: 'ENOENT' });

    const file = join(dir, 'a-file');
    await writeFile(file, 'not a directory');
    await expect(
      createBucket(parseObjstoreConfig(`type: FILESYSTEM\nconfig: {directory: ${file}}`), {
        createIfMissing: true,
      }),
    ).rejects.toThrow(`FILESYSTEM bucket directory ${file} is not a directory`);
    await expect(
      createBucket(parseObjstoreConfig(`type: FILESYSTEM\nconfig: {directory: ${join(file, 'x')}}`)),
    ).rejects.toMatchObject({ code: 'ERR_OBJSTORE_CONFIG', message: expect.stringContaining(file) });

    const b = await createBucket(config, { createIfMissing: true });
    expect((await stat(missing)).isDirectory()).toBe(true);
    await b.upload('k', Buffer.from('v'));
    await b.close();
    // Once it exists, opening without the option works.
    const again = await createBucket(config);
    expect((await again.get('k')).toString()).toBe('v');
    await again.close();
  });

  test('a FILESYSTEM config with a prefix writes under it', async () => {
    const data = join(dir, 'fs');
    await mkdir(data);
    const b = await createBucket(
      parseObjstoreConfig(`type: FILESYSTEM\nconfig: {directory: ${data}}\nprefix: /tenant/a/`),
    );
    expect(b).toBeInstanceOf(PrefixedBucket);
    await b.upload('blk/meta.json', Buffer.from('{}'));
    expect((await readFile(join(data, 'tenant', 'a', 'blk', 'meta.json'))).toString()).toBe('{}');
    await b.close();
    const plain = await createBucket(
      parseObjstoreConfig(`type: FILESYSTEM\nconfig: {directory: ${data}}\nprefix: ""`),
    );
    expect(plain).not.toBeInstanceOf(PrefixedBucket);
  });

  test('S3 options: credentials, http and TLS files', async () => {
    const ca = (await makeCa(dir, 'ca')).cert;
    const c = s3(
      `type: S3\nconfig:\n  bucket: b\n  endpoint: h:1\n  access_key: a\n  secret_key: ${SECRET}\n` +
        `  http_config:\n    response_header_timeout: 30s\n    tls_config: {ca_file: ${ca}, server_name: s3.internal}\n`,
    );
    const o = await s3BucketOptions(c);
    expect(o).toMatchObject({ bucket: 'b', endpoint: 'https://h:1', forcePathStyle: true });
    expect(o.credentials?.accessKeyId).toBe('a');
    expect(o.credentials?.secretAccessKey.reveal()).toBe(SECRET);
    expect(o.http).toMatchObject({
      requestTimeoutMs: 30_000,
      serverName: 's3.internal',
      insecureSkipVerify: false,
    });
    expect(o.http?.ca).toContain('BEGIN CERTIFICATE');
    const sdk = await s3BucketOptions(s3('type: S3\nconfig: {bucket: b, endpoint: h, aws_sdk_auth: true}'));
    expect(sdk.credentials).toBeUndefined();
    const missing = s3(
      `type: S3\nconfig:\n  bucket: b\n  endpoint: h\n  http_config: {tls_config: {ca_file: ${join(dir, 'nope.pem')}}}`,
    );
    await expect(s3BucketOptions(missing)).rejects.toMatchObject({
      code: 'ERR_OBJSTORE_CONFIG',
      field: 'config.http_config.tls_config.ca_file',
    });
  });
});
