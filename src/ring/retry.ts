/** Waiting and retrying while etcd is unreachable, abortable. */
import { StrataError, codeChain, errorMessage } from '../util/errors.js';
import type { Logger } from '../util/logger.js';

export function abortedError(reason: unknown): StrataError {
  return new StrataError('ERR_RING_ABORTED', `ring: aborted (${errorMessage(reason ?? 'no reason')})`, {
    cause: reason,
  });
}

/** Resolves after `ms`, or rejects with ERR_RING_ABORTED when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) return reject(abortedError(signal.reason));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortedError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface RetryOptions {
  /** Give up after this long (ERR_RING_UNAVAILABLE with the last cause). */
  timeoutMs: number;
  signal?: AbortSignal;
  logger: Logger;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Runs `fn` until it succeeds, retrying with backoff only while the failure is etcd being
 * unreachable (ERR_RING_UNAVAILABLE in the cause chain) or a compare-and-swap lost to other
 * writers too often (ERR_RING_CONFLICT: many instances starting at once); any other error ends it
 * at once.
 */
export async function retryWhileUnavailable<T>(
  what: string,
  fn: () => Promise<T>,
  opts: RetryOptions,
): Promise<T> {
  const started = performance.now();
  let delay = opts.initialDelayMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    if (opts.signal?.aborted === true) throw abortedError(opts.signal.reason);
    try {
      return await fn();
    } catch (err) {
      const codes = codeChain(err);
      if (!codes.includes('ERR_RING_UNAVAILABLE') && !codes.includes('ERR_RING_CONFLICT')) throw err;
      const elapsed = performance.now() - started;
      if (elapsed + delay > opts.timeoutMs) {
        const conflict = !codes.includes('ERR_RING_UNAVAILABLE');
        throw new StrataError(
          conflict ? 'ERR_RING_CONFLICT' : 'ERR_RING_UNAVAILABLE',
          `${what}: ${conflict ? 'lost every compare-and-swap' : 'etcd unreachable'} for ` +
            `${(elapsed / 1000).toFixed(1)} s over ${attempt} attempts; last error: ${errorMessage(err)}`,
          { cause: err },
        );
      }
      opts.logger.warn(`${what} failed; retrying`, {
        err: errorMessage(err),
        attempt,
        retryMs: Math.round(delay),
      });
      await sleep(delay, opts.signal);
      delay = Math.min(delay * 2, opts.maxDelayMs ?? 5000);
    }
  }
}
