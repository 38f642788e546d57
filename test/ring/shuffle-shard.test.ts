/** Shuffle sharding: deterministic, sized, nested, zone-aware, and stable under joins. */
import { describe, expect, it } from 'vitest';
import { InstanceState, type RingInstance } from '../../src/ring/model.js';
import { HashRing } from '../../src/ring/ring.js';
import { shuffleShard, shuffleShardDraw, tenantOwner } from '../../src/ring/shuffle-shard.js';
import { generateTokens } from '../../src/ring/tokens.js';
import { seededUint32 } from './wire.js';

const NOW = 1_700_000_000_000;
const timing = { nowMs: NOW, heartbeatTimeoutMs: 60_000 };

function members(n: number, seed: number, zones: string[] = ['']): RingInstance[] {
  const random = seededUint32(seed);
  const taken: number[] = [];
  return Array.from({ length: n }, (_, i) => {
    const tokens = generateTokens(128, taken, random);
    taken.push(...tokens);
    return {
      id: `i-${String(i).padStart(2, '0')}`,
      addr: `i-${i}:1`,
      heartbeatSec: NOW / 1000,
      state: InstanceState.ACTIVE,
      tokens,
      zone: zones[i % zones.length]!,
      registeredSec: 1,
    };
  });
}

const ids = (r: HashRing): string[] => r.instances.map((i) => i.id);

describe('shuffle sharding', () => {
  it('gives each tenant a deterministic subring of the requested size', () => {
    const ring = new HashRing(members(10, 1), timing);
    const a = shuffleShard(ring, 'tenant-a', 3);
    expect(a.size).toBe(3);
    expect(ids(shuffleShard(new HashRing(members(10, 1), timing), 'tenant-a', 3))).toEqual(ids(a));
    // Different tenants spread over different subsets.
    const subsets = new Set(Array.from({ length: 50 }, (_, i) => ids(shuffleShard(ring, `t${i}`, 3)).join()));
    expect(subsets.size).toBeGreaterThan(20);
    // 0, or a size of at least the ring, means every healthy instance.
    expect(shuffleShard(ring, 'tenant-a', 0).size).toBe(10);
    expect(shuffleShard(ring, 'tenant-a', 12).size).toBe(10);
  });

  it('nests: the shard of size n is inside the shard of size n + 1', () => {
    const ring = new HashRing(members(12, 2), timing);
    for (let t = 0; t < 20; t++) {
      for (let n = 1; n < 11; n++) {
        const small = ids(shuffleShard(ring, `t${t}`, n));
        const big = new Set(ids(shuffleShard(ring, `t${t}`, n + 1)));
        for (const id of small) expect(big.has(id), `t${t} ${n}`).toBe(true);
      }
    }
  });

  it('picks only healthy instances, and a tenant’s owner is one of its shard', () => {
    const ms = members(8, 3);
    ms[2] = { ...ms[2]!, heartbeatSec: NOW / 1000 - 120 };
    ms[5] = { ...ms[5]!, state: InstanceState.LEAVING };
    const ring = new HashRing(ms, timing);
    for (let t = 0; t < 200; t++) {
      const shard = shuffleShard(ring, `t${t}`, 3);
      expect(shard.size).toBe(3);
      expect(ids(shard)).not.toContain('i-02');
      expect(ids(shard)).not.toContain('i-05');
      expect(ids(shard)).toContain(tenantOwner(ring, `t${t}`, 3)!.id);
    }
  });

  it('keeps most shards when an instance joins (only draws landing on the newcomer change)', () => {
    const ms = members(11, 4);
    const before = new HashRing(ms.slice(0, 10), timing);
    const after = new HashRing(ms, timing);
    let unchanged = 0;
    let replacedOne = 0;
    for (let t = 0; t < 500; t++) {
      const a = ids(shuffleShard(before, `t${t}`, 3));
      const b = ids(shuffleShard(after, `t${t}`, 3));
      if (a.join() === b.join()) unchanged++;
      else if (b.includes('i-10') && a.filter((id) => b.includes(id)).length === 2) replacedOne++;
    }
    // A newcomer with 1/11 of the tokens catches about 3/11 of the 3-draw shards.
    expect(unchanged).toBeGreaterThan(500 * 0.6);
    expect(unchanged + replacedOne).toBeGreaterThan(500 * 0.95);
  });

  it('zone-aware: ceil(size / zones) instances from each zone', () => {
    const ring = new HashRing(members(9, 5, ['a', 'b', 'c']), timing);
    for (let t = 0; t < 50; t++) {
      const shard = shuffleShard(ring, `t${t}`, 4, { zoneAware: true });
      const perZone = new Map<string, number>();
      for (const i of shard.instances) perZone.set(i.zone, (perZone.get(i.zone) ?? 0) + 1);
      expect([...perZone.entries()].sort()).toEqual([
        ['a', 2],
        ['b', 2],
        ['c', 2],
      ]);
    }
  });

  it('draws are MD5(tenant 0 zone 0 i) as documented', () => {
    expect(shuffleShardDraw('tenant', '', 0)).toBe(shuffleShardDraw('tenant', '', 0));
    expect(shuffleShardDraw('tenant', '', 0)).not.toBe(shuffleShardDraw('tenant', '', 1));
    expect(shuffleShardDraw('tenant', 'z', 0)).not.toBe(shuffleShardDraw('tenant', '', 0));
    // printf 'a\0\0\0\0\0\0' | md5sum → cfe5359d36a2c476ec9aca93b4ff8b7f
    expect(shuffleShardDraw('a', '', 0)).toBe(0xcfe5359d);
  });
});
