import fc from 'fast-check';
import { isValid } from 'ulidx';
import { describe, expect, it, test } from 'vitest';
import { isUlid, seededRandom, ulidSource, ulidTime } from './ulid.js';
import { formatGoFloat } from './goformat.js';

describe('ulid', () => {
  it('seeded sources are reproducible and monotonic', () => {
    const a = ulidSource(seededRandom(1));
    const b = ulidSource(seededRandom(1));
    const x = [a(1700000000000), a(1700000000000)];
    expect([b(1700000000000), b(1700000000000)]).toEqual(x);
    expect(x[0]! < x[1]!).toBe(true);
    expect(isUlid(x[0]!)).toBe(true);
    expect(ulidTime(x[0]!)).toBe(1700000000000);
    expect(isUlid('not-a-ulid')).toBe(false);
  });
});

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

describe('isUlid', () => {
  test("answers as ulidx's isValid on 26 characters, for any string", () => {
    const nearUlid = fc
      .array(
        fc.oneof(
          fc.constantFrom(...CROCKFORD, ...CROCKFORD.toLowerCase()),
          fc.constantFrom('I', 'L', 'O', 'U', 'i', 'l', 'o', 'u', '-', ' ', 'ß', 'ſ', 'ı', 'é', '\u{1F600}'),
        ),
        { minLength: 24, maxLength: 27 },
      )
      .map((cs) => cs.join(''));
    fc.assert(
      fc.property(fc.oneof(nearUlid, fc.string({ unit: 'binary', maxLength: 30 })), (s) => {
        expect(isUlid(s)).toBe(s.length === 26 && isValid(s));
      }),
      { numRuns: 5000 },
    );
  });

  test('accepts generated IDs and either case; rejects the letters Crockford leaves out', () => {
    const next = ulidSource();
    for (let i = 0; i < 100; i++) {
      const id = next();
      expect(isUlid(id)).toBe(true);
      expect(isUlid(id.toLowerCase())).toBe(true);
    }
    expect(isUlid('01ARZ3NDEKTSV4RRFFQ69G5FAV')).toBe(true);
    expect(isUlid('01ARZ3NDEKTSV4RRFFQ69G5FAI')).toBe(false);
    expect(isUlid('01ARZ3NDEKTSV4RRFFQ69G5FA')).toBe(false);
  });
});

describe('formatGoFloat', () => {
  it('formats like Go %g', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [-0, '-0'],
      [1, '1'],
      [0.1 + 0.2, '0.30000000000000004'],
      [1e-5, '1e-05'],
      [0.0001, '0.0001'],
      [1e21, '1e+21'],
      [1e20, '1e+20'],
      [123456, '123456'],
      [123456789, '1.23456789e+08'],
      [NaN, 'NaN'],
      [Infinity, '+Inf'],
      [-Infinity, '-Inf'],
      [-1.5e-7, '-1.5e-07'],
      [1.7976931348623157e308, '1.7976931348623157e+308'],
    ];
    for (const [v, s] of cases) expect(formatGoFloat(v)).toBe(s);
  });
});
