/**
 * Leadership as the planner acts on it: polled from the election (src/ha) on every message and
 * tick, and cut into terms. A term starts when this planner becomes leader or the epoch changes,
 * with a grace period in which no plan is handed out (reconnecting workers first report what they
 * still run), and ends when leadership is lost or a new epoch begins.
 */

/** What the planner needs to know about leader election (src/ha implements it). */
export interface LeadershipView {
  isLeader(): boolean;
  /** Increases with every new leadership term; stamped on every plan handed out. */
  epoch(): number;
  /** host:port of the current leader's planner service, if known. */
  leaderAddress(): string | undefined;
}

export interface Term {
  /** Local sequence number of the term (streams remember the term they were opened in). */
  readonly id: number;
  readonly epoch: number;
  readonly graceUntil: number;
}

export interface TermHooks {
  /** A term began (after the previous one, if any, ended). */
  begin(term: Term): void;
  /** The term ended: leadership lost (`newEpoch` undefined) or a new epoch is about to begin. */
  end(old: Term, newEpoch: number | undefined): void;
}

export class LeadershipGate {
  private term: Term | undefined;
  private terms = 0;
  private graceLogged = false;

  constructor(
    private readonly view: LeadershipView,
    private readonly graceMs: number,
    private readonly now: () => number,
    private readonly hooks: TermHooks,
  ) {}

  /** The current term after asking the election; undefined when not leading. */
  sync(): Term | undefined {
    if (!this.view.isLeader()) {
      if (this.term !== undefined) this.endTerm(undefined);
      return undefined;
    }
    const epoch = this.view.epoch();
    if (this.term !== undefined && this.term.epoch === epoch) return this.term;
    if (this.term !== undefined) this.endTerm(epoch);
    this.term = { id: ++this.terms, epoch, graceUntil: this.now() + this.graceMs };
    this.graceLogged = this.graceMs <= 0;
    this.hooks.begin(this.term);
    return this.term;
  }

  /** The term as last synced (no election call). */
  get current(): Term | undefined {
    return this.term;
  }

  leaderAddress(): string | undefined {
    return this.view.leaderAddress();
  }

  /** True exactly once per term: the first call after its grace period ended. */
  graceJustEnded(now: number): boolean {
    if (this.term === undefined || this.graceLogged || now < this.term.graceUntil) return false;
    this.graceLogged = true;
    return true;
  }

  private endTerm(newEpoch: number | undefined): void {
    const old = this.term!;
    this.term = undefined;
    this.hooks.end(old, newEpoch);
  }
}
