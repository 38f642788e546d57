/**
 * A candidate in its own process, so tests can SIGKILL or SIGSTOP the process that holds
 * leadership. Run with vite-node (vitest's TypeScript runner, see candidates.ts):
 *
 *   node node_modules/vite-node/vite-node.mjs test/ha/candidate.ts '<CandidateConfig JSON>'
 *
 * Campaigns again after every lost term until SIGTERM (then closes, which resigns). Prints one
 * JSON line per event on stdout; `at` is wall-clock ms, comparable across processes:
 *   ready | elected {epoch} | lost {epoch, reason} | act {epoch} (every 50 ms while isLeader())
 *   | error {message} | closed
 */
import { createEtcdElection } from '../../src/ha/etcd.js';
import { createLogger } from '../../src/util/logger.js';

export interface CandidateConfig {
  endpoints: string[];
  prefix: string;
  id: string;
  address: string;
  ttlSeconds: number;
  callTimeoutMs?: number;
  tickMs?: number;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as CandidateConfig;
const emit = (fields: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ ...fields, id: cfg.id, at: fields.at ?? Date.now() })}\n`);
};

const election = createEtcdElection({
  endpoints: cfg.endpoints,
  prefix: cfg.prefix,
  id: cfg.id,
  address: cfg.address,
  ttlSeconds: cfg.ttlSeconds,
  ...(cfg.callTimeoutMs !== undefined ? { callTimeoutMs: cfg.callTimeoutMs } : {}),
  logger: createLogger({ level: 'debug' }).child({ candidate: cfg.id }),
});
election.onLost((e) => emit({ ev: 'lost', epoch: e.epoch, reason: e.reason }));

const stopping = new AbortController();
process.once('SIGTERM', () => stopping.abort());

// `at` is read before the check: if the process is frozen in between, the act is dated before
// the freeze, and the check after the thaw sees the passed deadline.
const ticker = setInterval(() => {
  const at = Date.now();
  const term = election.term();
  if (term !== undefined) emit({ ev: 'act', epoch: term.epoch, at });
}, cfg.tickMs ?? 50);

emit({ ev: 'ready' });
while (!stopping.signal.aborted) {
  try {
    const term = await election.campaign(stopping.signal);
    emit({ ev: 'elected', epoch: term.epoch });
    await new Promise<void>((resolve) => {
      term.signal.addEventListener('abort', () => resolve(), { once: true });
      stopping.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } catch (err) {
    if (stopping.signal.aborted) break;
    emit({ ev: 'error', message: String(err) });
    await new Promise((r) => setTimeout(r, 200));
  }
}
clearInterval(ticker);
await election.close();
emit({ ev: 'closed' });
process.exit(0);
