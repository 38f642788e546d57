/**
 * Waiting for a stable ring (Cortex's WaitRingStability) with short durations (min 1 s, max 3 s)
 * on a real ring that members keep joining, plus the edge cases on a fake topology.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RingClient } from '../../src/ring/client.js';
import { waitRingStability } from '../../src/ring/stability.js';
import { startEtcd, type EtcdCluster } from '../services/etcd.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { Closer, etcdKv, freshRingKey, lifecycler, testLogger } from './support.js';

let etcd: EtcdCluster;
const closer = new Closer();

beforeAll(async () => {
  etcd = await startEtcd();
});

afterAll(async () => {
  await closer.closeAll();
  await etcd?.stop();
  await assertNoLeakedProcesses();
});

const durations = { minDurationMs: 1000, maxDurationMs: 3000, pollIntervalMs: 100 };

async function ringClient(key: string): Promise<RingClient> {
  const c = new RingClient({
    kv: etcdKv(closer, etcd.endpoints),
    key,
    heartbeatTimeoutMs: 5000,
    logger: testLogger,
  });
  closer.add(() => c.stop());
  await c.start();
  return c;
}

/** Starts instance `id` after `delayMs`; resolves with the time it became ACTIVE. */
async function joinLater(key: string, id: string, delayMs: number, t0: number): Promise<number> {
  await new Promise((r) => setTimeout(r, delayMs));
  await lifecycler(closer, {
    kv: etcdKv(closer, etcd.endpoints),
    ringKey: key,
    instanceId: id,
    numTokens: 16,
  }).start();
  return performance.now() - t0;
}

describe('waitRingStability', () => {
  it('waits while members join, then resolves once the ring stayed the same for the min duration', async () => {
    const key = freshRingKey();
    await lifecycler(closer, {
      kv: etcdKv(closer, etcd.endpoints),
      ringKey: key,
      instanceId: 'm0',
      numTokens: 16,
    }).start();
    const client = await ringClient(key);
    const t0 = performance.now();
    const joins = Promise.all([joinLater(key, 'm1', 300, t0), joinLater(key, 'm2', 900, t0)]);
    const res = await waitRingStability(() => client.topologyKey(), durations);
    const lastJoin = Math.max(...(await joins));
    console.info(`last join at ${lastJoin.toFixed(0)} ms, stable at ${res.waitedMs.toFixed(0)} ms`);
    expect(res.stable).toBe(true);
    expect(res.changes).toBe(2);
    expect(res.waitedMs).toBeGreaterThanOrEqual(lastJoin + 1000 - 50);
    expect(res.waitedMs).toBeLessThan(3000);
    expect(client.ring().healthyInstances()).toHaveLength(3);
  });

  it('gives up at the max duration when members keep joining', async () => {
    const key = freshRingKey();
    const client = await ringClient(key);
    const t0 = performance.now();
    const joins = Promise.all(Array.from({ length: 8 }, (_, i) => joinLater(key, `k${i}`, 500 * i, t0)));
    const res = await waitRingStability(() => client.topologyKey(), durations);
    expect(res.stable).toBe(false);
    expect(res.waitedMs).toBeGreaterThanOrEqual(3000);
    expect(res.waitedMs).toBeLessThan(3500);
    expect(res.changes).toBeGreaterThanOrEqual(4);
    await joins;
  });

  it('resolves at once when disabled (min 0) or with no time allowed (max 0)', async () => {
    expect(await waitRingStability(() => 'x', { minDurationMs: 0, maxDurationMs: 3000 })).toMatchObject({
      stable: true,
      waitedMs: 0,
    });
    expect(await waitRingStability(() => 'x', { minDurationMs: 1000, maxDurationMs: 0 })).toMatchObject({
      stable: false,
      waitedMs: 0,
    });
  });

  it('is abortable', async () => {
    let n = 0;
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('shutting down')), 300);
    await expect(
      waitRingStability(() => String(n++), { ...durations, signal: ac.signal }),
    ).rejects.toMatchObject({ code: 'ERR_RING_ABORTED' });
  });
});
