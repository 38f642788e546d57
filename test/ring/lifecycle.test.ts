/**
 * Lifecycler and RingClient against a real one-member etcd: registration, heartbeats, a stale
 * member turning unhealthy and then auto-forgotten, clean leave, forget, token reuse on restart,
 * instance-ID collisions, concurrent registration, and bad input (garbage, etcd frozen at start).
 */
import { Etcd3 } from 'etcd3';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RingClient } from '../../src/ring/client.js';
import { createRingMetrics } from '../../src/ring/metrics.js';
import { InstanceState, instancesOf, type Desc } from '../../src/ring/model.js';
import { errorCode } from '../../src/util/errors.js';
import { startEtcd, type EtcdCluster } from '../services/etcd.js';
import { assertNoLeakedProcesses, waitFor } from '../support/processes.js';
import { snappyUncompress } from '../../src/util/snappy.js';
import { Closer, CutKv, etcdKv, freshRingKey, lifecycler, testLogger } from './support.js';
import { descBytes, readFields, snappyLiteralBlock, stringField, varintField } from './wire.js';

let etcd: EtcdCluster;
let raw: Etcd3;
const closer = new Closer();

beforeAll(async () => {
  etcd = await startEtcd();
  raw = new Etcd3({ hosts: etcd.endpoints });
});

afterAll(async () => {
  await closer.closeAll();
  raw?.close();
  await etcd?.stop();
  await assertNoLeakedProcesses();
});

function client(key: string, kv = etcdKv(closer, etcd.endpoints), heartbeatTimeoutMs = 2000): RingClient {
  const c = new RingClient({ kv, key, heartbeatTimeoutMs, pollIntervalMs: 200, logger: testLogger });
  closer.add(() => c.stop());
  return c;
}

async function members(key: string): Promise<ReturnType<typeof instancesOf>> {
  const desc = await etcdKv(closer, etcd.endpoints).get(key);
  return desc === undefined ? [] : instancesOf(desc);
}

describe('Lifecycler', () => {
  it('registers JOINING then ACTIVE with 512 sorted unique tokens, and heartbeats', async () => {
    const key = freshRingKey();
    const kv = etcdKv(closer, etcd.endpoints);
    const states: InstanceState[] = [];
    const w = kv.watch(key, {
      value: (d) => {
        const s = d?.ingesters['a']?.state;
        if (s !== undefined && states.at(-1) !== s) states.push(s);
      },
      error: () => {},
    });
    await new Promise((r) => setTimeout(r, 200));
    const a = lifecycler(closer, { kv, ringKey: key, instanceId: 'a', numTokens: 512 });
    await a.start();
    expect(a.state).toBe(InstanceState.ACTIVE);
    const [m] = await members(key);
    expect(m).toMatchObject({ id: 'a', addr: 'a:9095', state: InstanceState.ACTIVE });
    expect(m!.tokens).toHaveLength(512);
    expect(new Set(m!.tokens).size).toBe(512);
    expect([...m!.tokens].sort((x, y) => x - y)).toEqual(m!.tokens);
    expect(Math.abs(m!.registeredSec - Date.now() / 1000)).toBeLessThan(5);
    const first = m!.heartbeatSec;
    await waitFor(
      'a later heartbeat',
      async () => ((await members(key))[0]!.heartbeatSec > first ? true : undefined),
      5000,
    );
    expect(a.heartbeatFailures).toBe(0);
    await waitFor('states seen', async () => (states.length >= 2 ? true : undefined), 3000);
    expect(states.slice(0, 2)).toEqual([InstanceState.JOINING, InstanceState.ACTIVE]);
    await w.close();
  });

  it('a silent member turns unhealthy after the timeout and is auto-forgotten after the delay', async () => {
    const key = freshRingKey();
    const kv = etcdKv(closer, etcd.endpoints);
    const a = lifecycler(closer, { kv, ringKey: key, instanceId: 'a', autoForgetDelayMs: 4000 });
    const bKv = new CutKv(etcdKv(closer, etcd.endpoints));
    const b = lifecycler(closer, { kv: bKv, ringKey: key, instanceId: 'b', autoForgetDelayMs: 4000 });
    await a.start();
    await b.start();
    const ring = client(key);
    const changes: string[][] = [];
    ring.onChange((r) => changes.push(r.healthyInstances().map((i) => i.id)));
    await ring.start();
    expect(
      ring
        .ring()
        .healthyInstances()
        .map((i) => i.id),
    ).toEqual(['a', 'b']);

    bKv.cut = true; // b stops heartbeating, as if its process froze
    const cutAt = performance.now();
    await waitFor('b unhealthy', async () => (ring.ring().isHealthy('b') ? undefined : true), 8000, 50);
    const unhealthyAfter = performance.now() - cutAt;
    expect(ring.ring().instance('b')).toBeDefined();
    expect(ring.ring().ownerOfTenant('any-tenant')?.id).toBe('a');
    await waitFor(
      'b forgotten',
      async () => (ring.ring().instance('b') === undefined ? true : undefined),
      10_000,
      50,
    );
    const forgottenAfter = performance.now() - cutAt;
    console.info(
      `stale after ${unhealthyAfter.toFixed(0)} ms, forgotten after ${forgottenAfter.toFixed(0)} ms`,
    );
    // Timeout 2 s and delay 4 s, less up to 1 s (heartbeat times are whole seconds) and one period.
    expect(unhealthyAfter).toBeGreaterThan(700);
    expect(forgottenAfter).toBeGreaterThan(2700);
    expect(changes.at(-1)).toEqual(['a']);
    expect(b.heartbeatFailures).toBeGreaterThan(0);
  });

  it('leaves cleanly: LEAVING, then the entry is gone; forget removes another member', async () => {
    const key = freshRingKey();
    const kv = etcdKv(closer, etcd.endpoints);
    const seen: Desc[] = [];
    const w = kv.watch(key, { value: (d) => d && seen.push(d), error: () => {} });
    await new Promise((r) => setTimeout(r, 200));
    const a = lifecycler(closer, { kv, ringKey: key, instanceId: 'a' });
    const b = lifecycler(closer, { kv, ringKey: key, instanceId: 'b', heartbeatPeriodMs: 60_000 });
    await a.start();
    await b.start();
    await a.stop();
    expect((await members(key)).map((m) => m.id)).toEqual(['b']);
    await waitFor(
      'events',
      async () => (seen.some((d) => d.ingesters['a'] === undefined) ? true : undefined),
      3000,
    );
    expect(seen.some((d) => d.ingesters['a']?.state === InstanceState.LEAVING)).toBe(true);

    expect(await a.forget('b')).toBe(true);
    expect(await a.forget('b')).toBe(false);
    expect(await members(key)).toEqual([]);
    await w.close();
  });

  it('restarts under the same ID with the tokens the ring still holds', async () => {
    const key = freshRingKey();
    const firstKv = new CutKv(etcdKv(closer, etcd.endpoints));
    const first = lifecycler(closer, { kv: firstKv, ringKey: key, instanceId: 'a', numTokens: 64 });
    await first.start();
    const tokens = [...first.tokens];
    const registered = (await members(key))[0]!.registeredSec;
    firstKv.cut = true; // the process dies: its claim lapses, its entry stays

    const again = lifecycler(closer, {
      kv: etcdKv(closer, etcd.endpoints),
      ringKey: key,
      instanceId: 'a',
      numTokens: 64,
    });
    const started = performance.now();
    await again.start();
    console.info(`restart waited ${(performance.now() - started).toFixed(0)} ms for the old claim to lapse`);
    expect(again.tokens).toEqual(tokens);
    const [m] = await members(key);
    expect(m).toMatchObject({ id: 'a', state: InstanceState.ACTIVE, registeredSec: registered, tokens });
  });

  it('refuses a second live process under the same instance ID', async () => {
    const key = freshRingKey();
    const a = lifecycler(closer, { kv: etcdKv(closer, etcd.endpoints), ringKey: key, instanceId: 'same' });
    await a.start();
    const twin = lifecycler(closer, { kv: etcdKv(closer, etcd.endpoints), ringKey: key, instanceId: 'same' });
    const err = await twin.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(errorCode(err)).toBe('ERR_RING_INSTANCE_ID_IN_USE');
    expect(String(err)).toMatch(/instance ID "same" is in use by another live process .*"pid"/);
    expect(twin.phase).toBe('stopped');
    // The first one never noticed anything.
    expect(a.phase).toBe('running');
    expect(a.heartbeatFailures).toBe(0);
    expect((await members(key)).map((m) => m.tokens)).toEqual([a.tokens]);
  });

  it('stop() during a start ends the start at once, leaving nothing behind', async () => {
    const key = freshRingKey();
    const a = lifecycler(closer, { kv: etcdKv(closer, etcd.endpoints), ringKey: key, instanceId: 'busy' });
    await a.start();
    const twin = lifecycler(closer, { kv: etcdKv(closer, etcd.endpoints), ringKey: key, instanceId: 'busy' });
    const starting = twin.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    await new Promise((r) => setTimeout(r, 300)); // waiting for a's claim to lapse
    const t = performance.now();
    await twin.stop();
    expect(errorCode(await starting)).toBe('ERR_RING_ABORTED');
    expect(performance.now() - t).toBeLessThan(1500);
    expect(twin.phase).toBe('stopped');
    expect((await members(key)).map((m) => m.id)).toEqual(['busy']);
    expect(a.phase).toBe('running');
  });

  it('detects another writer of its entry (different tokens) and stops heartbeating', async () => {
    const key = freshRingKey();
    const kv = etcdKv(closer, etcd.endpoints);
    const a = lifecycler(closer, { kv, ringKey: key, instanceId: 'a' });
    const fatal: Error[] = [];
    a.onFatal((e) => fatal.push(e));
    await a.start();
    // A process that does not claim IDs (a Cortex compactor, say) rewrites the entry.
    await kv.cas(key, (d) => {
      d!.ingesters['a']!.tokens = [1, 2, 3];
      return d;
    });
    await waitFor('fatal', async () => (fatal.length > 0 ? true : undefined), 5000);
    expect(errorCode(fatal[0])).toBe('ERR_RING_INSTANCE_ID_IN_USE');
    expect(a.phase).toBe('failed');
    expect((await members(key))[0]!.tokens).toEqual([1, 2, 3]);
  });

  it('registers 5 instances concurrently: every one lands, no token shared', async () => {
    const key = freshRingKey();
    const ls = ['p', 'q', 'r', 's', 't'].map((id) =>
      lifecycler(closer, {
        kv: etcdKv(closer, etcd.endpoints),
        ringKey: key,
        instanceId: id,
        numTokens: 512,
      }),
    );
    await Promise.all(ls.map((l) => l.start()));
    const ms = await members(key);
    expect(ms.map((m) => m.id)).toEqual(['p', 'q', 'r', 's', 't']);
    expect(ms.every((m) => m.state === InstanceState.ACTIVE && m.tokens.length === 512)).toBe(true);
    expect(new Set(ms.flatMap((m) => m.tokens)).size).toBe(5 * 512);
    // And heartbeats from all five keep landing, round after round (a single heartbeat may miss
    // its deadline on a loaded machine: CAS writes of five members race on one key; it is
    // counted, not fatal, and the next one lands).
    for (let round = 0; round < 2; round++) {
      const before = new Map((await members(key)).map((m) => [m.id, m.heartbeatSec]));
      await waitFor(
        `heartbeats of all, round ${round + 1}`,
        async () =>
          (await members(key)).every((m) => m.heartbeatSec > before.get(m.id)!) ? true : undefined,
        5000,
      );
    }
    expect(ls.every((l) => l.phase === 'running')).toBe(true);
  });
});

describe('Lifecycler with a Cortex member from a newer schema', () => {
  it('keeps that member and its unknown fields through its own registration and heartbeats', async () => {
    const key = freshRingKey();
    const nowSec = Math.floor(Date.now() / 1000);
    const cortex = {
      addr: '10.1.1.1:9095',
      timestamp: nowSec,
      state: 0,
      tokens: [11, 22, 33],
      zone: '',
      registeredTimestamp: nowSec - 100,
      extra: [...varintField(9, 5), ...stringField(77, 'newer')],
    };
    await raw
      .put(key)
      .value(Buffer.from(snappyLiteralBlock(descBytes({ 'cortex-0': cortex }, varintField(15, 3)))));
    const a = lifecycler(closer, {
      kv: etcdKv(closer, etcd.endpoints),
      ringKey: key,
      instanceId: 'strata-0',
    });
    await a.start();
    await a.heartbeat();
    const top = readFields(snappyUncompress((await raw.get(key).buffer())!, 1 << 24));
    expect(top.find((f) => f.field === 15)?.value).toBe(3n);
    const entries = top.filter((f) => f.field === 1).map((f) => readFields(f.bytes!));
    const c = entries.find((e) => Buffer.from(e[0]!.bytes!).toString() === 'cortex-0')!;
    const fields = readFields(c[1]!.bytes!);
    expect(fields.find((f) => f.field === 9)?.value).toBe(5n);
    expect(Buffer.from(fields.find((f) => f.field === 77)!.bytes!).toString()).toBe('newer');
    expect(entries.map((e) => Buffer.from(e[0]!.bytes!).toString()).sort()).toEqual(['cortex-0', 'strata-0']);
  });
});

describe('RingClient', () => {
  it('follows the ring by polling when the watch delivers nothing, and counts reshards', async () => {
    const key = freshRingKey();
    const registry = new Registry();
    const metrics = createRingMetrics(registry);
    const silent = new CutKv(etcdKv(closer, etcd.endpoints), { watch: false });
    const c = new RingClient({ kv: silent, key, heartbeatTimeoutMs: 2000, pollIntervalMs: 200, metrics });
    closer.add(() => c.stop());
    await c.start();
    const a = lifecycler(closer, { kv: etcdKv(closer, etcd.endpoints), ringKey: key, instanceId: 'a' });
    await a.start();
    await waitFor('a seen', async () => (c.ring().isHealthy('a') ? true : undefined), 3000, 50);
    expect(await registry.getSingleMetricAsString('strata_ring_members')).toMatch(/state="ACTIVE"} 1/);
    expect((await registry.getSingleMetric('strata_ring_reshard_total')!.get()).values[0]!.value).toBe(1);
  });

  it('keeps the last good ring when the key turns to garbage; heartbeats fail until it is deleted', async () => {
    const key = freshRingKey();
    const kv = etcdKv(closer, etcd.endpoints);
    const a = lifecycler(closer, { kv, ringKey: key, instanceId: 'a' });
    await a.start();
    const c = client(key);
    await c.start();
    await raw.put(key).value('garbage, not snappy');
    await waitFor('error seen', async () => (c.error() !== undefined ? true : undefined), 3000, 50);
    expect(errorCode(c.error())).toBe('ERR_RING_CORRUPT');
    expect(c.error()!.message).toContain(key);
    expect(c.ring().isHealthy('a')).toBe(true);
    await waitFor('heartbeat failures', async () => (a.heartbeatFailures > 1 ? true : undefined), 3000, 50);
    expect(a.phase).toBe('running');

    // A new instance refuses to start on a corrupt ring, at once and naming the key.
    const b = lifecycler(closer, { kv, ringKey: key, instanceId: 'b' });
    await expect(b.start()).rejects.toMatchObject({ code: 'ERR_RING_CORRUPT' });

    // The documented repair: delete the key; a's next heartbeat registers it again.
    await raw.delete().key(key);
    await waitFor('a back', async () => ((await members(key)).length === 1 ? true : undefined), 3000, 50);
    await waitFor(
      'client healthy',
      async () => (c.error() === undefined && c.ring().isHealthy('a') ? true : undefined),
      3000,
      50,
    );
  });

  it('start retries while etcd is frozen and succeeds once it answers; gives up with a clear error', async () => {
    const frozen = await startEtcd();
    closer.add(() => frozen.stop());
    await frozen.members[0]!.kill('SIGSTOP');
    const key = freshRingKey();
    const quick = lifecycler(closer, {
      kv: etcdKv(closer, frozen.endpoints, 300),
      ringKey: key,
      instanceId: 'quick',
      startTimeoutMs: 1500,
    });
    const err = await quick.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(errorCode(err)).toBe('ERR_RING_UNAVAILABLE');
    expect(String(err)).toMatch(/claim the instance ID: etcd unreachable for .* s over \d+ attempts/);

    const patient = lifecycler(closer, {
      kv: etcdKv(closer, frozen.endpoints, 300),
      ringKey: key,
      instanceId: 'patient',
      startTimeoutMs: 20_000,
    });
    const starting = patient.start();
    await new Promise((r) => setTimeout(r, 1500));
    await frozen.members[0]!.kill('SIGCONT');
    await starting;
    expect(patient.state).toBe(InstanceState.ACTIVE);
    await patient.stop();
  });
});
