/**
 * How the CLI reports a failure: exactly one line on stderr with a stable code,
 * `strata: ERR_X: message` (or one JSON object with --log.format json); exit code 2 for usage
 * errors (ERR_INVALID_ARGUMENT), 1 for everything else.
 */
import { StrataError, causeChain, errorMessage, isStrataError } from '../util/errors.js';
import { fromSystemError } from '../util/system-errors.js';
import type { LogFormat, Logger } from '../util/logger.js';

/**
 * The error as reported: a StrataError as is; a wrapper around one keeps its own message with
 * the inner code; a Node system error (ENOENT, EACCES...) gets its class's code; anything else is
 * ERR_INTERNAL, a bug.
 */
export function toStrataError(err: unknown): StrataError {
  if (isStrataError(err)) return err;
  const inner = causeChain(err).find(isStrataError);
  if (inner !== undefined) return new StrataError(inner.code, errorMessage(err), { cause: err });
  const sys = fromSystemError(err);
  if (isStrataError(sys)) return sys;
  return new StrataError('ERR_INTERNAL', `unexpected error: ${errorMessage(err)}`, { cause: err });
}

export function exitCodeFor(err: StrataError): number {
  return err.code === 'ERR_INVALID_ARGUMENT' ? 2 : 1;
}

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

export interface ErrorOutput {
  format: LogFormat;
  /** Writes the JSON form, and the stack of an unexpected error at debug level. */
  logger: Logger;
  /** Where the text form goes (stderr). */
  write(line: string): void;
}

/** Reports `err` on one line; `hint` (e.g. ` (see strata tsdb ls --help)`) follows usage errors. */
export function reportError(err: StrataError, out: ErrorOutput, hint = ''): void {
  const message = oneLine(errorMessage(err)) + (exitCodeFor(err) === 2 ? hint : '');
  const root = causeChain(err).at(-1);
  if (err.code === 'ERR_INTERNAL' && root instanceof Error && root.stack !== undefined) {
    out.logger.debug('stack of the unexpected error', { stack: root.stack });
  }
  if (out.format === 'json') out.logger.error(message, { code: err.code });
  else out.write(`strata: ${err.code}: ${message}\n`);
}
