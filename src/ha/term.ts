/**
 * Bookkeeping of this candidate's current term, shared by the backends: the term's AbortSignal,
 * the local step-down deadline and its timer, and the onLost listeners.
 */
import type { Logger } from '../util/logger.js';
import {
  NotLeaderError,
  type Clock,
  type LeaderInfo,
  type LostEvent,
  type LostReason,
  type Term,
  type Unsubscribe,
} from './election.js';

interface Current {
  readonly term: Term;
  readonly controller: AbortController;
  validUntil: number;
  timer: NodeJS.Timeout | undefined;
}

export class TermTracker {
  private current: Current | undefined;
  private readonly listeners = new Set<(event: LostEvent) => void>();

  /** `onEnd` runs first on every loss (the backend stops keep-alives and hands over). */
  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly onEnd: (event: LostEvent) => void = () => {},
  ) {}

  /** Starts a term that may act until `validUntil` (clock ms; Infinity: no deadline). */
  begin(info: LeaderInfo, validUntil: number): Term {
    if (this.current !== undefined) this.end('resigned');
    const controller = new AbortController();
    const term: Term = {
      id: info.id,
      address: info.address,
      epoch: info.epoch,
      signal: controller.signal,
    };
    this.current = { term, controller, validUntil, timer: undefined };
    this.arm();
    return term;
  }

  /** Moves the deadline of the term with this epoch forward (never back). */
  extend(epoch: number, validUntil: number): void {
    const cur = this.current;
    if (cur === undefined || cur.term.epoch !== epoch || validUntil <= cur.validUntil) return;
    cur.validUntil = validUntil;
    this.arm();
  }

  /** The current term, ending it first if its deadline has passed. */
  term(): Term | undefined {
    const cur = this.current;
    if (cur === undefined) return undefined;
    if (this.clock.now() >= cur.validUntil) {
      this.end('step-down');
      return undefined;
    }
    return cur.term;
  }

  /** Remaining ms before the local deadline (0 when not leading). */
  remainingMs(): number {
    const cur = this.current;
    return cur === undefined ? 0 : Math.max(0, cur.validUntil - this.clock.now());
  }

  /** Ends the current term (no-op without one). Returns the event, if a term ended. */
  end(reason: LostReason, error?: unknown, epoch?: number): LostEvent | undefined {
    const cur = this.current;
    if (cur === undefined || (epoch !== undefined && cur.term.epoch !== epoch)) return undefined;
    this.current = undefined;
    if (cur.timer !== undefined) clearTimeout(cur.timer);
    const event: LostEvent =
      error === undefined ? { epoch: cur.term.epoch, reason } : { epoch: cur.term.epoch, reason, error };
    const log = reason === 'resigned' || reason === 'closed' ? this.logger.info : this.logger.warn;
    log.call(this.logger, 'leadership ended', { epoch: cur.term.epoch, reason });
    cur.controller.abort(new NotLeaderError(`leadership of epoch ${cur.term.epoch} ended: ${reason}`));
    this.onEnd(event);
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (err) {
        this.logger.error('onLost listener threw', { err: String(err) });
      }
    }
    return event;
  }

  onLost(listener: (event: LostEvent) => void): Unsubscribe {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private arm(): void {
    const cur = this.current;
    if (cur === undefined) return;
    if (cur.timer !== undefined) clearTimeout(cur.timer);
    cur.timer = undefined;
    if (!Number.isFinite(cur.validUntil)) return;
    // A late timer is harmless: term()/isLeader() compare against the clock themselves.
    cur.timer = setTimeout(
      () => {
        cur.timer = undefined;
        if (this.current === cur) {
          if (this.clock.now() >= cur.validUntil) this.end('step-down');
          else this.arm();
        }
      },
      Math.max(0, cur.validUntil - this.clock.now()),
    );
  }
}
