/** Object-storage errors: StrataError with one of the ERR_OBJSTORE_* codes. */
import { StrataError, errorCode, errorMessage, type ErrorCode } from '../util/errors.js';

export type ObjstoreErrorCode = Extract<
  ErrorCode,
  | 'ERR_OBJSTORE_NOT_FOUND'
  | 'ERR_OBJSTORE_TRANSIENT'
  | 'ERR_OBJSTORE_PERMANENT'
  | 'ERR_OBJSTORE_CONFIG'
  | 'ERR_OBJSTORE_TLS'
>;

export class ObjstoreError extends StrataError {
  /** The bucket operation that failed ('get', 'upload', ...). */
  readonly operation: string;
  readonly key: string | undefined;

  constructor(
    code: ObjstoreErrorCode,
    operation: string,
    key: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.operation = operation;
    this.key = key;
  }
}

export function notFoundError(bucket: string, operation: string, key: string): ObjstoreError {
  return new ObjstoreError(
    'ERR_OBJSTORE_NOT_FOUND',
    operation,
    key,
    `${bucket}: ${operation} ${key}: not found`,
  );
}

export function isObjstoreNotFound(err: unknown): boolean {
  return errorCode(err) === 'ERR_OBJSTORE_NOT_FOUND';
}

/** Codes of local file-system failures: the caller's disk or path, never the store; retrying cannot help. */
const LOCAL_FS_CODES: ReadonlySet<string> = new Set([
  'ENOENT',
  'EACCES',
  'EPERM',
  'EISDIR',
  'ENOTDIR',
  'ENOSPC',
  'EDQUOT',
  'EROFS',
  'EEXIST',
  'ENAMETOOLONG',
  'ELOOP',
  'EFBIG',
  'EXDEV',
]);

/** Socket syscalls that can also fail with EACCES/EPERM (a firewall): those are not local files. */
const SOCKET_SYSCALLS: ReadonlySet<string> = new Set(['connect', 'bind', 'listen', 'getaddrinfo']);

/**
 * Whether `err` is a local file-system error, judged by its own code and syscall rather than by
 * which stream it surfaced on (a failing write side also aborts the response it was reading).
 */
export function isLocalFileSystemError(err: unknown): boolean {
  const code = errorCode(err);
  if (code === undefined || !LOCAL_FS_CODES.has(code)) return false;
  const syscall = typeof err === 'object' && err !== null && 'syscall' in err ? err.syscall : undefined;
  return typeof syscall !== 'string' || !SOCKET_SYSCALLS.has(syscall);
}

/** A failure on the local side of uploadFile/downloadFile. Never NOT_FOUND: a missing local file must not look like a missing object. */
export function localFileError(op: string, key: string, localPath: string, err: unknown): ObjstoreError {
  return new ObjstoreError(
    'ERR_OBJSTORE_PERMANENT',
    op,
    key,
    `${op} ${key}: local file ${localPath}: ${errorMessage(err)}`,
    { cause: err },
  );
}
