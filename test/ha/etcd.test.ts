/**
 * The etcd election against one real etcd member: the shared conformance suite, the key layout,
 * fencing, and the local step-down of a leader whose etcd stops answering.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import type { LostEvent } from '../../src/ha/election.js';
import { createEtcdElection, type EtcdElection, type EtcdElectionOptions } from '../../src/ha/etcd.js';
import { redactEndpoint } from '../../src/util/etcd-client.js';
import { createLogger } from '../../src/util/logger.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { startEtcd, type EtcdCluster } from '../services/etcd.js';
import { electionConformance, waitUntil, whenAborted } from './conformance.js';

let etcd: EtcdCluster;
let prefixes = 0;
const prefix = (name: string): string => `/strata-test/${process.pid}/${name}-${++prefixes}/`;

beforeAll(async () => {
  etcd = await startEtcd({ members: 1 });
});

afterAll(async () => {
  await etcd?.stop();
  await assertNoLeakedProcesses();
});

function election(opts: Partial<EtcdElectionOptions> & { prefix: string; id: string }): EtcdElection {
  return createEtcdElection({
    endpoints: etcd.endpoints,
    address: `${opts.id}.test:10901`,
    ttlSeconds: 3,
    ...opts,
  });
}

electionConformance('etcd', () => ({
  multi: true,
  candidate: (group, id) => election({ prefix: `/strata-test/${group}/`, id }),
}));

describe('etcd election', () => {
  it('publishes the address as the value of a key named by id and lease, readable by other tools', async () => {
    const p = prefix('layout');
    const e = election({ prefix: p, id: 'planner/1', address: '10.0.0.7:10901' });
    const client = new Etcd3({ hosts: etcd.endpoints });
    try {
      const term = await e.campaign();
      const kvs = await client.getAll().prefix(p).exec();
      expect(kvs.kvs).toHaveLength(1);
      const kv = kvs.kvs[0]!;
      expect(kv.key.toString()).toMatch(new RegExp(`^${p}planner%2F1/[0-9a-f]+$`));
      expect(kv.value.toString()).toBe('10.0.0.7:10901');
      expect(Number(kv.create_revision)).toBe(term.epoch);
      expect(kv.lease).not.toBe('0');
      expect(await e.leader()).toEqual({ id: 'planner/1', address: '10.0.0.7:10901', epoch: term.epoch });
      await e.resign();
      expect((await client.getAll().prefix(p).exec()).kvs).toHaveLength(0);
    } finally {
      client.close();
      await e.close();
    }
  });

  it('speaks the same recipe as etcd3’s Election/Campaign: mixed candidates share one election', async () => {
    const name = `interop-${process.pid}-${++prefixes}`;
    const e = election({ prefix: `election/${name}/`, id: 'ours', address: 'ours:1' });
    const client = new Etcd3({ hosts: etcd.endpoints });
    try {
      // Ours leads; etcd3's reader sees our address; etcd3's campaign waits behind us.
      const term = await e.campaign();
      expect(await client.election(name).leader()).toBe('ours:1');
      const theirs = client.election(name, 3).campaign('theirs:1');
      let theirsElected = false;
      theirs.on('elected', () => (theirsElected = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(theirsElected).toBe(false);
      await e.resign();
      await waitUntil(() => theirsElected, 2000);
      // Theirs leads; we read it and wait behind it, with a higher epoch once it resigns.
      const info = await e.leader();
      expect(info?.address).toBe('theirs:1');
      expect(info!.epoch).toBeGreaterThan(term.epoch);
      const ours = e.campaign();
      await new Promise((r) => setTimeout(r, 300));
      expect(e.isLeader()).toBe(false);
      await theirs.resign();
      expect((await ours).epoch).toBeGreaterThan(info!.epoch);
    } finally {
      client.close();
      await e.close();
    }
  });

  it('fencedTxn writes only while the term holds', async () => {
    const p = prefix('fence');
    const e = election({ prefix: p, id: 'f' });
    const client = new Etcd3({ hosts: etcd.endpoints });
    try {
      const term = await e.campaign();
      const res = await e.fencedTxn(client.put(`${p}data`).value(`epoch-${term.epoch}`));
      expect(res.succeeded).toBe(true);
      expect(await client.get(`${p}data`).string()).toBe(`epoch-${term.epoch}`);
      // Someone removes the leader key behind our back (an operator, or the lease expired).
      const lost: LostEvent[] = [];
      e.onLost((ev) => lost.push(ev));
      await client
        .delete()
        .key((await client.getAll().prefix(`${p}f/`).keys())[0]!)
        .exec();
      await expect(e.fencedTxn(client.put(`${p}data`).value('late'))).rejects.toMatchObject({
        code: 'ERR_HA_NOT_LEADER',
      });
      expect(await client.get(`${p}data`).string()).toBe(`epoch-${term.epoch}`);
      expect(lost).toEqual([{ epoch: term.epoch, reason: 'fenced-out' }]);
      expect(e.isLeader()).toBe(false);
      await expect(e.fence()).rejects.toMatchObject({ code: 'ERR_HA_NOT_LEADER' });
    } finally {
      client.close();
      await e.close();
    }
  });

  it('rejects timings that leave no room for a keep-alive retry before stepping down', () => {
    expect(() => election({ prefix: prefix('bad'), id: 'x', ttlSeconds: 1 })).toThrow(/timings/);
    expect(() => election({ prefix: prefix('bad'), id: 'x', ttlSeconds: 0 })).toThrow(/TTL/);
    expect(() => election({ prefix: '/', id: 'x' })).toThrow(/prefix/);
  });

  it('never logs credentials', async () => {
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb): void {
        out += chunk.toString();
        cb();
      },
    });
    const e = election({
      prefix: prefix('creds'),
      id: 'c',
      endpoints: ['http://user:hunter2@127.0.0.1:1'],
      auth: { username: 'root', password: 'hunter2-secret' },
      logger: createLogger({ level: 'debug', out: sink }),
    });
    await e.close();
    expect(out).toContain('http://127.0.0.1:1');
    expect(out).not.toContain('hunter2');
    expect(redactEndpoint('https://a:b@etcd-0:2379')).toBe('https://etcd-0:2379');
  });

  it('a leader whose etcd stops answering steps down before its lease can expire', async () => {
    const p = prefix('stepdown');
    const e = election({ prefix: p, id: 'cut' });
    const lost: { ev: LostEvent; at: number }[] = [];
    e.onLost((ev) => lost.push({ ev, at: performance.now() }));
    const term = await e.campaign();
    // Let a keep-alive land, then freeze the only member.
    await new Promise((r) => setTimeout(r, 1200));
    const frozenAt = performance.now();
    await etcd.members[0]!.kill('SIGSTOP');
    try {
      await whenAborted(term.signal);
      const after = performance.now() - frozenAt;
      expect(lost.map((l) => l.ev.reason)).toEqual(['step-down']);
      // Last confirmed keep-alive was sent at most 1 s (TTL/3) before the freeze; the lease
      // cannot expire before it + 3 s; the default margin is 600 ms.
      expect(after).toBeLessThan(3000 - 600 + 400);
      expect(after).toBeGreaterThan(3000 - 600 - 1000 - 100);
      expect(e.isLeader()).toBe(false);
      // Calls fail fast while the member is frozen.
      const t0 = performance.now();
      await expect(e.leader()).rejects.toMatchObject({ code: 'ERR_HA_UNAVAILABLE' });
      expect(performance.now() - t0).toBeLessThan(1500);
    } finally {
      await etcd.members[0]!.kill('SIGCONT');
      await e.close();
    }
  });
});
