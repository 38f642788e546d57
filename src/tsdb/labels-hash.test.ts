import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { labelsHash, stringsHash, xxhash64Decimal, xxhash64Hex } from './labels-hash.js';

// Straightforward BigInt XXH64 from the spec, to check the 32-bit-halves version against.
const M = (1n << 64n) - 1n;
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;
const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & M;
const round = (acc: bigint, v: bigint): bigint => (rotl((acc + v * P2) & M, 31n) * P1) & M;
const merge = (acc: bigint, v: bigint): bigint => ((((acc ^ round(0n, v)) * P1) & M) + P4) & M;
function read(b: Uint8Array, i: number, n: number): bigint {
  let x = 0n;
  for (let k = n - 1; k >= 0; k--) x = (x << 8n) | BigInt(b[i + k]!);
  return x;
}
function refXxh64(b: Uint8Array): bigint {
  let i = 0;
  let h: bigint;
  if (b.length >= 32) {
    let v1 = (P1 + P2) & M;
    let v2 = P2;
    let v3 = 0n;
    let v4 = -P1 & M;
    for (; i + 32 <= b.length; i += 32) {
      v1 = round(v1, read(b, i, 8));
      v2 = round(v2, read(b, i + 8, 8));
      v3 = round(v3, read(b, i + 16, 8));
      v4 = round(v4, read(b, i + 24, 8));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M;
    h = merge(merge(merge(merge(h, v1), v2), v3), v4);
  } else {
    h = P5;
  }
  h = (h + BigInt(b.length)) & M;
  for (; i + 8 <= b.length; i += 8) h = (((rotl(h ^ round(0n, read(b, i, 8)), 27n) * P1) & M) + P4) & M;
  if (i + 4 <= b.length) {
    h = (((rotl(h ^ ((read(b, i, 4) * P1) & M), 23n) * P2) & M) + P3) & M;
    i += 4;
  }
  for (; i < b.length; i++) h = (rotl(h ^ ((BigInt(b[i]!) * P5) & M), 11n) * P1) & M;
  h = ((h ^ (h >> 33n)) * P2) & M;
  h = ((h ^ (h >> 29n)) * P3) & M;
  return h ^ (h >> 32n);
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('xxhash64', () => {
  it('matches the published XXH64 vectors', () => {
    expect(xxhash64Hex(utf8(''))).toBe('ef46db3751d8e999');
    expect(xxhash64Hex(utf8('a'))).toBe('d24ec4f1a98c6e5b');
    expect(xxhash64Hex(utf8('abc'))).toBe('44bc2cf5ad770999');
    expect(xxhash64Decimal(utf8(''))).toBe('17241709254077376921');
  });

  it('matches a BigInt reference on arbitrary input (all tail lengths, multi-stripe)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(xxhash64Hex(bytes)).toBe(refXxh64(bytes).toString(16).padStart(16, '0'));
      }),
      { numRuns: 500 },
    );
  });
});

describe('labelsHash', () => {
  // Expected values from Thanos pkg/compact TestGroupKey (Prometheus slicelabels Hash()).
  it('reproduces Prometheus labels.Hash() as used in Thanos group keys', () => {
    expect(labelsHash([])).toBe('17241709254077376921');
    expect(labelsHash(['foo', 'bar', 'foo1', 'bar2'])).toBe('2124638872457683483');
    expect(labelsHash([`foo/some..thing/some.thing/../`, `a_b_c/bar-something-a\\metric/a\\x`])).toBe(
      '16590761456214576373',
    );
  });

  it('hashes long and non-ASCII label sets (buffer growth, UTF-8)', () => {
    const long = 'x'.repeat(5000);
    // 0xFF separators are raw bytes (never valid UTF-8), not the encoding of U+00FF.
    const bytes = new Uint8Array([...utf8(long), 0xff, ...utf8('v'), 0xff]);
    expect(labelsHash([long, 'v'])).toBe(refXxh64(bytes).toString());
    const uni = new Uint8Array([...utf8('région'), 0xff, ...utf8('Zürich 🏔'), 0xff]);
    expect(labelsHash(['région', 'Zürich 🏔'])).toBe(refXxh64(uni).toString());
  });
});

describe('stringsHash', () => {
  it('is order sensitive and separator safe', () => {
    expect(stringsHash(['a', 'b'])).not.toBe(stringsHash(['b', 'a']));
    expect(stringsHash(['ab', 'c'])).not.toBe(stringsHash(['a', 'bc']));
    expect(stringsHash(['a', 'b'])).toMatch(/^[0-9a-f]{16}$/);
  });
});
