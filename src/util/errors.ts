/**
 * Error classes with a stable `code`, so callers decide (retry, mark, report) from a table of
 * codes instead of parsing messages.
 */

export type ErrorCode =
  // Bad or inconsistent bytes in a TSDB file.
  | 'ERR_TSDB_BAD_MAGIC'
  | 'ERR_TSDB_BAD_VERSION'
  | 'ERR_TSDB_CHECKSUM'
  | 'ERR_TSDB_TRUNCATED'
  | 'ERR_TSDB_CORRUPT'
  | 'ERR_TSDB_UNKNOWN_ENCODING'
  | 'ERR_TSDB_OUT_OF_ORDER'
  | 'ERR_TSDB_OVERLAP'
  | 'ERR_TSDB_BAD_META'
  // Compaction inputs that cannot be merged.
  | 'ERR_COMPACT_INCOMPATIBLE'
  // Caller mistakes.
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_NOT_FOUND'
  // The local machine: a file system call failed (permission, not a directory, disk full...).
  | 'ERR_IO'
  // A listen address cannot be bound (in use, not local, no permission).
  | 'ERR_LISTEN'
  // TLS flags that do not fit together, or a certificate/key file that cannot be read or parsed.
  | 'ERR_TLS_CONFIG'
  // The web configuration file of --http.config (exporter-toolkit format) cannot be used.
  | 'ERR_WEB_CONFIG'
  // etcd refused the credentials (--etcd.username/--etcd.password-file) or the user's permissions.
  | 'ERR_ETCD_AUTH'
  // The TLS handshake with etcd failed: its certificate is not trusted, or it refused ours.
  | 'ERR_ETCD_TLS'
  // Anything else: a bug. The CLI reports it with this code instead of a stack trace.
  | 'ERR_INTERNAL'
  // Object storage.
  | 'ERR_OBJSTORE_NOT_FOUND'
  | 'ERR_OBJSTORE_TRANSIENT'
  | 'ERR_OBJSTORE_PERMANENT'
  | 'ERR_OBJSTORE_CONFIG'
  // The TLS handshake with the object store failed (untrusted certificate, wrong name, client
  // certificate refused): a setup problem, never retried.
  | 'ERR_OBJSTORE_TLS'
  // Blocks in a bucket.
  | 'ERR_BLOCK_BAD_MARKER'
  | 'ERR_BLOCK_UPLOAD'
  | 'ERR_BLOCK_DOWNLOAD'
  | 'ERR_BLOCK_BAD_INDEX'
  // A complete block (meta.json present) whose other files are missing or of the wrong size.
  | 'ERR_BLOCK_INCOMPLETE'
  // Leader election (src/ha).
  | 'ERR_HA_NOT_LEADER'
  | 'ERR_HA_UNAVAILABLE'
  | 'ERR_HA_ABORTED'
  | 'ERR_HA_CLOSED'
  // Hash ring (src/ring).
  // etcd unreachable or a call past its deadline.
  | 'ERR_RING_UNAVAILABLE'
  // The value under the ring key does not decode (not snappy, not a ring.Desc).
  | 'ERR_RING_CORRUPT'
  // Compare-and-swap lost to other writers on every retry.
  | 'ERR_RING_CONFLICT'
  // Another live process registers under the same instance ID.
  | 'ERR_RING_INSTANCE_ID_IN_USE'
  | 'ERR_RING_ABORTED'
  | 'ERR_RING_CLOSED'
  // Querier (src/query): every member of a store group failed and partial responses are off.
  | 'ERR_QUERY_GROUP_FAILED'
  // The metadata fetcher's local metas file (beside its checkpoint) is damaged: discarded.
  | 'ERR_FETCHER_BAD_METAS_FILE'
  // Downsampling (src/tsdb/downsample): input Strata cannot downsample (a histogram aggregate not
  // representable in one chunk).
  | 'ERR_DOWNSAMPLE_UNSUPPORTED'
  // Store gateway: a Series request asked for an aggregate a downsampled chunk does not hold.
  | 'ERR_STORE_AGGREGATE_MISSING';

export interface StrataErrorOptions {
  cause?: unknown;
}

export class StrataError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: StrataErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad bytes in a file: names the file and the byte offset where reading went wrong. */
export class FormatError extends StrataError {
  readonly file: string;
  readonly offset: number;
  readonly detail: string;

  constructor(code: ErrorCode, file: string, offset: number, detail: string, options?: StrataErrorOptions) {
    super(code, `${file} at offset ${offset}: ${detail}`, options);
    this.file = file;
    this.offset = offset;
    this.detail = detail;
  }
}

export class InvalidArgumentError extends StrataError {
  constructor(message: string, options?: StrataErrorOptions) {
    super('ERR_INVALID_ARGUMENT', message, options);
  }
}

/** Thanos' wording for a LabelValues request without a label name (clients match on it). */
export const EMPTY_LABEL_NAME = 'label name parameter cannot be empty';

export function isStrataError(err: unknown): err is StrataError {
  return err instanceof StrataError;
}

/** The `code` of any error (ours, or a Node system error such as ENOENT), without casts at call sites. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** The error and its causes, outermost first (`cause` links; cycles and absurd depths cut off). */
export function causeChain(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e: unknown = err; e !== undefined && e !== null && out.length < 32;) {
    if (out.includes(e)) break;
    out.push(e);
    e = e instanceof Error ? e.cause : undefined;
  }
  return out;
}

/**
 * The codes along the cause chain, outermost first: a wrapper (a block download error, say) keeps
 * its own code while the decision (retry, mark the block) usually depends on a cause's.
 */
export function codeChain(err: unknown): string[] {
  const out: string[] = [];
  for (const e of causeChain(err)) {
    const c = errorCode(e);
    if (c !== undefined) out.push(c);
  }
  return out;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
