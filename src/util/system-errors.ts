/**
 * Node system errors (ENOENT, EACCES, EADDRINUSE...) as coded StrataErrors that say what failed
 * in words, keeping the system error as the cause. Node's own messages name the syscall
 * (`ENOENT: no such file or directory, scandir '/x'`), not what the user asked for.
 */
import { getSystemErrorMap } from 'node:util';
import { type ErrorCode, StrataError, causeChain, errorCode, errorMessage } from './errors.js';

/** What Node attaches to a failed system call. */
export interface SystemError extends Error {
  code: string;
  errno?: number;
  syscall?: string;
  path?: string;
  address?: string;
  port?: number;
}

export function isSystemError(err: unknown): err is SystemError {
  if (!(err instanceof Error) || !('syscall' in err)) return false;
  return /^E[A-Z0-9_]+$/.test(errorCode(err) ?? '');
}

/** The first system error along the cause chain. */
export function findSystemError(err: unknown): SystemError | undefined {
  return causeChain(err).find(isSystemError);
}

/** `no such file or directory`, `address already in use`... (lower case, no code, no path). */
export function systemErrorText(err: SystemError): string {
  const known = typeof err.errno === 'number' ? getSystemErrorMap().get(err.errno) : undefined;
  if (known !== undefined) return known[1];
  const m = /^[A-Z0-9_]+: ([^,]+)/.exec(err.message);
  return m?.[1] ?? err.message;
}

const LISTEN_CODES: ReadonlySet<string> = new Set(['EADDRINUSE', 'EADDRNOTAVAIL']);

/** The stable code for a system error: ERR_NOT_FOUND, ERR_LISTEN or ERR_IO. */
export function systemErrorCode(err: SystemError): ErrorCode {
  if (err.code === 'ENOENT') return 'ERR_NOT_FOUND';
  if (LISTEN_CODES.has(err.code) || err.syscall === 'listen' || err.syscall === 'bind') return 'ERR_LISTEN';
  return 'ERR_IO';
}

/**
 * `<what>: <text>` with the system error's code class; `what` defaults to the path or address the
 * call was about. Errors that are not system errors come back unchanged.
 */
export function fromSystemError(err: unknown, what?: string): unknown {
  const sys = findSystemError(err);
  if (sys === undefined) return err;
  const subject =
    what ?? sys.path ?? (sys.address !== undefined ? `${sys.address}:${sys.port}` : sys.syscall);
  return new StrataError(systemErrorCode(sys), `${subject}: ${systemErrorText(sys)}`, { cause: err });
}

/** A failed listen as ERR_LISTEN naming the flag and the address (`--http-address 0.0.0.0:10902`). */
export function listenError(err: unknown, flag: string, address: string): StrataError {
  const sys = findSystemError(err);
  const text = sys !== undefined ? systemErrorText(sys) : errorMessage(err);
  const hint = sys?.code === 'EADDRINUSE' ? ' (another process listens there; pick another port)' : '';
  return new StrataError('ERR_LISTEN', `${flag} ${address}: cannot listen: ${text}${hint}`, { cause: err });
}
