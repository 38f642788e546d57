/** The leader-change stream behind Election.observe(), for any backend that can read the leader. */
import type { Logger } from '../util/logger.js';
import { errorMessage } from '../util/errors.js';
import { sameLeader, sleep, type LeaderInfo } from './election.js';
import type { Notifier } from './notifier.js';

export interface LeaderSource {
  read(): Promise<LeaderInfo | undefined>;
  /** Notified when the leader may have changed. */
  changes: Notifier;
  /** Re-read at least this often even without a notification (covers a stalled watch). */
  recheckMs: number;
  /** Pause after a failed read. */
  retryMs: number;
  logger: Logger;
  signal: AbortSignal;
}

/** Yields the current leader, then each change; read errors are logged and retried. */
export async function* observeLeader(src: LeaderSource): AsyncGenerator<LeaderInfo | undefined, void> {
  let first = true;
  let last: LeaderInfo | undefined;
  while (!src.signal.aborted) {
    const since = src.changes.current;
    let cur: LeaderInfo | undefined;
    try {
      cur = await src.read();
    } catch (err) {
      src.logger.debug('reading the leader failed; retrying', { err: errorMessage(err) });
      await sleep(src.retryMs, src.signal);
      continue;
    }
    if (src.signal.aborted) return;
    if (first || !sameLeader(cur, last)) {
      first = false;
      last = cur;
      yield cur;
    }
    await src.changes.wait(since, src.recheckMs, src.signal);
  }
}
