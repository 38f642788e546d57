/**
 * What a failed plan means, decided from the error codes along the cause chain (never from
 * messages): a bad source block gets a no-compact mark and its group re-plans without it;
 * transient errors are retried later and never mark anything; anything else fails the plan for
 * this pass only.
 */
import { CompactionInputError } from '../tsdb/compact/errors.js';
import { DownsampleInputError } from '../tsdb/downsample/errors.js';
import { BlockDownloadError } from '../block/download.js';
import { isRetryable } from '../objstore/retry.js';
import { causeChain, codeChain, errorMessage } from '../util/errors.js';
import type { NoCompactReason } from '../tsdb/markers.js';

export type FailureClass =
  | { kind: 'bad-block'; block: string; reason: NoCompactReason; code: string; details: string }
  | { kind: 'transient'; code: string; details: string }
  | { kind: 'failed'; code: string; details: string };

/** Defects of a source block that no retry can cure, and the no-compact reason they get. */
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
  ['ERR_BLOCK_INCOMPLETE', 'critical'],
  ['ERR_DOWNSAMPLE_UNSUPPORTED', 'critical'],
]);

/** The source block an error is about: the first compaction or downsampling input or download along the chain. */
export function blockOfError(err: unknown): string | undefined {
  for (const e of causeChain(err)) {
    if (e instanceof CompactionInputError || e instanceof DownsampleInputError) return e.block;
    if (e instanceof BlockDownloadError) return e.blockId;
  }
  return undefined;
}

export function classifyFailure(err: unknown): FailureClass {
  const codes = codeChain(err);
  const code = codes[0] ?? '';
  const details = errorMessage(err);
  if (isRetryable(err)) return { kind: 'transient', code, details };
  let reason: NoCompactReason | undefined;
  for (const c of codes) {
    reason = BAD_BLOCK_CODES.get(c);
    if (reason !== undefined) break;
  }
  const block = reason === undefined ? undefined : blockOfError(err);
  if (reason !== undefined && block !== undefined) return { kind: 'bad-block', block, reason, code, details };
  return { kind: 'failed', code, details };
}
