/** The term bookkeeping and the notifier, with a hand-driven clock. */
import { describe, expect, it } from 'vitest';
import type { Clock, LostEvent } from '../../src/ha/election.js';
import { Notifier } from '../../src/ha/notifier.js';
import { TermTracker } from '../../src/ha/term.js';
import { nopLogger } from '../../src/util/logger.js';

function fakeClock(start = 0): Clock & { t: number } {
  const c = { t: start, now: () => c.t };
  return c;
}

describe('TermTracker', () => {
  it('ends the term on the first check after its deadline, without waiting for a timer', () => {
    const clock = fakeClock(1000);
    const ended: LostEvent[] = [];
    const tracker = new TermTracker(clock, nopLogger, (ev) => ended.push(ev));
    const lost: LostEvent[] = [];
    tracker.onLost((ev) => lost.push(ev));
    const term = tracker.begin({ id: 'a', address: 'a:1', epoch: 7 }, 1000 + 5000);
    clock.t = 5999;
    expect(tracker.term()).toBe(term);
    expect(tracker.remainingMs()).toBe(1);
    // As after a SIGSTOP: the clock jumped past the deadline, no timer has run yet.
    clock.t = 6000;
    expect(tracker.term()).toBeUndefined();
    expect(term.signal.aborted).toBe(true);
    expect(ended).toEqual([{ epoch: 7, reason: 'step-down' }]);
    expect(lost).toEqual([{ epoch: 7, reason: 'step-down' }]);
    expect(tracker.remainingMs()).toBe(0);
    tracker.end('resigned'); // no term: no second event
    expect(lost).toHaveLength(1);
  });

  it('extends only forward and only the same epoch', () => {
    const clock = fakeClock();
    const tracker = new TermTracker(clock, nopLogger);
    const term = tracker.begin({ id: 'a', address: 'a:1', epoch: 3 }, 100);
    tracker.extend(3, 50);
    tracker.extend(4, 1000);
    clock.t = 100;
    expect(tracker.term()).toBeUndefined();
    const next = tracker.begin({ id: 'a', address: 'a:1', epoch: 9 }, 200);
    tracker.extend(9, 300);
    clock.t = 250;
    expect(tracker.term()).toBe(next);
    expect(term.signal.aborted).toBe(true);
    tracker.end('resigned', undefined, 8); // another epoch: ignored
    expect(tracker.term()).toBe(next);
    tracker.end('resigned');
  });

  it('steps down by timer when nobody checks', async () => {
    const tracker = new TermTracker({ now: () => performance.now() }, nopLogger);
    const term = tracker.begin({ id: 'a', address: 'a:1', epoch: 1 }, performance.now() + 30);
    await new Promise((r) => term.signal.addEventListener('abort', r, { once: true }));
    expect(tracker.term()).toBeUndefined();
  });

  it('a throwing listener does not stop the others', () => {
    const tracker = new TermTracker(fakeClock(), nopLogger);
    const seen: string[] = [];
    tracker.onLost(() => {
      throw new Error('boom');
    });
    const off = tracker.onLost(() => seen.push('second'));
    tracker.begin({ id: 'a', address: 'a:1', epoch: 1 }, Infinity);
    tracker.end('resigned');
    off();
    tracker.begin({ id: 'a', address: 'a:1', epoch: 2 }, Infinity);
    tracker.end('resigned');
    expect(seen).toEqual(['second']);
  });
});

describe('Notifier', () => {
  it('never misses a change between read and wait', async () => {
    const n = new Notifier();
    const since = n.current;
    n.notify(); // lands "during the read"
    const t0 = performance.now();
    await n.wait(since, 10_000);
    expect(performance.now() - t0).toBeLessThan(50);
  });

  it('wakes waiters, times out, and stops on abort', async () => {
    const n = new Notifier();
    const woken = n.wait(n.current, 10_000);
    n.notify();
    await woken;
    const t0 = performance.now();
    await n.wait(n.current, 30);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    const ctl = new AbortController();
    const aborted = n.wait(n.current, 10_000, ctl.signal);
    ctl.abort();
    await aborted;
  });
});
