/**
 * Ownership: Strata's HashRing against an independent implementation of Cortex's rule written
 * here (BigInt FNV-1a, a linear scan over every token instead of a binary search over merged
 * tables), balance with 512 tokens per instance, and minimal movement when an instance joins.
 */
import { describe, expect, it } from 'vitest';
import { fnv1a32, tenantKey } from '../../src/ring/hash.js';
import { InstanceState, type RingInstance } from '../../src/ring/model.js';
import { HashRing } from '../../src/ring/ring.js';
import { generateTokens } from '../../src/ring/tokens.js';
import { seededUint32 } from './wire.js';

const NOW = 1_700_000_000_000;
const TIMEOUT = 60_000;

function member(id: string, tokens: number[], over: Partial<RingInstance> = {}): RingInstance {
  return {
    id,
    addr: `${id}:9095`,
    heartbeatSec: NOW / 1000 - 5,
    state: InstanceState.ACTIVE,
    tokens,
    zone: '',
    registeredSec: 1,
    ...over,
  };
}

/** n members × `perInstance` tokens from a seeded generator, unique across the ring. */
function fixedRing(n: number, perInstance: number, seed: number): RingInstance[] {
  const random = seededUint32(seed);
  const taken: number[] = [];
  const out: RingInstance[] = [];
  for (let i = 0; i < n; i++) {
    const tokens = generateTokens(perInstance, taken, random);
    taken.push(...tokens);
    out.push(member(`instance-${i}`, tokens));
  }
  return out;
}

function tenantNames(n: number, seed: number): string[] {
  const random = seededUint32(seed);
  return Array.from({ length: n }, (_, i) => `tenant-${i}-${random().toString(36)}`);
}

// ---- the independent implementation ----

function fnvBig(s: string): number {
  let h = 2166136261n;
  for (const byte of Buffer.from(s, 'utf8')) {
    h ^= BigInt(byte);
    h = (h * 16777619n) % 2n ** 32n;
  }
  return Number(h);
}

/**
 * Cortex's rule by linear scan: the smallest token strictly above the key, else the smallest
 * token overall; ties between instances go to the greatest ID. `usable` filters the candidates
 * first (Strata's default); with `strict`, the winner must itself be usable (Cortex exactly).
 */
function ownerByScan(
  members: RingInstance[],
  key: number,
  usable: (m: RingInstance) => boolean,
  strict: boolean,
): string | undefined {
  const pool = strict ? members : members.filter(usable);
  let above: [number, string] | undefined;
  let lowest: [number, string] | undefined;
  const better = (cand: [number, string], cur: [number, string] | undefined): boolean =>
    cur === undefined || cand[0] < cur[0] || (cand[0] === cur[0] && cand[1] > cur[1]);
  for (const m of pool) {
    for (const t of m.tokens) {
      const c: [number, string] = [t, m.id];
      if (t > key && better(c, above)) above = c;
      if (better(c, lowest)) lowest = c;
    }
  }
  const winner = (above ?? lowest)?.[1];
  if (winner === undefined) return undefined;
  if (strict && !usable(members.find((m) => m.id === winner)!)) return undefined;
  return winner;
}

describe('tenant keys', () => {
  it('are FNV-1a 32 of the UTF-8 bytes (Go hash/fnv New32a)', () => {
    // Published FNV-1a 32 test vectors.
    expect(tenantKey('')).toBe(0x811c9dc5);
    expect(tenantKey('a')).toBe(0xe40c292c);
    expect(tenantKey('foobar')).toBe(0xbf9cf968);
    for (const name of ['tenant-1', 'ünïcødé', '租户', 'a'.repeat(300)]) {
      expect(tenantKey(name)).toBe(fnvBig(name));
    }
    expect(fnv1a32(Buffer.from('foobar'))).toBe(0xbf9cf968);
  });
});

describe('ownership', () => {
  it('of 10,000 tenants equals the independent linear-scan implementation', () => {
    const members = fixedRing(5, 128, 11);
    // A shared token (the greater ID wins), an unhealthy and a LEAVING member.
    members[3] = {
      ...members[3]!,
      tokens: [...members[3]!.tokens, members[1]!.tokens[7]!].sort((a, b) => a - b),
    };
    members[2] = { ...members[2]!, heartbeatSec: NOW / 1000 - 61 };
    members[4] = { ...members[4]!, state: InstanceState.LEAVING };
    const ring = new HashRing(members, { nowMs: NOW, heartbeatTimeoutMs: TIMEOUT });
    const usable = (m: RingInstance): boolean =>
      m.state === InstanceState.ACTIVE && NOW - m.heartbeatSec * 1000 <= TIMEOUT;
    let unownedStrict = 0;
    for (const tenant of tenantNames(10_000, 5)) {
      const key = fnvBig(tenant);
      expect(ring.ownerOfTenant(tenant)?.id, tenant).toBe(ownerByScan(members, key, usable, false));
      const strict = ownerByScan(members, key, usable, true);
      expect(ring.ownerOfTenant(tenant, true)?.id, tenant).toBe(strict);
      if (strict === undefined) unownedStrict++;
    }
    // Cortex's rule leaves the unhealthy members' share unowned; Strata's hands it on.
    expect(unownedStrict).toBeGreaterThan(2000);
  });

  it('wraps past the largest token and treats a key equal to a token as below the next', () => {
    const ring = new HashRing([member('a', [100, 0xffff_fff0]), member('b', [200])], {
      nowMs: NOW,
      heartbeatTimeoutMs: TIMEOUT,
    });
    expect(ring.ownerOfKey(0)?.id).toBe('a');
    expect(ring.ownerOfKey(100)?.id).toBe('b');
    expect(ring.ownerOfKey(199)?.id).toBe('b');
    expect(ring.ownerOfKey(200)?.id).toBe('a');
    expect(ring.ownerOfKey(0xffff_fff0)?.id).toBe('a'); // wraps to 100
    expect(ring.ownerOfKey(0xffff_ffff)?.id).toBe('a');
    expect(new HashRing([], { nowMs: NOW, heartbeatTimeoutMs: TIMEOUT }).ownerOfKey(5)).toBeUndefined();
  });

  it('counts each member’s share of the token space, everyone listed', () => {
    const ring = new HashRing([member('a', [0, 0x8000_0000]), member('b', [0x4000_0000]), member('c', [])], {
      nowMs: NOW,
      heartbeatTimeoutMs: TIMEOUT,
    });
    const share = ring.ownership();
    expect(share.get('a')).toBeCloseTo(0.75, 12); // [0x4000_0000, 0x8000_0000) and the wrap
    expect(share.get('b')).toBeCloseTo(0.25, 12);
    expect(share.get('c')).toBe(0);
    expect(new HashRing([member('x', [7])], { nowMs: NOW, heartbeatTimeoutMs: 0 }).ownership().get('x')).toBe(
      1,
    );
  });

  for (const n of [3, 10]) {
    it(`is balanced within ±15% with ${n} instances of 512 tokens, and a newcomer only takes tenants to itself`, () => {
      const members = fixedRing(n, 512, 1000 + n);
      const tenants = tenantNames(10_000, 77);
      const ring = new HashRing(members, { nowMs: NOW, heartbeatTimeoutMs: TIMEOUT });
      const counts = new Map<string, number>();
      const before = tenants.map((t) => ring.ownerOfTenant(t)!.id);
      for (const id of before) counts.set(id, (counts.get(id) ?? 0) + 1);
      const fair = tenants.length / n;
      const worst = Math.max(...[...counts.values()].map((c) => Math.abs(c / fair - 1)));
      console.info(
        `${n} instances: counts ${[...counts.values()].join(' ')}, worst ${(worst * 100).toFixed(1)}%`,
      );
      expect(counts.size).toBe(n);
      expect(worst).toBeLessThanOrEqual(0.15);

      const taken = members.flatMap((m) => m.tokens);
      const joined = member('instance-new', generateTokens(512, taken, seededUint32(99)));
      const grown = new HashRing([...members, joined], { nowMs: NOW, heartbeatTimeoutMs: TIMEOUT });
      let moved = 0;
      tenants.forEach((t, i) => {
        const now = grown.ownerOfTenant(t)!.id;
        if (now !== before[i]) {
          expect(now, t).toBe('instance-new');
          moved++;
        }
      });
      expect(moved / tenants.length).toBeGreaterThan(0.5 / (n + 1));
      expect(moved / tenants.length).toBeLessThan(1.5 / (n + 1));
    });
  }

  it('topology keys change with membership, tokens and health, not with heartbeats', () => {
    const members = fixedRing(3, 8, 3);
    const key = (ms: RingInstance[], now = NOW): string =>
      new HashRing(ms, { nowMs: now, heartbeatTimeoutMs: TIMEOUT }).topologyKey();
    const base = key(members);
    expect(key(members.map((m) => ({ ...m, heartbeatSec: m.heartbeatSec + 3 })))).toBe(base);
    expect(key(members.slice(1))).not.toBe(base);
    expect(key([{ ...members[0]!, tokens: [1, 2, 3] }, ...members.slice(1)])).not.toBe(base);
    expect(key([{ ...members[0]!, state: InstanceState.JOINING }, ...members.slice(1)])).not.toBe(base);
    expect(key(members, NOW + 2 * TIMEOUT)).toBe(''); // everyone stale
  });
});
