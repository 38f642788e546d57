/** A compaction input that cannot be compacted: names the block and the series. */
import { StrataError, errorCode, errorMessage, type ErrorCode } from '../../util/errors.js';

export class CompactionInputError extends StrataError {
  readonly block: string;
  readonly series: string | undefined;

  constructor(code: ErrorCode, block: string, series: string | undefined, detail: string, cause?: unknown) {
    super(code, `block ${block}${series ? ` series ${series}` : ''}: ${detail}`, { cause });
    this.block = block;
    this.series = series;
  }

  /** Wraps an error met while reading `block` (keeps a StrataError's code). */
  static wrap(err: unknown, block: string, series: string | undefined): CompactionInputError {
    if (err instanceof CompactionInputError) return err;
    const code = errorCode(err);
    const known =
      code !== undefined && code.startsWith('ERR_TSDB_') ? (code as ErrorCode) : 'ERR_TSDB_CORRUPT';
    return new CompactionInputError(known, block, series, errorMessage(err), err);
  }
}
