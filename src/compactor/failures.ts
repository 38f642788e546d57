/**
 * What a failed plan means, decided from error codes (never from messages): a bad block gets a
 * no-compact mark and its group re-plans without it; transient errors are retried later and never
 * mark anything; anything else fails the plan for this pass only.
 */
import { CompactionInputError } from '../tsdb/compact/errors.js';
import { isRetryable } from '../objstore/retry.js';
import { errorCode, errorMessage } from '../util/errors.js';
import type { NoCompactReason } from '../block/markers.js';

export type FailureClass =
  | { kind: 'bad-block'; block: string; reason: NoCompactReason; details: string }
  | { kind: 'transient'; details: string }
  | { kind: 'failed'; details: string };

/** Input defects that make a block uncompactable whatever is retried. */
const BAD_BLOCK_CODES: ReadonlyMap<string, NoCompactReason> = new Map([
  ['ERR_TSDB_OUT_OF_ORDER', 'block-index-out-of-order-chunk'],
  ['ERR_TSDB_OVERLAP', 'block-index-out-of-order-chunk'],
  ['ERR_TSDB_CHECKSUM', 'critical'],
  ['ERR_TSDB_CORRUPT', 'critical'],
  ['ERR_TSDB_TRUNCATED', 'critical'],
  ['ERR_TSDB_BAD_MAGIC', 'critical'],
  ['ERR_TSDB_BAD_VERSION', 'critical'],
  ['ERR_TSDB_UNKNOWN_ENCODING', 'critical'],
  ['ERR_TSDB_BAD_META', 'critical'],
]);

/** `blockOf` maps an error without a block (e.g. a download error) to the block it concerns. */
export function classifyFailure(err: unknown, blockOf?: (err: unknown) => string | undefined): FailureClass {
  const code = errorCode(err) ?? '';
  const details = errorMessage(err);
  if (isRetryable(err)) return { kind: 'transient', details };
  const reason = BAD_BLOCK_CODES.get(code);
  const block = err instanceof CompactionInputError ? err.block : blockOf?.(err);
  if (reason && block) return { kind: 'bad-block', block, reason, details };
  return { kind: 'failed', details };
}
