import { describe, expect, it } from 'vitest';
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
