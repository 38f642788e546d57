import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Decbuf } from './decbuf.js';
import { Encbuf } from './encbuf.js';
import { crc32c } from './crc32c.js';
import { FormatError } from '../../util/errors.js';

describe('encoding', () => {
  it('crc32c check value', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    const whole = crc32c(Buffer.from('hello world'));
    expect(crc32c(Buffer.from(' world'), crc32c(Buffer.from('hello')))).toBe(whole);
  });

  it('uvarint/varint round-trip across the safe integer range', () => {
    fc.assert(
      fc.property(
        fc.array(fc.maxSafeNat()),
        fc.array(fc.integer({ min: -(2 ** 52), max: 2 ** 52 - 1 })),
        (us, vs) => {
          const e = new Encbuf(1);
          for (const u of us) e.putUvarint(u);
          for (const v of vs) e.putVarint(v);
          const d = new Decbuf(e.view());
          for (const u of us) expect(d.uvarint()).toBe(u);
          for (const v of vs) expect(d.varint()).toBe(v);
          expect(d.remaining).toBe(0);
        },
      ),
    );
    // The edges: 2^53 - 1 and the zig-zag extremes decode; 2^53 is corrupt, not rounded.
    const e = new Encbuf(1);
    e.putUvarint(Number.MAX_SAFE_INTEGER);
    e.putVarint(-(2 ** 52));
    e.putVarint(2 ** 52 - 1);
    e.putUvarint(2 ** 53);
    const d = new Decbuf(e.view());
    expect([d.uvarint(), d.varint(), d.varint()]).toEqual([Number.MAX_SAFE_INTEGER, -(2 ** 52), 2 ** 52 - 1]);
    expect(() => d.uvarint()).toThrow(/exceeds 2\^53/);
  });

  it('matches Go encodings for known values', () => {
    const e = new Encbuf();
    e.putUvarint(300);
    e.putVarint(-1);
    e.putVarint(1);
    e.putUvarint(2 ** 32);
    expect(Buffer.from(e.view()).toString('hex')).toBe('ac02' + '01' + '02' + '8080808010');
  });

  it('big varints cover the int64 extremes', () => {
    const vals = [-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, 123456789012345678n];
    const e = new Encbuf();
    for (const v of vals) e.putVarintBig(v);
    const d = new Decbuf(e.view());
    for (const v of vals) expect(d.varintBig()).toBe(v);
  });

  it('be32/be64 round-trip, values past 2^31 and 2^32', () => {
    const e = new Encbuf();
    e.putBE32(0xdeadbeef);
    e.putBE64(2 ** 40 + 5);
    const d = new Decbuf(e.view());
    expect(d.be32()).toBe(0xdeadbeef);
    expect(d.be64()).toBe(2 ** 40 + 5);
  });

  it('truncation and overlong varints are typed errors with offsets', () => {
    const d = new Decbuf(Uint8Array.from([0x80, 0x80]), 0, 2, 'f', 100);
    expect(() => d.uvarint()).toThrowError(FormatError);
    try {
      new Decbuf(Uint8Array.from(new Array(11).fill(0xff)), 0, 11, 'idx', 5).uvarint();
    } catch (err) {
      expect(err).toBeInstanceOf(FormatError);
      expect((err as FormatError).code).toBe('ERR_TSDB_CORRUPT');
      expect((err as FormatError).offset).toBe(5);
      expect((err as FormatError).message).toContain('idx');
    }
    expect(() => new Decbuf(Uint8Array.from([1, 2, 3]), 0, 3, 'x').be32()).toThrowError(/x at offset 0/);
  });

  it('strings are UTF-8', () => {
    const e = new Encbuf(2);
    e.putUvarintString('héllo ☃');
    const d = new Decbuf(e.view());
    expect(d.uvarintString()).toBe('héllo ☃');
  });

  it('strings of any length and content: uvarint byte length, then the UTF-8 bytes', () => {
    const str = fc.oneof(
      fc.string({ unit: 'grapheme-ascii', maxLength: 300 }),
      fc.string({ unit: 'grapheme', maxLength: 140 }),
      // ASCII up to the last character, then not: the short path must give up cleanly.
      fc
        .tuple(fc.string({ unit: 'grapheme-ascii', maxLength: 126 }), fc.constantFrom('é', '\u0080', '😀'))
        .map(([a, b]) => a + b),
      fc.constantFrom('', 'a'.repeat(127), 'a'.repeat(128), '\u007f'),
    );
    fc.assert(
      fc.property(fc.array(str, { maxLength: 8 }), fc.integer({ min: 1, max: 64 }), (xs, cap) => {
        const e = new Encbuf(cap);
        const want: Buffer[] = [];
        for (const s of xs) {
          e.putUvarintString(s);
          const b = Buffer.from(s, 'utf8');
          const head = new Encbuf(8);
          head.putUvarint(b.length);
          want.push(Buffer.from(head.view()), b);
        }
        expect(Buffer.from(e.view()).equals(Buffer.concat(want))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
