/**
 * NEXTs the planner holds (long poll, `Next.max_wait_ms`) while no plan can run, oldest first:
 * answered with a plan as soon as one can run, or with NO_PLAN when their wait runs out. A held
 * NEXT costs nothing while it waits, where an answered NO_PLAN costs a round trip per retry.
 */
import type { Session } from './session.js';

interface Held {
  readonly session: Session;
  /** Answer NO_PLAN at this time (planner clock) if no plan came. */
  readonly until: number;
}

export class HeldNexts {
  private entries: Held[] = [];

  get size(): number {
    return this.entries.length;
  }

  add(session: Session, until: number): void {
    session.heldNexts++;
    this.entries.push({ session, until });
  }

  /** The oldest held NEXT of an open stream (those of closed streams are dropped on the way). */
  peek(): Session | undefined {
    for (;;) {
      const e = this.entries[0];
      if (e === undefined) return undefined;
      if (!e.session.closed && !e.session.out.isClosed) return e.session;
      this.entries.shift();
      e.session.heldNexts--;
    }
  }

  /** Takes the oldest held NEXT of an open stream out; undefined when none is left. */
  shift(): Session | undefined {
    const s = this.peek();
    if (s !== undefined) {
      this.entries.shift();
      s.heldNexts--;
    }
    return s;
  }

  /** Held NEXTs (of open streams) whose wait ran out at `now`, taken out, oldest first. */
  expired(now: number): Session[] {
    const out: Session[] = [];
    if (this.entries.length === 0) return out;
    const keep: Held[] = [];
    for (const e of this.entries) {
      const gone = e.session.closed || e.session.out.isClosed;
      if (!gone && e.until > now) {
        keep.push(e);
        continue;
      }
      e.session.heldNexts--;
      if (!gone) out.push(e.session);
    }
    this.entries = keep;
    return out;
  }

  /** Every held NEXT of an open stream, taken out, oldest first. */
  takeAll(): Session[] {
    return this.expired(Infinity);
  }

  /** A new term: the streams of the old one are gone. */
  clear(): void {
    for (const e of this.entries) e.session.heldNexts--;
    this.entries = [];
  }
}
