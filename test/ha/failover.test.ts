/**
 * Fail-over between candidates in separate processes (see candidates.ts) on a three-member etcd:
 * the leader's process SIGKILLed, SIGSTOPped, or cut off from etcd's quorum. Every candidate
 * prints each 50 ms tick at which it acted as leader; at no moment may two of them act, and
 * epochs must increase with time.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { startEtcd, type EtcdCluster } from '../services/etcd.js';
import type { CandidateConfig } from './candidate.js';
import { actIntervals, assertNoOverlap, startCandidate, type ChildCandidate } from './candidates.js';

const TTL_SECONDS = 3;
const TTL_MS = TTL_SECONDS * 1000;
const MARGIN_MS = 600; // the default for a 3 s TTL

let etcd: EtcdCluster;
let client: Etcd3;
let prefixes = 0;
let running: ChildCandidate[] = [];

beforeAll(async () => {
  etcd = await startEtcd({ members: 3 });
  client = new Etcd3({ hosts: etcd.endpoints });
});

afterEach(async () => {
  for (const c of running) {
    if (!c.proc.exited()) c.signal('SIGCONT');
  }
  await Promise.all(running.map((c) => c.stop()));
  running = [];
  for (const m of etcd.members) if (m.running()) await m.kill('SIGCONT');
});

afterAll(async () => {
  client?.close();
  await etcd?.stop();
  await assertNoLeakedProcesses();
});

function candidate(prefix: string, id: string, endpoints = etcd.endpoints): ChildCandidate {
  const cfg: CandidateConfig = { endpoints, prefix, id, address: `${id}:10901`, ttlSeconds: TTL_SECONDS };
  const c = startCandidate(cfg);
  running.push(c);
  return c;
}

/** Starts `a`, waits until it leads, then starts `b` and waits until b's key is in place. */
async function leaderAndFollower(
  name: string,
  endpointsA = etcd.endpoints,
  endpointsB = etcd.endpoints,
): Promise<{ a: ChildCandidate; b: ChildCandidate; epochA: number }> {
  const prefix = `/strata-test/${process.pid}/${name}-${++prefixes}/`;
  const a = candidate(prefix, 'a', endpointsA);
  const elected = await a.next((e) => e.ev === 'elected', 20_000);
  const b = candidate(prefix, 'b', endpointsB);
  const deadline = Date.now() + 20_000;
  while ((await client.getAll().prefix(prefix).keys()).length < 2) {
    if (Date.now() > deadline) throw new Error(`b never campaigned:\n${b.proc.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  // Let both run a few keep-alive rounds.
  await new Promise((r) => setTimeout(r, 500));
  return { a, b, epochA: elected.epoch! };
}

describe('fail-over between candidate processes', () => {
  it('leader process SIGKILLed: the follower leads within TTL + 2 s', async () => {
    const { a, b, epochA } = await leaderAndFollower('sigkill');
    const killedAt = Date.now();
    a.signal('SIGKILL');
    const elected = await b.next((e) => e.ev === 'elected', TTL_MS + 5000);
    const failover = elected.at - killedAt;
    console.info(`SIGKILL of the leader: follower elected after ${failover} ms (TTL ${TTL_MS} ms)`);
    expect(failover).toBeLessThan(TTL_MS + 2000);
    expect(elected.epoch).toBeGreaterThan(epochA);
    assertNoOverlap(actIntervals([a, b]));
  });

  it('leader process SIGSTOPped: it never acts after its step-down deadline, even once thawed', async () => {
    const { a, b, epochA } = await leaderAndFollower('sigstop');
    const stoppedAt = Date.now();
    a.signal('SIGSTOP');
    const elected = await b.next((e) => e.ev === 'elected', TTL_MS + 5000);
    console.info(`SIGSTOP of the leader: follower elected after ${elected.at - stoppedAt} ms`);
    // Keep b leading a while, then thaw a while b still leads.
    await b.next((e) => e.ev === 'act' && e.at > elected.at + 300, 5000);
    const thawedAt = Date.now();
    a.signal('SIGCONT');
    const lost = await a.next((e) => e.ev === 'lost' && e.epoch === epochA, 5000);
    expect(['step-down', 'lease-lost']).toContain(lost.reason);
    await new Promise((r) => setTimeout(r, 500));

    const actsOfA = a.events.filter((e) => e.ev === 'act' && e.epoch === epochA);
    expect(actsOfA.length).toBeGreaterThan(0);
    // Every act of a predates the freeze (an act dated later would be a second leader).
    expect(Math.max(...actsOfA.map((e) => e.at))).toBeLessThanOrEqual(stoppedAt + 60);
    expect(a.events.some((e) => e.ev === 'act' && e.at >= thawedAt)).toBe(false);
    expect(elected.epoch).toBeGreaterThan(epochA);
    assertNoOverlap(actIntervals([a, b]));
  });

  it('leader cut off from the quorum steps down before the follower is elected', async () => {
    const [m1, m2, m3] = etcd.members;
    const { a, b, epochA } = await leaderAndFollower(
      'cutoff',
      [m1!.clientUrl],
      [m2!.clientUrl, m3!.clientUrl],
    );
    const frozenAt = Date.now();
    await m1!.kill('SIGSTOP'); // a's only member: a can no longer reach etcd, b still can
    const lost = await a.next((e) => e.ev === 'lost' && e.epoch === epochA, TTL_MS + 2000);
    const elected = await b.next((e) => e.ev === 'elected', TTL_MS + 8000);
    console.info(
      `leader cut off: stepped down after ${lost.at - frozenAt} ms, ` +
        `follower elected after ${elected.at - frozenAt} ms (gap ${elected.at - lost.at} ms)`,
    );
    expect(lost.reason).toBe('step-down');
    expect(lost.at - frozenAt).toBeLessThanOrEqual(TTL_MS - MARGIN_MS + 400);
    expect(lost.at).toBeLessThan(elected.at);
    expect(elected.epoch).toBeGreaterThan(epochA);

    // Back in touch, a campaigns again, behind b.
    await m1!.kill('SIGCONT');
    await new Promise((r) => setTimeout(r, 1500));
    expect(a.events.some((e) => e.ev === 'elected' && e.epoch !== epochA)).toBe(false);
    assertNoOverlap(actIntervals([a, b]));
  });
});
