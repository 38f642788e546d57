/**
 * The S3 part of the Thanos objstore config: `config:` parsed into an S3Config (strictly, errors
 * naming the field and never its value), and the S3Bucket options built from it, which reads the
 * files the config names (TLS CA, client certificate and key, SSE-C customer key).
 */
import { rootCertificates } from 'node:tls';
import { StrataError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { readSecretFile } from '../util/secret-file.js';
import { readCa, readPair, warnIfWorldReadable } from '../util/tls.js';
import { type Fields, ObjstoreConfigError } from './config-fields.js';
import { DEFAULT_PART_SIZE, MIN_PART_SIZE, type S3BucketOptions, type S3HttpOptions } from './s3.js';
import { SSE_C_KEY_BYTES, type S3Sse } from './s3sse.js';
import { Secret } from './secret.js';

export interface S3TlsConfig {
  caFile?: string;
  /** With ca_file: trust the system's CAs too (by default ca_file replaces them). */
  trustRootCa: boolean;
  certFile?: string;
  keyFile?: string;
  serverName?: string;
  insecureSkipVerify: boolean;
}

export interface S3HttpConfig {
  idleConnTimeoutMs?: number;
  responseHeaderTimeoutMs?: number;
  insecureSkipVerify: boolean;
  maxConnsPerHost?: number;
  tls: S3TlsConfig;
}

/** sse_config as parsed: SSE-C names its key file, read when the bucket is created. */
export type S3SseConfig =
  | { type: 'SSE-S3' }
  | { type: 'SSE-KMS'; kmsKeyId: string; kmsEncryptionContext: Record<string, string> }
  | { type: 'SSE-C'; encryptionKeyFile: string };

export interface S3Config {
  type: 'S3';
  prefix: string;
  bucket: string;
  /** Full URL: a Thanos-style 'host:port' gets http:// when insecure, else https://. */
  endpoint: string;
  region: string;
  accessKey?: string;
  secretKey?: Secret;
  sessionToken?: Secret;
  /** Use the SDK's default credential chain (also used when no access_key is given). */
  awsSdkAuth: boolean;
  insecure: boolean;
  forcePathStyle: boolean;
  putUserMetadata: Record<string, string>;
  partSize: number;
  disableMultipart: boolean;
  http: S3HttpConfig;
  sse?: S3SseConfig;
  /** Thanos fields accepted for compatibility but without effect here (for a startup log line). */
  ignoredFields: string[];
}

const S3_IGNORED = [
  'signature_version2',
  'trace',
  'list_objects_version',
  'send_content_md5',
  'disable_dualstack',
  'sts_endpoint',
];

const HTTP_IGNORED = [
  'tls_handshake_timeout',
  'expect_continue_timeout',
  'max_idle_conns',
  'max_idle_conns_per_host',
  'disable_compression',
  'force_attempt_http2',
];

const FIELD = {
  ca: 'config.http_config.tls_config.ca_file',
  cert: 'config.http_config.tls_config.cert_file',
  key: 'config.http_config.tls_config.key_file',
  sseKey: 'config.sse_config.encryption_key',
} as const;

export function parseS3(c: Fields, prefix: string): S3Config {
  const bucket = c.requiredStr('bucket');
  const rawEndpoint = c.requiredStr('endpoint');
  const insecure = c.bool('insecure');
  const endpoint = endpointUrl(c, rawEndpoint, insecure);
  const region = c.str('region') || regionFromEndpoint(endpoint) || 'us-east-1';
  const awsSdkAuth = c.bool('aws_sdk_auth');
  const accessKey = c.str('access_key') || undefined;
  const secret = c.str('secret_key') || undefined;
  const session = c.str('session_token') || undefined;
  if (awsSdkAuth && accessKey !== undefined) {
    throw c.error('aws_sdk_auth', 'aws_sdk_auth and access_key are mutually exclusive');
  }
  if (accessKey !== undefined && secret === undefined) {
    throw c.error('secret_key', 'is required when access_key is set');
  }
  if (accessKey === undefined && secret !== undefined) {
    throw c.error('access_key', 'is required when secret_key is set');
  }
  const lookup = c.str('bucket_lookup_type') ?? 'auto';
  if (!['auto', 'virtual-hosted', 'path'].includes(lookup)) {
    throw c.error('bucket_lookup_type', "expected 'auto', 'virtual-hosted' or 'path'");
  }
  // auto, as in minio-go: virtual-hosted for AWS, path style for everything else.
  const forcePathStyle = lookup === 'path' || (lookup === 'auto' && !isAwsHost(endpoint));
  const partSizeRaw = c.int('part_size') ?? 0;
  const partSize = partSizeRaw === 0 ? DEFAULT_PART_SIZE : partSizeRaw;
  if (partSize < MIN_PART_SIZE) throw c.error('part_size', `must be at least ${MIN_PART_SIZE} bytes (5 MiB)`);
  const ignored: string[] = [];
  const sse = parseSse(c.sub('sse_config'), ignored);
  const listVersion = c.str('list_objects_version');
  if (listVersion !== undefined && listVersion !== '' && listVersion !== 'v1' && listVersion !== 'v2') {
    throw c.error('list_objects_version', "expected 'v1' or 'v2'");
  }
  const http = parseHttp(c.sub('http_config'), ignored);
  ignored.push(...c.accept(S3_IGNORED));
  const putUserMetadata = c.stringMap('put_user_metadata');
  const disableMultipart = c.bool('disable_multipart');
  c.rejectUnknown();

  return {
    type: 'S3',
    prefix,
    bucket,
    endpoint,
    region,
    ...(accessKey !== undefined ? { accessKey } : {}),
    ...(secret !== undefined ? { secretKey: new Secret(secret) } : {}),
    ...(session !== undefined ? { sessionToken: new Secret(session) } : {}),
    awsSdkAuth,
    insecure,
    forcePathStyle,
    putUserMetadata,
    partSize,
    disableMultipart,
    http,
    ...(sse !== undefined ? { sse } : {}),
    ignoredFields: ignored,
  };
}

function parseHttp(h: Fields, ignored: string[]): S3HttpConfig {
  const tls = h.sub('tls_config');
  const http: S3HttpConfig = {
    idleConnTimeoutMs: h.durationMs('idle_conn_timeout'),
    responseHeaderTimeoutMs: h.durationMs('response_header_timeout'),
    insecureSkipVerify: h.bool('insecure_skip_verify'),
    maxConnsPerHost: h.int('max_conns_per_host') || undefined,
    tls: {
      caFile: tls.str('ca_file') || undefined,
      trustRootCa: tls.bool('trust_root_ca'),
      certFile: tls.str('cert_file') || undefined,
      keyFile: tls.str('key_file') || undefined,
      serverName: tls.str('server_name') || undefined,
      insecureSkipVerify: tls.bool('insecure_skip_verify'),
    },
  };
  tls.rejectUnknown();
  // As Thanos: a client certificate needs its key and the other way round.
  if (http.tls.certFile !== undefined && http.tls.keyFile === undefined) {
    throw tls.error('key_file', 'is required when cert_file is set');
  }
  if (http.tls.keyFile !== undefined && http.tls.certFile === undefined) {
    throw tls.error('cert_file', 'is required when key_file is set');
  }
  ignored.push(...h.accept(HTTP_IGNORED));
  h.rejectUnknown();
  return http;
}

function parseSse(s: Fields, ignored: string[]): S3SseConfig | undefined {
  const type = s.str('type') ?? '';
  const kmsKeyId = s.str('kms_key_id') || undefined;
  const kmsEncryptionContext = s.stringMap('kms_encryption_context');
  const encryptionKeyFile = s.str('encryption_key') || undefined;
  s.rejectUnknown();
  const unused = (names: string[]): void => {
    ignored.push(...names.filter((n) => n !== '').map((n) => s.field(n)));
  };
  if (type === '') {
    unused([kmsKeyId ? 'kms_key_id' : '', encryptionKeyFile ? 'encryption_key' : '']);
    return undefined;
  }
  if (type === 'SSE-S3') {
    unused([kmsKeyId ? 'kms_key_id' : '', encryptionKeyFile ? 'encryption_key' : '']);
    return { type };
  }
  if (type === 'SSE-KMS') {
    if (kmsKeyId === undefined) throw s.error('kms_key_id', 'is required when type is SSE-KMS');
    unused([encryptionKeyFile ? 'encryption_key' : '']);
    return { type, kmsKeyId, kmsEncryptionContext };
  }
  if (type === 'SSE-C') {
    if (encryptionKeyFile === undefined) throw s.error('encryption_key', 'is required when type is SSE-C');
    unused([kmsKeyId ? 'kms_key_id' : '']);
    return { type, encryptionKeyFile };
  }
  throw s.error('type', "expected 'SSE-S3', 'SSE-KMS' or 'SSE-C'");
}

function endpointUrl(c: Fields, raw: string, insecure: boolean): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `${insecure ? 'http' : 'https'}://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw c.error('endpoint', "expected 'host[:port]' or an http(s) URL");
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw c.error('endpoint', 'scheme must be http or https');
  if (url.username !== '' || url.password !== '') throw c.error('endpoint', 'must not contain credentials');
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw c.error('endpoint', 'must be a host (and port) without a path');
  }
  return `${url.protocol}//${url.host}`;
}

function isAwsHost(endpoint: string): boolean {
  const host = new URL(endpoint).hostname;
  return host === 'amazonaws.com' || host.endsWith('.amazonaws.com');
}

function regionFromEndpoint(endpoint: string): string | undefined {
  const m = /^s3[.-]([a-z0-9-]+)\.amazonaws\.com$/.exec(new URL(endpoint).hostname);
  return m && m[1] !== 'external-1' ? m[1] : undefined;
}

/** A file error (util/tls and readSecretFile start messages with the field) as a config error on that field. */
function asConfigError(err: unknown, fields: readonly string[]): unknown {
  if (!(err instanceof StrataError)) return err;
  const field = fields.find((f) => err.message.startsWith(`${f}: `));
  if (field === undefined) return new ObjstoreConfigError('objstore config', '', err.message, { cause: err });
  return new ObjstoreConfigError('objstore config', field, err.message.slice(field.length + 2), {
    cause: err,
  });
}

async function tlsOptions(t: S3TlsConfig, logger: Logger | undefined): Promise<S3HttpOptions> {
  const out: S3HttpOptions = {};
  try {
    if (t.caFile !== undefined) {
      const ca = (await readCa({ flag: FIELD.ca, path: t.caFile })).toString('utf8');
      out.ca = t.trustRootCa ? [...rootCertificates, ca] : ca;
    }
    if (t.certFile !== undefined && t.keyFile !== undefined) {
      const key = { flag: FIELD.key, path: t.keyFile };
      const pair = await readPair({ flag: FIELD.cert, path: t.certFile }, key);
      await warnIfWorldReadable(key, logger);
      out.cert = pair.cert.toString('utf8');
      out.key = new Secret(pair.key.toString('utf8'));
    }
  } catch (err) {
    throw asConfigError(err, [FIELD.ca, FIELD.cert, FIELD.key]);
  }
  if (t.serverName !== undefined) out.serverName = t.serverName;
  return out;
}

async function sseOptions(sse: S3SseConfig, logger: Logger | undefined): Promise<S3Sse> {
  if (sse.type !== 'SSE-C') return sse;
  let key: Buffer;
  try {
    key = await readSecretFile(sse.encryptionKeyFile, FIELD.sseKey, logger);
  } catch (err) {
    throw asConfigError(err, [FIELD.sseKey]);
  }
  if (key.length !== SSE_C_KEY_BYTES) {
    // The length only: never the bytes.
    throw new ObjstoreConfigError(
      'objstore config',
      FIELD.sseKey,
      `${sse.encryptionKeyFile} holds ${key.length} bytes; an SSE-C key is exactly ${SSE_C_KEY_BYTES} bytes (a trailing newline counts)`,
    );
  }
  const secret = new Secret(key.toString('base64'));
  key.fill(0);
  return { type: 'SSE-C', key: secret };
}

/** The S3Bucket options for a parsed S3 config; reads the TLS and SSE-C files it names. */
export async function s3BucketOptions(config: S3Config, logger?: Logger): Promise<S3BucketOptions> {
  const t = config.http.tls;
  const http: S3HttpOptions = {
    ...(config.http.responseHeaderTimeoutMs !== undefined
      ? { requestTimeoutMs: config.http.responseHeaderTimeoutMs }
      : {}),
    ...(config.http.idleConnTimeoutMs !== undefined ? { idleTimeoutMs: config.http.idleConnTimeoutMs } : {}),
    ...(config.http.maxConnsPerHost !== undefined ? { maxSockets: config.http.maxConnsPerHost } : {}),
    // Either switch turns verification off (in Thanos the http_config one overrides the other).
    insecureSkipVerify: config.http.insecureSkipVerify || t.insecureSkipVerify,
    ...(await tlsOptions(t, logger)),
  };
  const useStatic = !config.awsSdkAuth && config.accessKey !== undefined && config.secretKey !== undefined;
  return {
    bucket: config.bucket,
    endpoint: config.endpoint,
    region: config.region,
    ...(useStatic
      ? {
          credentials: {
            accessKeyId: config.accessKey as string,
            secretAccessKey: config.secretKey as Secret,
            ...(config.sessionToken ? { sessionToken: config.sessionToken } : {}),
          },
        }
      : {}),
    forcePathStyle: config.forcePathStyle,
    partSize: config.partSize,
    putUserMetadata: config.putUserMetadata,
    disableMultipart: config.disableMultipart,
    http,
    ...(config.sse !== undefined ? { sse: await sseOptions(config.sse, logger) } : {}),
  };
}
