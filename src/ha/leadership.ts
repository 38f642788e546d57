/**
 * A long-running candidate: campaigns, holds the term until it ends, campaigns again; and keeps
 * the published leader cached (from observe()) so followers can name it synchronously, e.g. in
 * NOT_LEADER answers. What the planner service polls on every message.
 */
import { errorCode, errorMessage } from '../util/errors.js';
import { nopLogger, type Logger } from '../util/logger.js';
import { sleep, type Election, type LeaderInfo } from './election.js';

export interface Candidacy {
  /** Local and synchronous (see Election.isLeader). */
  isLeader(): boolean;
  /** The epoch of this candidate's current term; 0 when not leading. */
  epoch(): number;
  /** host:port of the current leader as published (this candidate's own while it leads). */
  leaderAddress(): string | undefined;
  /** The current leader as last observed. */
  leader(): LeaderInfo | undefined;
  /** Stops campaigning and observing, resigns (the next candidate takes over at once). */
  stop(): Promise<void>;
}

export interface CandidacyOptions {
  readonly logger?: Logger;
  /** Pause between a lost term and the next campaign. Default 1000 ms. */
  readonly recampaignDelayMs?: number;
}

export function startCandidacy(election: Election, opts: CandidacyOptions = {}): Candidacy {
  const log = opts.logger ?? nopLogger;
  const ac = new AbortController();
  let observed: LeaderInfo | undefined;

  const campaigning = (async () => {
    while (!ac.signal.aborted) {
      try {
        const term = await election.campaign(ac.signal);
        log.info('elected leader', { epoch: term.epoch, id: term.id });
        await new Promise<void>((resolve) => {
          if (term.signal.aborted || ac.signal.aborted) return resolve();
          term.signal.addEventListener('abort', () => resolve(), { once: true });
          ac.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        if (!ac.signal.aborted)
          log.warn('leadership lost', { epoch: term.epoch, reason: errorMessage(term.signal.reason) });
      } catch (err) {
        if (ac.signal.aborted) return;
        log.warn('campaign failed; retrying', { code: errorCode(err), err: errorMessage(err) });
      }
      await sleep(opts.recampaignDelayMs ?? 1000, ac.signal);
    }
  })();

  const observing = (async () => {
    try {
      for await (const l of election.observe(ac.signal)) {
        if (l?.address !== observed?.address || l?.epoch !== observed?.epoch) {
          log.info(
            'leader observed',
            l ? { leader: l.id, address: l.address, epoch: l.epoch } : { leader: 'none' },
          );
        }
        observed = l;
      }
    } catch (err) {
      if (!ac.signal.aborted) log.warn('observing the leader ended', { err: errorMessage(err) });
    }
  })();

  return {
    isLeader: () => election.isLeader(),
    epoch: () => (election.isLeader() ? (election.term()?.epoch ?? 0) : 0),
    leaderAddress: () => (election.isLeader() ? election.address : observed?.address),
    leader: () => observed,
    async stop(): Promise<void> {
      ac.abort();
      await election.resign().catch(() => undefined);
      await Promise.all([campaigning, observing]);
    },
  };
}
