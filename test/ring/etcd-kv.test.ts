/**
 * EtcdKv against a real one-member etcd: CAS (no lost update under contention), watch, claims,
 * garbage under the key, unknown fields kept, and an unreachable etcd.
 */
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstanceState } from '../../gen/cortex/ring/ring_pb.js';
import { encodeRingDesc, newRingDesc, ringDescCodec, type ValueCodec } from '../../src/ring/codec.js';
import { EtcdKv } from '../../src/ring/etcd-kv.js';
import { instancesOf, putInstance, type Desc } from '../../src/ring/model.js';
import { errorCode } from '../../src/util/errors.js';
import { startEtcd, type EtcdCluster } from '../services/etcd.js';
import { assertNoLeakedProcesses, freePort, waitFor } from '../support/processes.js';
import { descBytes, readFields, snappyLiteralBlock, stringField, varintField } from './wire.js';
import { snappyUncompress } from '../../src/util/snappy.js';

let etcd: EtcdCluster;
let raw: Etcd3;
let n = 0;
const kvs: EtcdKv<unknown>[] = [];

beforeAll(async () => {
  etcd = await startEtcd();
  raw = new Etcd3({ hosts: etcd.endpoints });
});

afterAll(async () => {
  await Promise.all(kvs.map((k) => k.close()));
  raw?.close();
  await etcd?.stop();
  await assertNoLeakedProcesses();
});

/** A fresh key for every test. */
const key = (): string => `/strata-test/${process.pid}/kv-${++n}/collectors/compactor`;

function kv<T>(
  codec: ValueCodec<T>,
  endpoints = etcd.endpoints,
  callTimeoutMs = 2000,
  maxCasAttempts = 10,
): EtcdKv<T> {
  const k = new EtcdKv<T>({ codec, endpoints, callTimeoutMs, maxCasAttempts });
  kvs.push(k as EtcdKv<unknown>);
  return k;
}

const counter: ValueCodec<number> = {
  encode: (v) => Buffer.from(String(v)),
  decode: (b) => Number(Buffer.from(b).toString()),
};

describe('EtcdKv', () => {
  it('get and cas: absent, create, update, no-op', async () => {
    const k = key();
    const store = kv(counter);
    expect(await store.get(k)).toBeUndefined();
    expect(await store.cas(k, (cur) => (cur ?? 0) + 1)).toMatchObject({ written: true, value: 1 });
    expect(await store.cas(k, (cur) => (cur ?? 0) + 1)).toMatchObject({ written: true, value: 2 });
    expect(await store.cas(k, () => undefined)).toMatchObject({ written: false, value: 2 });
    expect(await store.get(k)).toBe(2);
  });

  it('loses no update when 5 writers increment concurrently', async () => {
    const k = key();
    // Back-to-back increments are far harsher than heartbeats every few seconds: a writer can
    // lose more than the default 10 rounds in a row here, so it gets more attempts.
    const writers = Array.from({ length: 5 }, () => kv(counter, etcd.endpoints, 2000, 100));
    let conflicts = 0;
    await Promise.all(
      writers.map(async (w) => {
        for (let i = 0; i < 10; i++) {
          const res = await w.cas(k, (cur) => (cur ?? 0) + 1);
          conflicts += res.conflicts;
        }
      }),
    );
    expect(await writers[0]!.get(k)).toBe(50);
    console.info(`50 increments from 5 writers: ${conflicts} conflicts retried`);
  });

  it('watches a key: puts, deletes, and garbage reported as ERR_RING_CORRUPT naming the key', async () => {
    const k = key();
    const store = kv(ringDescCodec);
    const seen: (Desc | undefined)[] = [];
    const errors: Error[] = [];
    const w = store.watch(k, { value: (v) => seen.push(v), error: (e) => errors.push(e) });
    await new Promise((r) => setTimeout(r, 200));
    await store.cas(k, (d) => {
      const desc = d ?? newRingDesc();
      putInstance(desc, 'a', {
        addr: 'a:1',
        zone: '',
        state: InstanceState.ACTIVE,
        tokens: [1],
        heartbeatSec: 1,
        registeredSec: 1,
      });
      return desc;
    });
    await waitFor('put event', async () => (seen.length >= 1 ? true : undefined), 5000);
    expect(instancesOf(seen[0]!).map((i) => i.id)).toEqual(['a']);
    await raw.put(k).value('garbage!');
    await waitFor('corrupt event', async () => (errors.length >= 1 ? true : undefined), 5000);
    expect(errorCode(errors[0])).toBe('ERR_RING_CORRUPT');
    expect(errors[0]!.message).toContain(k);
    await raw.delete().key(k);
    await waitFor('delete event', async () => (seen.length >= 2 ? true : undefined), 5000);
    expect(seen[1]).toBeUndefined();
    await w.close();
  });

  it('never overwrites garbage: get and cas fail with ERR_RING_CORRUPT, the bytes stay', async () => {
    const k = key();
    await raw.put(k).value(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    const store = kv(ringDescCodec);
    await expect(store.get(k)).rejects.toMatchObject({ code: 'ERR_RING_CORRUPT' });
    await expect(store.cas(k, (d) => d ?? newRingDesc())).rejects.toThrow(new RegExp(`ring key "${k}"`));
    expect(Buffer.from((await raw.get(k).buffer())!).toString('hex')).toBe('deadbeef');
    // After the key is deleted (the documented repair), writers work again.
    await raw.delete().key(k);
    expect((await store.cas(k, (d) => d ?? newRingDesc())).written).toBe(true);
  });

  it('keeps unknown fields of a newer schema through its CAS', async () => {
    const k = key();
    const future = snappyLiteralBlock(
      descBytes(
        {
          cortex: {
            addr: 'c:1',
            timestamp: 10,
            state: 0,
            tokens: [3, 4],
            zone: '',
            registeredTimestamp: 5,
            extra: [...stringField(42, 'newer field')],
          },
        },
        [...varintField(9, 1)],
      ),
    );
    await raw.put(k).value(Buffer.from(future));
    const store = kv(ringDescCodec);
    await store.cas(k, (d) => {
      const desc = d!;
      desc.ingesters['cortex']!.timestamp = 20n;
      return desc;
    });
    const stored = snappyUncompress((await raw.get(k).buffer())!, 1 << 20);
    const top = readFields(stored);
    expect(top.find((f) => f.field === 9)?.value).toBe(1n);
    const inst = readFields(readFields(top.find((f) => f.field === 1)!.bytes!)[1]!.bytes!);
    expect(inst.find((f) => f.field === 2)?.value).toBe(20n);
    expect(Buffer.from(inst.find((f) => f.field === 42)!.bytes!).toString()).toBe('newer field');
  });

  it('claims: one holder at a time, released on release or when the lease lapses', async () => {
    const k = key() + '.claim';
    const a = kv(counter);
    const b = kv(counter);
    const first = await a.claim(k, 'holder-a', 2);
    expect(first.ok).toBe(true);
    expect(await b.claim(k, 'holder-b', 2)).toEqual({ ok: false, holder: 'holder-a' });
    if (!first.ok) throw new Error('unreachable');
    expect(await first.claim.keepAlive()).toBe(true);
    await first.claim.release();
    expect(await first.claim.keepAlive()).toBe(false);
    const second = await b.claim(k, 'holder-b', 1);
    expect(second.ok).toBe(true);
    // Not kept alive: gone after its TTL.
    await waitFor(
      'lapsed claim',
      async () => ((await a.claim(k, 'holder-a', 5)).ok ? true : undefined),
      5000,
    );
  });

  it('fails fast with ERR_RING_UNAVAILABLE when no etcd answers', async () => {
    const port = await freePort();
    const store = kv(counter, [`http://127.0.0.1:${port}`], 500);
    const started = performance.now();
    await expect(store.get(key())).rejects.toMatchObject({ code: 'ERR_RING_UNAVAILABLE' });
    await expect(store.cas(key(), () => 1)).rejects.toThrow(/etcd get/);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('decodes what Strata encodes under the Cortex key layout', async () => {
    const k = key();
    const desc = newRingDesc();
    putInstance(desc, 'x', {
      addr: 'x:1',
      zone: 'z',
      state: 2,
      tokens: [9],
      heartbeatSec: 3,
      registeredSec: 2,
    });
    await raw.put(k).value(Buffer.from(encodeRingDesc(desc)));
    expect(instancesOf((await kv(ringDescCodec).get(k))!)[0]).toMatchObject({ id: 'x', zone: 'z', state: 2 });
  });
});
