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
import { readFile, stat } from 'node:fs/promises';
import { warnIfWorldReadableMode } from '../util/secret-file.js';
import { parseDocument } from 'yaml';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { Bucket } from './bucket.js';
import { Fields, isPlain, ObjstoreConfigError, typeName } from './config-fields.js';
import { openFilesystemBucket } from './filesystem-open.js';
import { PrefixedBucket } from './prefixed.js';
import type { RetryPolicy, Sleep } from './retry.js';
import { parseS3, s3BucketOptions, type S3Config } from './config-s3.js';
import { S3Bucket } from './s3.js';

export { s3BucketOptions } from './config-s3.js';
export type { S3Config, S3HttpConfig, S3SseConfig, S3TlsConfig } from './config-s3.js';

export interface FilesystemConfig {
  type: 'FILESYSTEM';
  prefix: string;
  directory: string;
}

export type ObjstoreConfig = FilesystemConfig | S3Config;

export const SUPPORTED_TYPES = ['FILESYSTEM', 'S3'] as const;

/** Other Thanos providers: recognised so the error says "not supported" instead of "unknown". */
const THANOS_TYPES = ['GCS', 'AZURE', 'SWIFT', 'COS', 'ALIYUNOSS', 'BOS', 'OCI', 'OBS'];

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

export interface ConfigSource {
  /** --objstore.config-file */
  file?: string;
  /** --objstore.config (inline YAML) */
  inline?: string;
}

/** A config that holds a credential (S3 secret or session key). */
function holdsSecret(c: ObjstoreConfig): boolean {
  return c.type === 'S3' && (c.secretKey !== undefined || c.sessionToken !== undefined);
}

/**
 * Reads the config from exactly one of a file or an inline string. A credential in a file every
 * user can read, or on the command line (visible in `ps`), is reported through `logger`.
 */
export async function loadObjstoreConfig(src: ConfigSource, logger?: Logger): Promise<ObjstoreConfig> {
  const hasFile = src.file !== undefined && src.file !== '';
  const hasInline = src.inline !== undefined && src.inline !== '';
  if (hasFile && hasInline) {
    throw new ObjstoreConfigError(
      'objstore config',
      '',
      'give either a config file or an inline config, not both',
    );
  }
  if (hasInline) {
    const c = parseObjstoreConfig(src.inline as string, 'inline objstore config');
    if (holdsSecret(c)) {
      logger?.warn(
        'objstore credentials given on the command line are visible to every user (ps); use --objstore.config-file',
        {
          flag: '--objstore.config',
        },
      );
    }
    return c;
  }
  if (!hasFile) throw new ObjstoreConfigError('objstore config', '', 'no config file or inline config given');
  let text: string;
  let mode: number;
  try {
    [text, mode] = await Promise.all([
      readFile(src.file as string, 'utf8'),
      stat(src.file as string).then((st) => st.mode),
    ]);
  } catch (err) {
    throw new ObjstoreConfigError(src.file as string, '', `cannot read: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  const c = parseObjstoreConfig(text, src.file);
  if (holdsSecret(c))
    warnIfWorldReadableMode(mode, 'secret file', { what: '--objstore.config-file', file: src.file }, logger);
  return c;
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
    const options = await s3BucketOptions(config, deps.logger);
    if (deps.retry) options.retry = deps.retry;
    bucket = new S3Bucket(options, {
      ...(deps.logger ? { logger: deps.logger } : {}),
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
      ...(deps.onRequest ? { onRequest: deps.onRequest } : {}),
    });
  }
  return config.prefix.replace(/\//g, '') === '' ? bucket : new PrefixedBucket(bucket, config.prefix);
}
