import fc from 'fast-check';
import { isValid } from 'ulidx';
import { describe, expect, test } from 'vitest';
import { isUlid, ulidSource } from '../../src/tsdb/ulid.js';

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
