/**
 * Which object-storage failures are worth retrying, decided from a table of error codes (ours and
 * Node's network/system codes), and a retry loop with exponential backoff and full jitter. Sleep,
 * clock and randomness are injected so tests run without waiting.
 */
import { codeChain } from '../util/errors.js';

/** true: retry; false: fail at once. Codes missing from the table are not retried. */
export const RETRYABLE_CODES: Readonly<Record<string, boolean>> = {
  ERR_OBJSTORE_TRANSIENT: true,
  ERR_OBJSTORE_NOT_FOUND: false,
  ERR_OBJSTORE_PERMANENT: false,
  ERR_OBJSTORE_CONFIG: false,
  ERR_OBJSTORE_TLS: false,
  ERR_INVALID_ARGUMENT: false,
  // Network errors that escaped mapping.
  ECONNRESET: true,
  ECONNREFUSED: true,
  ECONNABORTED: true,
  ETIMEDOUT: true,
  EPIPE: true,
  EAI_AGAIN: true,
  ENETUNREACH: true,
  EHOSTUNREACH: true,
  // Local resource exhaustion that clears up by itself.
  EMFILE: true,
  ENFILE: true,
  EAGAIN: true,
  EBUSY: true,
};

/**
 * Decided by the outermost error along the cause chain whose code is in the table: a wrapper
 * without an opinion (a block download error, say) never hides a transient cause, while an
 * explicit PERMANENT stays permanent whatever it wraps.
 */
export function isRetryable(err: unknown): boolean {
  for (const code of codeChain(err)) {
    const r = RETRYABLE_CODES[code];
    if (r !== undefined) return r;
  }
  return false;
}

export interface RetryPolicy {
  /** Total attempts including the first; 1 disables retries. */
  maxAttempts: number;
  /** Backoff cap for attempt n is min(maxDelayMs, baseDelayMs * 2^(n-1)); the delay is uniform in [0, cap]. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Give up when the next sleep would end later than this after the first attempt started. */
  maxElapsedMs?: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  maxAttempts: 6,
  baseDelayMs: 100,
  maxDelayMs: 5_000,
  maxElapsedMs: 60_000,
};

export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RetryHooks {
  now?: () => number;
  random?: () => number;
  /** Called before each sleep; for logs and metrics. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Overrides the table, e.g. to never retry a non-rewindable stream upload. */
  retryable?: (err: unknown) => boolean;
}

/** Backoff before retry number `attempt` (1 = the first retry), full jitter. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * cap);
}

/** Runs `fn` until it succeeds, fails with a non-retryable error, or the policy runs out. */
export async function withRetries<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  sleep: Sleep = realSleep,
  hooks: RetryHooks = {},
): Promise<T> {
  const now = hooks.now ?? Date.now;
  const random = hooks.random ?? Math.random;
  const retryable = hooks.retryable ?? isRetryable;
  const started = now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= policy.maxAttempts || !retryable(err)) throw err;
      const delay = backoffDelay(policy, attempt, random);
      if (policy.maxElapsedMs !== undefined && now() + delay - started > policy.maxElapsedMs) throw err;
      hooks.onRetry?.(err, attempt, delay);
      await sleep(delay);
    }
  }
}
