import { describe, expect, it } from 'vitest';
import { AlwaysLeaderElection, createAlwaysLeaderElection } from '../../src/ha/always.js';
import { createElection } from '../../src/ha/create.js';
import { EtcdElection } from '../../src/ha/etcd.js';
import { runAsLeader, type Term } from '../../src/ha/election.js';
import { electionConformance } from './conformance.js';

electionConformance('always', () => ({
  multi: false,
  candidate: (_group, id) => createAlwaysLeaderElection({ id, address: `${id}.local:10901` }),
}));

describe('always-leader election', () => {
  it('first term has epoch 1, id defaults to the address', async () => {
    const e = createAlwaysLeaderElection({ address: '127.0.0.1:10901' });
    expect(e.id).toBe('127.0.0.1:10901');
    expect(await e.leader()).toBeUndefined();
    expect((await e.campaign()).epoch).toBe(1);
    await e.close();
  });

  it('runAsLeader runs the work per term, campaigns again after a loss, resigns on stop', async () => {
    const e = createAlwaysLeaderElection({ address: 'x:1' });
    const terms: Term[] = [];
    const ctl = new AbortController();
    await runAsLeader(
      e,
      async (term) => {
        terms.push(term);
        // First term: lost (resigned); second: the loop is stopped.
        setTimeout(() => (terms.length === 1 ? void e.resign() : ctl.abort()), 10);
        await new Promise((r) => {
          term.signal.addEventListener('abort', r, { once: true });
          ctl.signal.addEventListener('abort', r, { once: true });
        });
      },
      { signal: ctl.signal, recampaignDelayMs: 10 },
    );
    expect(terms.map((t) => t.epoch)).toEqual([1, 2]);
    expect(terms[1]!.signal.aborted).toBe(true);
    expect(e.isLeader()).toBe(false);
    await e.close();
  });
});

describe('createElection', () => {
  it('picks always-leader without endpoints', async () => {
    const e = createElection({ prefix: '/strata/x/', address: 'h:1' });
    expect(e).toBeInstanceOf(AlwaysLeaderElection);
    expect((await e.campaign()).epoch).toBe(1);
    await e.close();
    const f = createElection({ prefix: '/strata/x/', address: 'h:1', endpoints: ['127.0.0.1:1'] });
    expect(f).toBeInstanceOf(EtcdElection);
    await f.close();
  });
});
