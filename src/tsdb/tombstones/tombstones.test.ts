import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { addInterval, decodeTombstones, encodeTombstones, isDeleted, type Interval } from './tombstones.js';
import { FormatError } from '../../util/errors.js';

describe('tombstones', () => {
  it('empty file bytes match Prometheus', () => {
    expect(Buffer.from(encodeTombstones(new Map())).toString('hex')).toBe('0130ba300100000000');
    expect(decodeTombstones(encodeTombstones(new Map()), 't').size).toBe(0);
  });

  it('round-trips, merging intervals; int64 extremes read as infinities', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.nat(1000),
            fc.integer({ min: -(2 ** 52), max: 2 ** 52 }),
            fc.integer({ min: 0, max: 2 ** 40 }),
          ),
        ),
        (items) => {
          const m = new Map<number, Interval[]>();
          for (const [ref, mint, len] of items)
            m.set(ref, addInterval(m.get(ref) ?? [], { mint, maxt: mint + len }));
          const back = decodeTombstones(encodeTombstones(m), 't');
          expect([...back.entries()].sort((a, b) => a[0] - b[0])).toEqual(
            [...m.entries()].sort((a, b) => a[0] - b[0]),
          );
        },
      ),
    );
    const inf = new Map([[7, [{ mint: -Infinity, maxt: Infinity }]]]);
    expect(decodeTombstones(encodeTombstones(inf), 't').get(7)).toEqual([
      { mint: -Infinity, maxt: Infinity },
    ]);
  });

  it('isDeleted on closed intervals', () => {
    const ivs = addInterval(addInterval([], { mint: 10, maxt: 20 }), { mint: 30, maxt: 40 });
    expect([9, 10, 20, 21, 30, 40, 41].map((t) => isDeleted(ivs, t))).toEqual([
      false,
      true,
      true,
      false,
      true,
      true,
      false,
    ]);
  });

  it('bad input is a typed error', () => {
    const good = encodeTombstones(new Map([[1, [{ mint: 1, maxt: 2 }]]]));
    const flipped = good.slice();
    flipped[6]! ^= 0xff;
    expect(() => decodeTombstones(flipped, 'x/tombstones')).toThrowError(FormatError);
    expect(() => decodeTombstones(good.subarray(0, 5), 'x')).toThrowError(/ERR|minimum/);
    const magic = good.slice();
    magic[0] = 9;
    expect(() => decodeTombstones(magic, 'x')).toThrowError(/bad magic/);
  });
});
