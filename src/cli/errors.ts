/** How the CLI reports a failure: one readable line with the error code; exit code 1 (2 for usage). */
import { CommanderError } from 'commander';
import { isStrataError, errorMessage } from '../util/errors.js';

export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) {
    // help and version exit 0; usage errors were already printed by commander.
    return err.exitCode === 0 ? 0 : 2;
  }
  if (isStrataError(err) && err.code === 'ERR_INVALID_ARGUMENT') return 2;
  return 1;
}

export function reportError(err: unknown): void {
  if (err instanceof CommanderError) return;
  const prefix = isStrataError(err) ? `${err.code}: ` : '';
  process.stderr.write(`strata: ${prefix}${errorMessage(err)}\n`);
}
