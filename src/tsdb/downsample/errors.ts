/** A downsampling input that cannot be downsampled: names the block and the series. */
import { StrataError, errorCode, errorMessage, type ErrorCode } from '../../util/errors.js';

export class DownsampleInputError extends StrataError {
  readonly block: string;
  readonly series: string | undefined;

  constructor(code: ErrorCode, block: string, series: string | undefined, detail: string, cause?: unknown) {
    super(code, `downsample: block ${block}${series ? ` series ${series}` : ''}: ${detail}`, { cause });
    this.block = block;
    this.series = series;
  }

  /** Wraps an error met while reading `block` (keeps a TSDB format error's code). */
  static wrap(err: unknown, block: string, series: string | undefined): DownsampleInputError {
    if (err instanceof DownsampleInputError) return err;
    const code = errorCode(err);
    const known =
      code !== undefined && (code.startsWith('ERR_TSDB_') || code === 'ERR_DOWNSAMPLE_UNSUPPORTED')
        ? (code as ErrorCode)
        : 'ERR_TSDB_CORRUPT';
    return new DownsampleInputError(known, block, series, errorMessage(err), err);
  }
}
