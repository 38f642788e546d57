import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { CowMap } from '../../src/util/cow-map.js';

interface Val {
  v: number;
}

type Op = { kind: 'set'; key: number; v: number } | { kind: 'delete'; key: number } | { kind: 'snapshot' };

const op = (keys: number): fc.Arbitrary<Op> =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({ kind: fc.constant('set' as const), key: fc.nat(keys), v: fc.nat() }),
    },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: fc.nat(keys) }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'snapshot' as const }) },
  );

/** Everything a ReadonlyMap says, in iteration order. */
function contents(m: ReadonlyMap<number, Val>): unknown {
  const viaForEach: [number, number][] = [];
  m.forEach((val, k) => viaForEach.push([k, val.v]));
  return {
    size: m.size,
    entries: [...m].map(([k, val]) => [k, val.v]),
    keys: [...m.keys()],
    values: [...m.values()].map((val) => val.v),
    viaForEach,
  };
}

describe('CowMap', () => {
  test('acts as a Map (same answers, same iteration order) and its snapshots never change', () => {
    fc.assert(
      fc.property(fc.integer({ min: 5, max: 600 }), fc.array(op(600), { maxLength: 3000 }), (keys, ops) => {
        const model = new Map<number, Val>();
        const cow = new CowMap<number, Val>();
        const snaps: { snap: ReadonlyMap<number, Val>; want: unknown }[] = [];
        for (const o of ops) {
          const key = o.kind === 'snapshot' ? 0 : o.key % keys;
          if (o.kind === 'set') {
            const val = { v: o.v };
            model.set(key, val);
            expect(cow.set(key, val)).toBe(cow);
          } else if (o.kind === 'delete') {
            expect(cow.delete(key)).toBe(model.delete(key));
          } else {
            snaps.push({ snap: cow.snapshot(), want: contents(model) });
          }
          expect(cow.size).toBe(model.size);
          expect(cow.get(key)).toBe(model.get(key));
          expect(cow.has(key)).toBe(model.has(key));
        }
        expect(contents(cow)).toEqual(contents(model));
        for (const s of snaps) expect(contents(s.snap)).toEqual(s.want);
      }),
      { numRuns: 60 },
    );
  });

  test('a snapshot of an unchanged map is the base itself; one taken after changes copies only the layers', () => {
    const base = new Map<number, Val>();
    for (let i = 0; i < 10_000; i++) base.set(i, { v: i });
    const cow = new CowMap(base);
    expect(cow.snapshot()).toBe(base);
    cow.set(10_000, { v: 1 });
    cow.delete(3);
    cow.set(5, { v: -5 });
    expect(base.size).toBe(10_000); // the shared base is not changed in place
    expect(base.get(5)!.v).toBe(5);
    const s = cow.snapshot();
    expect(s).not.toBe(base);
    expect(s.size).toBe(10_000);
    expect(s.get(3)).toBeUndefined();
    expect(s.get(5)!.v).toBe(-5);
    // A deleted key set again goes last, as in a Map.
    cow.set(3, { v: 33 });
    expect([...cow.keys()].slice(-2)).toEqual([10_000, 3]);
    expect(s.has(3)).toBe(false);
  });

  test('an iteration in progress when the layers fold goes on over what it started with', () => {
    const cow = new CowMap<number, Val>();
    for (let i = 0; i < 1000; i++) cow.set(i, { v: i });
    cow.snapshot();
    const it = cow.keys();
    expect(it.next().value).toBe(0);
    // More than an eighth of 1,000 (and MIN_FOLD) changes: the layers fold into a new base.
    for (let i = 1000; i < 1400; i++) cow.set(i, { v: i });
    const rest = [...it];
    expect(rest[0]).toBe(1);
    expect(new Set(rest).size).toBe(rest.length); // nothing twice
    expect(rest.length).toBeGreaterThanOrEqual(999);
    expect(cow.size).toBe(1400);
  });

  test.each(['forEach', 'keys', 'entries'] as const)(
    '%s sees every key it started with once when the layers fold during it',
    (how) => {
      const cow = new CowMap<number, Val>();
      for (let i = 0; i < 1000; i++) cow.set(i, { v: i });
      cow.snapshot();
      for (let i = 1000; i < 1050; i++) cow.set(i, { v: i }); // the added layer, not folded yet
      cow.delete(5);
      const seen: number[] = [];
      const visit = (k: number): void => {
        if (seen.length === 0) for (let i = 2000; i < 2400; i++) cow.set(i, { v: i }); // folds
        seen.push(k);
      };
      if (how === 'forEach') cow.forEach((_v, k) => visit(k));
      else if (how === 'keys') for (const k of cow.keys()) visit(k);
      else for (const [k] of cow.entries()) visit(k);
      expect(new Set(seen).size).toBe(seen.length);
      for (let i = 0; i < 1050; i++) if (i !== 5) expect(seen).toContain(i);
      expect(seen).not.toContain(5);
    },
  );
});
