/** What block verification reports. */
import { isStrataError, errorMessage } from '../../util/errors.js';

export interface BlockProblem {
  severity: 'error' | 'warning';
  /** Stable kind: an index problem kind, an error code, or a verify-specific kind. */
  kind: string;
  message: string;
}

export function problemFromError(err: unknown, prefix?: string): BlockProblem {
  const message = prefix === undefined ? errorMessage(err) : `${prefix}: ${errorMessage(err)}`;
  return { severity: 'error', kind: isStrataError(err) ? err.code : 'ERR_IO', message };
}
