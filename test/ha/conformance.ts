/**
 * The behaviour every Election backend shares, run by each backend's test file. Candidates made
 * with the same `group` take part in the same election; every test uses a fresh group (for
 * etcd: its own key prefix).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  notLeaderError,
  type Election,
  type LeaderInfo,
  type LostEvent,
  type Term,
} from '../../src/ha/election.js';
import { errorCode } from '../../src/util/errors.js';

export interface ConformanceBackend {
  /** Makes a candidate of the election `group`. */
  candidate(group: string, id: string): Election;
  /** Whether several candidates can share an election (false for always-leader). */
  readonly multi: boolean;
}

let groups = 0;

export function electionConformance(name: string, backend: () => ConformanceBackend): void {
  describe(`Election conformance: ${name}`, () => {
    const made: Election[] = [];
    const group = (): string => `${name}-${process.pid}-${Date.now()}-${++groups}`;
    const candidate = (g: string, id: string): Election => {
      const e = backend().candidate(g, id);
      made.push(e);
      return e;
    };

    // Tests that need several candidates exist only for backends that have them (not skipped).
    const describeMulti: (title: string, fn: () => void) => void = backend().multi
      ? (title, fn) => describe(title, fn)
      : () => undefined;

    afterEach(async () => {
      await Promise.all(made.splice(0).map((e) => e.close()));
    });

    it('campaign makes a lone candidate leader; leader(), term(), fence() agree', async () => {
      const e = candidate(group(), 'solo');
      const term = await e.campaign();
      expect(term.id).toBe('solo');
      expect(term.address).toBe(e.address);
      expect(Number.isSafeInteger(term.epoch) && term.epoch > 0).toBe(true);
      expect(term.signal.aborted).toBe(false);
      expect(e.isLeader()).toBe(true);
      expect(e.term()).toBe(term);
      expect(await e.leader()).toEqual({ id: 'solo', address: e.address, epoch: term.epoch });
      expect((await e.fence()).epoch).toBe(term.epoch);
      // Campaigning again while leading returns the same term.
      expect(await e.campaign()).toBe(term);
    });

    it('resign ends the term: signal aborted, onLost fired, isLeader false, fence rejects', async () => {
      const e = candidate(group(), 'r');
      const lost: LostEvent[] = [];
      e.onLost((ev) => lost.push(ev));
      const term = await e.campaign();
      await e.resign();
      expect(term.signal.aborted).toBe(true);
      expect(errorCode(term.signal.reason)).toBe('ERR_HA_NOT_LEADER');
      expect(lost).toEqual([{ epoch: term.epoch, reason: 'resigned' }]);
      expect(e.isLeader()).toBe(false);
      expect(e.term()).toBeUndefined();
      await expect(e.fence()).rejects.toMatchObject({ code: 'ERR_HA_NOT_LEADER' });
      expect(await e.leader()).toBeUndefined();
    });

    it('epoch strictly increases across terms', async () => {
      const e = candidate(group(), 'terms');
      const epochs: number[] = [];
      for (let i = 0; i < 3; i++) {
        epochs.push((await e.campaign()).epoch);
        await e.resign();
      }
      expect(epochs[1]).toBeGreaterThan(epochs[0]!);
      expect(epochs[2]).toBeGreaterThan(epochs[1]!);
    });

    it('campaign with an aborted signal rejects with ERR_HA_ABORTED', async () => {
      const e = candidate(group(), 'aborted');
      const ctl = new AbortController();
      ctl.abort();
      await expect(e.campaign(ctl.signal)).rejects.toMatchObject({ code: 'ERR_HA_ABORTED' });
      expect(e.isLeader()).toBe(false);
    });

    it('observe yields the current leader, then each change', async () => {
      const e = candidate(group(), 'obs');
      const ctl = new AbortController();
      const it = e.observe(ctl.signal);
      expect((await it.next()).value).toBeUndefined();
      const term = await e.campaign();
      expect((await it.next()).value).toEqual({ id: 'obs', address: e.address, epoch: term.epoch });
      await e.resign();
      expect((await it.next()).value).toBeUndefined();
      ctl.abort();
      expect((await it.next()).done).toBe(true);
    });

    it('close ends the term with reason closed; later calls reject ERR_HA_CLOSED', async () => {
      const e = candidate(group(), 'closing');
      const lost: LostEvent[] = [];
      e.onLost((ev) => lost.push(ev));
      const term = await e.campaign();
      await e.close();
      await e.close(); // idempotent
      expect(term.signal.aborted).toBe(true);
      expect(lost.map((l) => l.reason)).toEqual(['closed']);
      await expect(e.campaign()).rejects.toMatchObject({ code: 'ERR_HA_CLOSED' });
      await expect(e.leader()).rejects.toMatchObject({ code: 'ERR_HA_CLOSED' });
      await expect(e.fence()).rejects.toMatchObject({ code: 'ERR_HA_CLOSED' });
    });

    describeMulti('several candidates', () => {
      it('exactly one leader among N, then each resign hands over in < 1 s', async () => {
        for (let round = 0; round < 3; round++) {
          const g = group();
          const cs = ['a', 'b', 'c'].map((id) => candidate(g, id));
          const terms = new Map<Election, Term>();
          const pending = cs.map((c) => c.campaign().then((t) => void terms.set(c, t)));
          let lastEpoch = 0;
          for (let k = 0; k < cs.length; k++) {
            const t0 = performance.now();
            await Promise.race(pending.filter((_, i) => !terms.has(cs[i]!) || cs[i]!.isLeader()));
            await waitUntil(() => terms.size > k);
            const elapsed = performance.now() - t0;
            // Let any wrong second leader show itself.
            await new Promise((r) => setTimeout(r, 150));
            const leaders = cs.filter((c) => c.isLeader());
            expect(leaders).toHaveLength(1);
            const leader = leaders[0]!;
            const term = terms.get(leader)!;
            expect(term.epoch).toBeGreaterThan(lastEpoch);
            lastEpoch = term.epoch;
            const published = await cs[(cs.indexOf(leader) + 1) % cs.length]!.leader();
            expect(published).toEqual({ id: leader.id, address: leader.address, epoch: term.epoch });
            if (k > 0) expect(elapsed).toBeLessThan(1000);
            await leader.resign();
          }
          await Promise.all(pending);
        }
      });

      it('followers see the leader and its address, and observe changes', async () => {
        const g = group();
        const a = candidate(g, 'lead');
        const b = candidate(g, 'follow');
        const ctl = new AbortController();
        const seen = b.observe(ctl.signal);
        expect((await seen.next()).value).toBeUndefined();
        const ta = await a.campaign();
        const info: LeaderInfo = { id: 'lead', address: a.address, epoch: ta.epoch };
        expect((await seen.next()).value).toEqual(info);
        expect(await b.leader()).toEqual(info);
        const reply = await notLeaderError(b);
        expect(reply.code).toBe('ERR_HA_NOT_LEADER');
        expect(reply.leader).toEqual(info);
        expect(reply.message).toContain(a.address);
        const pendingB = b.campaign();
        await a.resign();
        const tb = await pendingB;
        expect(tb.epoch).toBeGreaterThan(ta.epoch);
        expect((await seen.next()).value).toEqual({ id: 'follow', address: b.address, epoch: tb.epoch });
        expect(await a.leader()).toEqual({ id: 'follow', address: b.address, epoch: tb.epoch });
        ctl.abort();
      });

      it('a waiting campaign stops on its signal or on resign', async () => {
        const g = group();
        const a = candidate(g, 'holder');
        const b = candidate(g, 'waiter');
        const ta = await a.campaign();
        const ctl = new AbortController();
        const waiting = b.campaign(ctl.signal);
        await new Promise((r) => setTimeout(r, 200));
        ctl.abort(new Error('test'));
        await expect(waiting).rejects.toMatchObject({ code: 'ERR_HA_ABORTED' });
        const again = b.campaign().catch((err: unknown) => err);
        await new Promise((r) => setTimeout(r, 200));
        await b.resign();
        expect(await again).toMatchObject({ code: 'ERR_HA_ABORTED' });
        expect(a.isLeader()).toBe(true);
        expect(await b.leader()).toEqual({ id: 'holder', address: a.address, epoch: ta.epoch });
        // A cancelled candidate left nothing behind: once the holder resigns, nobody leads.
        await a.resign();
        expect(await b.leader()).toBeUndefined();
      });
    });
  });
}

export async function waitUntil(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Resolves when `signal` aborts (at once if it already has). */
export function whenAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
