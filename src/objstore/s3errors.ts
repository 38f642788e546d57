/** Classifying errors from the AWS SDK (service answers and network failures) into ERR_OBJSTORE_* codes. */
import { errorCode, errorMessage, InvalidArgumentError } from '../util/errors.js';
import { isLocalFileSystemError, notFoundError, ObjstoreError, type ObjstoreErrorCode } from './errors.js';
import { redact } from './secret.js';

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/**
 * Node's codes for a failed TLS handshake: OpenSSL's certificate verification results
 * (UNABLE_TO_VERIFY_LEAF_SIGNATURE, SELF_SIGNED_CERT_IN_CHAIN, CERT_HAS_EXPIRED...), Node's own
 * (ERR_TLS_CERT_ALTNAME_INVALID) and alerts from the server (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED).
 */
const TLS_CODE =
  /^(ERR_TLS_|ERR_SSL_|UNABLE_TO_|CERT_|SELF_SIGNED_|DEPTH_ZERO_|HOSTNAME_MISMATCH|INVALID_CA)/;

/** A TLS failure: a setup problem (trust, names, client certificate) that retrying cannot fix. */
export function isTlsError(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && TLS_CODE.test(code);
}

/** S3 error codes that mean "try again later" (also used for per-key DeleteObjects errors). */
export const TRANSIENT_S3_CODES: ReadonlySet<string> = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
]);

const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** The fields of an SDK error we look at, read defensively (anything may be thrown). */
export interface SdkErrorShape {
  name: string;
  message: string;
  status: number | undefined;
  requestId: string | undefined;
  code: string | undefined;
}

export function sdkErrorShape(err: unknown): SdkErrorShape {
  const o: Record<string, unknown> =
    typeof err === 'object' && err !== null ? (err as Record<string, unknown>) : {};
  const meta =
    typeof o.$metadata === 'object' && o.$metadata !== null ? (o.$metadata as Record<string, unknown>) : {};
  return {
    name: typeof o.name === 'string' ? o.name : 'Error',
    message: errorMessage(err),
    status: typeof meta.httpStatusCode === 'number' ? meta.httpStatusCode : undefined,
    requestId: typeof meta.requestId === 'string' ? meta.requestId : undefined,
    code: errorCode(err),
  };
}

/**
 * NoSuchKey/404 → NOT_FOUND (NoSuchBucket is a setup problem: PERMANENT); throttling, 5xx,
 * network → TRANSIENT; local file-system errors (a body read from or written to disk) → PERMANENT.
 */
export function classifyS3Error(err: unknown): ObjstoreErrorCode {
  if (isLocalFileSystemError(err)) return 'ERR_OBJSTORE_PERMANENT';
  const e = sdkErrorShape(err);
  if (e.name === 'NoSuchKey' || e.name === 'NotFound' || (e.status === 404 && e.name !== 'NoSuchBucket')) {
    return 'ERR_OBJSTORE_NOT_FOUND';
  }
  if (
    (e.status !== undefined && TRANSIENT_STATUS.has(e.status)) ||
    TRANSIENT_S3_CODES.has(e.name) ||
    (e.code !== undefined && NETWORK_CODES.has(e.code))
  ) {
    return 'ERR_OBJSTORE_TRANSIENT';
  }
  return 'ERR_OBJSTORE_PERMANENT';
}

/** What an S3 bucket's error messages need to know about it. */
export interface S3ErrorContext {
  /** The bucket's name for messages ('s3:metrics'). */
  readonly name: string;
  readonly endpoint: string;
  /** Removed from every message. */
  readonly secrets: readonly string[];
}

/** An SDK failure as an ObjstoreError whose message and cause carry no credentials. */
export function s3ObjstoreError(
  ctx: S3ErrorContext,
  op: string,
  key: string | undefined,
  err: unknown,
): Error {
  if (err instanceof ObjstoreError || err instanceof InvalidArgumentError) return err;
  const e = sdkErrorShape(err);
  const code = classifyS3Error(err);
  if (code === 'ERR_OBJSTORE_NOT_FOUND' && key !== undefined) return notFoundError(ctx.name, op, key);
  const what = `${ctx.name}: ${op}${key !== undefined ? ` ${key}` : ''}`;
  // A plain summary as the cause: the SDK error can hold request details we do not want printed.
  const cause = { name: e.name, httpStatusCode: e.status, requestId: e.requestId, code: e.code };
  if (isTlsError(err)) {
    const message = `${what}: TLS with ${ctx.endpoint} failed: ${e.message} (${e.code}); see config.http_config.tls_config`;
    return new ObjstoreError('ERR_OBJSTORE_TLS', op, key, redact(message, ctx.secrets), { cause });
  }
  const status = e.status !== undefined ? ` (HTTP ${e.status})` : '';
  return new ObjstoreError(code, op, key, redact(`${what}: ${e.name}${status}: ${e.message}`, ctx.secrets), {
    cause,
  });
}
