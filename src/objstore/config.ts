/**
 * The Thanos objstore config format (the file behind --objstore.config-file, or the inline YAML of
 * --objstore.config), parsed into typed configs, and the factory that turns one into a Bucket.
 *
 *   type: S3            # or FILESYSTEM (case-insensitive, as in Thanos)
 *   config: { ... }     # type-specific, unknown fields are errors (Thanos parses strictly)
 *   prefix: tenant-a    # optional: every key lives under this prefix
 *
 * Errors are ObjstoreConfigError (ERR_OBJSTORE_CONFIG) naming the field. Messages never repeat
 * values from the file, so a misplaced secret cannot leak through them.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { Bucket } from './bucket.js';
import { Fields, isPlain, ObjstoreConfigError, typeName } from './config-fields.js';
import { openFilesystemBucket } from './filesystem-open.js';
import { PrefixedBucket } from './prefixed.js';
import type { RetryPolicy, Sleep } from './retry.js';
import {
  DEFAULT_PART_SIZE,
  MIN_PART_SIZE,
  S3Bucket,
  type S3BucketOptions,
  type S3HttpOptions,
} from './s3.js';
import { Secret } from './secret.js';

export interface FilesystemConfig {
  type: 'FILESYSTEM';
  prefix: string;
  directory: string;
}

export interface S3TlsConfig {
  caFile?: string;
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
  /** Thanos fields accepted for compatibility but without effect here (for a startup log line). */
  ignoredFields: string[];
}

export type ObjstoreConfig = FilesystemConfig | S3Config;

export const SUPPORTED_TYPES = ['FILESYSTEM', 'S3'] as const;

/** Other Thanos providers: recognised so the error says "not supported" instead of "unknown". */
const THANOS_TYPES = ['GCS', 'AZURE', 'SWIFT', 'COS', 'ALIYUNOSS', 'BOS', 'OCI', 'OBS'];

const S3_IGNORED = [
  'signature_version2',
  'trace',
  'list_objects_version',
  'send_content_md5',
  'disable_dualstack',
  'sts_endpoint',
];

/** Parses the YAML text of a Thanos objstore config. `source` names it in errors. */
export function parseObjstoreConfig(text: string, source = 'objstore config'): ObjstoreConfig {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const yamlErr = doc.errors[0];
  if (yamlErr) {
    // The yaml library's own message quotes the offending line, which may hold a secret.
    const offset = Math.min(yamlErr.pos[0], text.length);
    const before = text.slice(0, offset);
    const line = before.split('\n').length;
    const where = ` at line ${line}, column ${offset - before.lastIndexOf('\n')}`;
    throw new ObjstoreConfigError(source, '', `invalid YAML${where} (${yamlErr.code})`);
  }
  const root: unknown = doc.toJS();
  if (root === undefined || root === null) throw new ObjstoreConfigError(source, '', 'is empty');
  if (!isPlain(root))
    throw new ObjstoreConfigError(source, '', `expected a mapping, got a ${typeName(root)}`);
  const top = new Fields(root, '', source);
  const rawType = top.requiredStr('type');
  const type = rawType.toUpperCase();
  const prefix = top.str('prefix') ?? '';
  const conf = top.sub('config');
  top.rejectUnknown();

  if (type === 'FILESYSTEM') {
    const directory = conf.requiredStr('directory');
    conf.rejectUnknown();
    return { type: 'FILESYSTEM', prefix, directory };
  }
  if (type === 'S3') return parseS3(conf, prefix);
  if (THANOS_TYPES.includes(type)) {
    throw top.error('type', `${type} is not supported by Strata (supported: ${SUPPORTED_TYPES.join(', ')})`);
  }
  throw top.error('type', `unknown bucket type (supported: ${SUPPORTED_TYPES.join(', ')})`);
}

function parseS3(c: Fields, prefix: string): S3Config {
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
  const sse = c.sub('sse_config');
  if (sse.str('type')) throw sse.error('type', 'server-side encryption is not supported yet');
  sse.accept(['kms_key_id', 'kms_encryption_context', 'encryption_key']);
  sse.rejectUnknown();
  const listVersion = c.str('list_objects_version');
  if (listVersion !== undefined && listVersion !== '' && listVersion !== 'v1' && listVersion !== 'v2') {
    throw c.error('list_objects_version', "expected 'v1' or 'v2'");
  }

  const h = c.sub('http_config');
  const tls = h.sub('tls_config');
  const http: S3HttpConfig = {
    idleConnTimeoutMs: h.durationMs('idle_conn_timeout'),
    responseHeaderTimeoutMs: h.durationMs('response_header_timeout'),
    insecureSkipVerify: h.bool('insecure_skip_verify'),
    maxConnsPerHost: h.int('max_conns_per_host') || undefined,
    tls: {
      caFile: tls.str('ca_file') || undefined,
      certFile: tls.str('cert_file') || undefined,
      keyFile: tls.str('key_file') || undefined,
      serverName: tls.str('server_name') || undefined,
      insecureSkipVerify: tls.bool('insecure_skip_verify'),
    },
  };
  tls.rejectUnknown();
  const ignored = h.accept([
    'tls_handshake_timeout',
    'expect_continue_timeout',
    'max_idle_conns',
    'max_idle_conns_per_host',
    'disable_compression',
  ]);
  h.rejectUnknown();
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
    ignoredFields: ignored,
  };
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

export interface ConfigSource {
  /** --objstore.config-file */
  file?: string;
  /** --objstore.config (inline YAML) */
  inline?: string;
}

/** Reads the config from exactly one of a file or an inline string. */
export async function loadObjstoreConfig(src: ConfigSource): Promise<ObjstoreConfig> {
  const hasFile = src.file !== undefined && src.file !== '';
  const hasInline = src.inline !== undefined && src.inline !== '';
  if (hasFile && hasInline) {
    throw new ObjstoreConfigError(
      'objstore config',
      '',
      'give either a config file or an inline config, not both',
    );
  }
  if (hasInline) return parseObjstoreConfig(src.inline as string, 'inline objstore config');
  if (!hasFile) throw new ObjstoreConfigError('objstore config', '', 'no config file or inline config given');
  let text: string;
  try {
    text = await readFile(src.file as string, 'utf8');
  } catch (err) {
    throw new ObjstoreConfigError(src.file as string, '', `cannot read: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return parseObjstoreConfig(text, src.file);
}

export interface CreateBucketDeps {
  /**
   * FILESYSTEM only: create the directory when it does not exist (commands that write, when the
   * user asked for it). Without it a missing directory fails with ERR_OBJSTORE_CONFIG. S3 ignores it.
   */
  createIfMissing?: boolean;
  logger?: Logger;
  sleep?: Sleep;
  retry?: RetryPolicy;
  onRequest?: (command: string) => void;
}

async function readTlsFile(field: string, path: string | undefined): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new ObjstoreConfigError('objstore config', field, `cannot read ${path}: ${errorMessage(err)}`);
  }
}

/** The S3Bucket options for a parsed S3 config (reads TLS files named in it). */
export async function s3BucketOptions(config: S3Config): Promise<S3BucketOptions> {
  const t = config.http.tls;
  const http: S3HttpOptions = {
    ...(config.http.responseHeaderTimeoutMs !== undefined
      ? { requestTimeoutMs: config.http.responseHeaderTimeoutMs }
      : {}),
    ...(config.http.idleConnTimeoutMs !== undefined ? { idleTimeoutMs: config.http.idleConnTimeoutMs } : {}),
    ...(config.http.maxConnsPerHost !== undefined ? { maxSockets: config.http.maxConnsPerHost } : {}),
    insecureSkipVerify: config.http.insecureSkipVerify || t.insecureSkipVerify,
  };
  const ca = await readTlsFile('config.http_config.tls_config.ca_file', t.caFile);
  const cert = await readTlsFile('config.http_config.tls_config.cert_file', t.certFile);
  const key = await readTlsFile('config.http_config.tls_config.key_file', t.keyFile);
  if (ca !== undefined) http.ca = ca;
  if (cert !== undefined) http.cert = cert;
  if (key !== undefined) http.key = new Secret(key);
  if (t.serverName !== undefined) http.serverName = t.serverName;
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
  };
}

/** A Bucket for a parsed config; wrapped in a PrefixedBucket when the config has a prefix. */
export async function createBucket(config: ObjstoreConfig, deps: CreateBucketDeps = {}): Promise<Bucket> {
  let bucket: Bucket;
  if (config.type === 'FILESYSTEM') {
    bucket = await openFilesystemBucket({
      directory: config.directory,
      ...(deps.createIfMissing !== undefined ? { createIfMissing: deps.createIfMissing } : {}),
    });
  } else {
    if (config.ignoredFields.length > 0) {
      deps.logger?.warn('objstore config fields without effect in Strata', { fields: config.ignoredFields });
    }
    const options = await s3BucketOptions(config);
    if (deps.retry) options.retry = deps.retry;
    bucket = new S3Bucket(options, {
      ...(deps.logger ? { logger: deps.logger } : {}),
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
      ...(deps.onRequest ? { onRequest: deps.onRequest } : {}),
    });
  }
  return config.prefix.replace(/\//g, '') === '' ? bucket : new PrefixedBucket(bucket, config.prefix);
}
