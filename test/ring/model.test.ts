/** Pure pieces: token generation, descriptor edits, health, member metrics. */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { newRingDesc } from '../../src/ring/codec.js';
import { createRingMetrics, observeMembers } from '../../src/ring/metrics.js';
import {
  InstanceState,
  autoForget,
  instancesOf,
  isHealthy,
  putInstance,
  removeInstance,
  type RingInstance,
} from '../../src/ring/model.js';
import { HashRing } from '../../src/ring/ring.js';
import { generateTokens } from '../../src/ring/tokens.js';

describe('tokens', () => {
  it('are unique, sorted, unsigned and never one another instance holds', () => {
    // A source that keeps repeating itself and proposes taken values.
    const proposals = [7, 7, 0xffff_ffff, 3, -1 >>> 0, 3, 42, 1, 9, 2 ** 31];
    let i = 0;
    const tokens = generateTokens(5, [42, 1], () => proposals[i++ % proposals.length]!);
    expect(tokens).toEqual([3, 7, 9, 2 ** 31, 0xffff_ffff]);
    expect(generateTokens(0, [], () => 1)).toEqual([]);
    expect(() => generateTokens(-1, [], () => 1)).toThrow(/token count/);
  });
});

describe('descriptor edits', () => {
  const fields = { addr: 'a:1', zone: '', tokens: [5, 1], state: InstanceState.JOINING, heartbeatSec: 100 };

  it('put keeps the registration time of an existing entry, and the message object', () => {
    const desc = newRingDesc();
    const first = putInstance(desc, 'a', { ...fields, registeredSec: 50 });
    const again = putInstance(desc, 'a', {
      ...fields,
      state: InstanceState.ACTIVE,
      heartbeatSec: 105,
      registeredSec: 99,
    });
    expect(again).toBe(first);
    expect(instancesOf(desc)).toEqual([
      {
        id: 'a',
        addr: 'a:1',
        zone: '',
        tokens: [1, 5],
        state: InstanceState.ACTIVE,
        heartbeatSec: 105,
        registeredSec: 50,
      },
    ]);
    expect(removeInstance(desc, 'a')).toBe(true);
    expect(removeInstance(desc, 'a')).toBe(false);
    expect(removeInstance(desc, 'toString')).toBe(false);
  });

  it('auto-forget removes others whose heartbeat is older than the delay, never the caller', () => {
    const desc = newRingDesc();
    putInstance(desc, 'me', { ...fields, heartbeatSec: 0, registeredSec: 0 });
    putInstance(desc, 'old', { ...fields, heartbeatSec: 1000, registeredSec: 0 });
    putInstance(desc, 'edge', { ...fields, heartbeatSec: 1010, registeredSec: 0 });
    putInstance(desc, 'fresh', { ...fields, heartbeatSec: 1100, registeredSec: 0 });
    expect(autoForget(desc, 1130_000, 120_000, 'me')).toEqual(['old']);
    expect(Object.keys(desc.ingesters).sort()).toEqual(['edge', 'fresh', 'me']);
    expect(autoForget(desc, 9_999_000, 0, 'me')).toEqual([]); // 0 disables
  });

  it('health: ACTIVE and heartbeat no older than the timeout (0: no timeout)', () => {
    const inst: RingInstance = {
      id: 'a',
      addr: '',
      zone: '',
      tokens: [],
      state: InstanceState.ACTIVE,
      heartbeatSec: 100,
      registeredSec: 0,
    };
    expect(isHealthy(inst, 160_000, 60_000)).toBe(true);
    expect(isHealthy(inst, 160_001, 60_000)).toBe(false);
    expect(isHealthy(inst, 1e12, 0)).toBe(true);
    expect(isHealthy({ ...inst, state: InstanceState.READONLY }, 100_000, 60_000)).toBe(false);
  });
});

describe('metrics', () => {
  it('count members by state, stale ones as UNHEALTHY; created once per registry', async () => {
    const registry = new Registry();
    const m = createRingMetrics(registry);
    expect(createRingMetrics(registry).members).toBe(m.members);
    const base = { addr: '', zone: '', tokens: [], registeredSec: 0 };
    const ring = new HashRing(
      [
        { ...base, id: 'a', state: InstanceState.ACTIVE, heartbeatSec: 100 },
        { ...base, id: 'b', state: InstanceState.ACTIVE, heartbeatSec: 10 },
        { ...base, id: 'c', state: InstanceState.JOINING, heartbeatSec: 100 },
      ],
      { nowMs: 100_000, heartbeatTimeoutMs: 60_000 },
    );
    observeMembers(m, ring);
    const text = await registry.metrics();
    expect(text).toContain('strata_ring_members{state="ACTIVE"} 1');
    expect(text).toContain('strata_ring_members{state="JOINING"} 1');
    expect(text).toContain('strata_ring_members{state="UNHEALTHY"} 1');
    expect(text).toContain('strata_ring_members{state="LEAVING"} 0');
    expect(text).toContain('strata_ring_tenants_owned 0');
    expect(text).toContain('strata_ring_heartbeat_failures_total 0');
    expect(text).toContain('strata_ring_reshard_total 0');
  });
});
