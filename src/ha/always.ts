/**
 * The single-node backend: this candidate is the leader as soon as it campaigns. Epoch 1 for
 * the first term and one more for every later term of this process (there is no other process
 * that could hold a term, so nothing needs to survive a restart).
 */
import { StrataError } from '../util/errors.js';
import { nopLogger, type Logger } from '../util/logger.js';
import {
  NotLeaderError,
  monotonicClock,
  type Clock,
  type Election,
  type LeaderInfo,
  type LostEvent,
  type Term,
  type Unsubscribe,
} from './election.js';
import { Notifier } from './notifier.js';
import { observeLeader } from './observe.js';
import { TermTracker } from './term.js';

export interface AlwaysLeaderOptions {
  /** Published address (what NOT_LEADER replies would point to). */
  address: string;
  /** Default: the address. */
  id?: string;
  logger?: Logger;
  clock?: Clock;
}

export class AlwaysLeaderElection implements Election {
  readonly id: string;
  readonly address: string;
  private epoch = 0;
  private closed = false;
  private readonly changes = new Notifier();
  private readonly closing = new AbortController();
  private readonly tracker: TermTracker;
  private readonly logger: Logger;

  constructor(opts: AlwaysLeaderOptions) {
    this.address = opts.address;
    this.id = opts.id ?? opts.address;
    this.logger = (opts.logger ?? nopLogger).child({ component: 'election', backend: 'always' });
    this.tracker = new TermTracker(opts.clock ?? monotonicClock, this.logger, () => this.changes.notify());
  }

  campaign(signal?: AbortSignal): Promise<Term> {
    if (this.closed) return Promise.reject(closedError());
    if (signal?.aborted === true) {
      return Promise.reject(new StrataError('ERR_HA_ABORTED', 'campaign aborted', { cause: signal.reason }));
    }
    const current = this.tracker.term();
    if (current !== undefined) return Promise.resolve(current);
    this.epoch++;
    const term = this.tracker.begin({ id: this.id, address: this.address, epoch: this.epoch }, Infinity);
    this.logger.info('elected', { epoch: term.epoch });
    this.changes.notify();
    return Promise.resolve(term);
  }

  term(): Term | undefined {
    return this.tracker.term();
  }

  isLeader(): boolean {
    return this.tracker.term() !== undefined;
  }

  fence(): Promise<Term> {
    const term = this.tracker.term();
    if (term !== undefined) return Promise.resolve(term);
    return Promise.reject(this.closed ? closedError() : new NotLeaderError('not the leader'));
  }

  leader(): Promise<LeaderInfo | undefined> {
    if (this.closed) return Promise.reject(closedError());
    return Promise.resolve(this.published());
  }

  observe(signal?: AbortSignal): AsyncIterableIterator<LeaderInfo | undefined> {
    if (this.closed) throw closedError();
    return observeLeader({
      read: async () => this.published(),
      changes: this.changes,
      recheckMs: 60_000,
      retryMs: 1000,
      logger: this.logger,
      signal: signal === undefined ? this.closing.signal : AbortSignal.any([signal, this.closing.signal]),
    });
  }

  onLost(listener: (event: LostEvent) => void): Unsubscribe {
    return this.tracker.onLost(listener);
  }

  async resign(): Promise<void> {
    this.tracker.end('resigned');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.tracker.end('closed');
    this.closed = true;
    this.closing.abort();
    this.changes.notify();
  }

  private published(): LeaderInfo | undefined {
    const term = this.tracker.term();
    return term === undefined ? undefined : { id: term.id, address: term.address, epoch: term.epoch };
  }
}

export function createAlwaysLeaderElection(opts: AlwaysLeaderOptions): AlwaysLeaderElection {
  return new AlwaysLeaderElection(opts);
}

function closedError(): StrataError {
  return new StrataError('ERR_HA_CLOSED', 'election is closed');
}
