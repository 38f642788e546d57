/**
 * The ring on a three-member etcd cluster that loses its raft leader: heartbeats resume within
 * seconds (every call has a deadline), nobody turns unhealthy for long, and instances can still
 * join and leave.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RingClient } from '../../src/ring/client.js';
import { instancesOf } from '../../src/ring/model.js';
import { startEtcd, type EtcdCluster } from '../services/etcd.js';
import { assertNoLeakedProcesses, waitFor } from '../support/processes.js';
import { Closer, etcdKv, freshRingKey, lifecycler, testLogger } from './support.js';

let etcd: EtcdCluster;
const closer = new Closer();

beforeAll(async () => {
  etcd = await startEtcd({ members: 3 });
});

afterAll(async () => {
  await closer.closeAll();
  await etcd?.stop();
  await assertNoLeakedProcesses();
});

describe('ring on a 3-member etcd', () => {
  it('keeps heartbeating when etcd’s raft leader is SIGKILLed; joins and leaves still work', async () => {
    const key = freshRingKey();
    const opts = { heartbeatPeriodMs: 500, heartbeatTimeoutMs: 10_000 };
    const ls = ['a', 'b', 'c'].map((id) =>
      lifecycler(closer, { kv: etcdKv(closer, etcd.endpoints, 1000), ringKey: key, instanceId: id, ...opts }),
    );
    await Promise.all(ls.map((l) => l.start()));
    const client = new RingClient({
      kv: etcdKv(closer, etcd.endpoints, 1000),
      key,
      heartbeatTimeoutMs: 10_000,
      pollIntervalMs: 500,
      logger: testLogger,
    });
    closer.add(() => client.stop());
    await client.start();

    const victim = await etcd.raftLeader();
    expect(victim).toBeDefined();
    const killedAt = Date.now();
    await victim!.kill('SIGKILL');

    const read = etcdKv(closer, etcd.endpoints, 1000);
    await waitFor(
      'heartbeats after the kill',
      async () => {
        const desc = await read.get(key).catch(() => undefined);
        if (desc === undefined) return undefined;
        const after = instancesOf(desc).filter((m) => m.heartbeatSec * 1000 > killedAt + 1000);
        return after.length === 3 ? true : undefined;
      },
      20_000,
      200,
    );
    console.info(`all three heartbeating again ${Date.now() - killedAt} ms after the kill`);
    expect(
      client
        .ring()
        .healthyInstances()
        .map((i) => i.id),
    ).toEqual(['a', 'b', 'c']);

    const d = lifecycler(closer, {
      kv: etcdKv(closer, etcd.endpoints, 1000),
      ringKey: key,
      instanceId: 'd',
      ...opts,
    });
    await d.start();
    await ls[0]!.stop();
    await waitFor(
      'client sees b, c, d',
      async () =>
        client
          .ring()
          .healthyInstances()
          .map((i) => i.id)
          .join() === 'b,c,d'
          ? true
          : undefined,
      10_000,
      100,
    );
    await victim!.restart();
  });
});
