/**
 * Waiting for a stable ring at start-up, as Cortex's `WaitRingStability`: poll the healthy
 * members (IDs, addresses, zones, tokens: everything but heartbeat times) every second; resolve
 * once they have not changed for `minDurationMs`, or after `maxDurationMs` anyway. Cortex's
 * compactor skips the wait when the min duration is 0; a max of 0 ends it at once (Cortex's
 * deadline of 0).
 */
import { abortedError, sleep } from './retry.js';

export interface StabilityOptions {
  /** Default 1 minute (Cortex's `-compactor.ring.wait-stability-min-duration`); 0 disables. */
  minDurationMs: number;
  /** Default 5 minutes (`-compactor.ring.wait-stability-max-duration`). */
  maxDurationMs: number;
  /** Default 1 s, as Cortex. */
  pollIntervalMs?: number;
  signal?: AbortSignal;
  /** Monotonic milliseconds (default performance.now). */
  now?: () => number;
}

export interface StabilityResult {
  /** False when the max duration ran out first (or the wait was disabled). */
  stable: boolean;
  waitedMs: number;
  /** Changes of the topology seen while waiting. */
  changes: number;
}

export const DEFAULT_STABILITY_MIN_MS = 60_000;
export const DEFAULT_STABILITY_MAX_MS = 5 * 60_000;

/**
 * `topology` returns the ownership fingerprint now (RingClient.topologyKey). Rejects only with
 * ERR_RING_ABORTED.
 */
export async function waitRingStability(
  topology: () => string,
  opts: StabilityOptions,
): Promise<StabilityResult> {
  const now = opts.now ?? (() => performance.now());
  const poll = opts.pollIntervalMs ?? 1000;
  const start = now();
  if (opts.signal?.aborted === true) throw abortedError(opts.signal.reason);
  if (opts.minDurationMs <= 0 || opts.maxDurationMs <= 0) {
    return { stable: opts.minDurationMs <= 0, waitedMs: 0, changes: 0 };
  }
  let last = topology();
  let lastChange = start;
  let changes = 0;
  for (;;) {
    const left = start + opts.maxDurationMs - now();
    if (left <= 0) return { stable: false, waitedMs: now() - start, changes };
    await sleep(Math.min(poll, left), opts.signal);
    const current = topology();
    const t = now();
    if (current !== last) {
      last = current;
      lastChange = t;
      changes++;
    } else if (t - lastChange >= opts.minDurationMs) {
      return { stable: true, waitedMs: t - start, changes };
    }
  }
}
