import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FormatError } from '../../util/errors.js';
import { BitReader, BitWriter, loadWords, peekBits, putBits, storeWords } from './bstream.js';

describe('bit streams', () => {
  it('fills bytes MSB first', () => {
    const w = new BitWriter(1);
    w.writeBits(1, 1);
    w.writeBits(0, 1);
    w.writeBits(0b101, 3);
    w.writeBits(0xabc, 12);
    expect(Buffer.from(w.view()).toString('hex')).toBe('ad5e00');
    expect(w.bitLength).toBe(17);
  });

  it('putBits/peekBits work across word boundaries and keep the stream zero past its end', () => {
    const W = new Int32Array(4).fill(-1);
    W[0] = 0;
    let pos = putBits(W, 0, 0b101, 3);
    pos = putBits(W, pos, 0xffffffff, 32);
    expect(pos).toBe(35);
    expect(W[0]! >>> 0).toBe(0xbfffffff);
    expect(W[1]! >>> 0).toBe(0xe0000000);
    expect(peekBits(W, 3) >>> 0).toBe(0xffffffff);
    expect(peekBits(W, 32) >>> 0).toBe(0xe0000000);
    expect(W[2]).toBe(-1); // untouched until the stream reaches it
  });

  it('storeWords writes big-endian bytes from a word offset', () => {
    const out = new Uint8Array(7).fill(0xee);
    storeWords(Int32Array.from([0x01020304, 0x05060708]), out, 4, 7);
    expect(Array.from(out)).toEqual([0xee, 0xee, 0xee, 0xee, 5, 6, 7]);
  });

  it('round-trips any sequence of fields of 1..64 bits', () => {
    const field = fc.tuple(
      fc.integer({ min: 1, max: 64 }),
      fc.nat({ max: 0xffffffff }),
      fc.nat({ max: 0xffffffff }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 }), fc.array(field, { maxLength: 200 }), (header, fields) => {
        const w = new BitWriter(1);
        w.reset(header);
        for (const [n, hi, lo] of fields) w.writeBits64(hi, lo, n);
        const bytes = w.view();
        expect(bytes.length).toBe(header + Math.ceil((w.bitLength - header * 8) / 8));
        const r = new BitReader();
        r.reset(bytes, header);
        for (const [n, hi, lo] of fields) {
          if (n > 32) {
            const h = n - 32;
            expect(r.readBits(h)).toBe(h === 32 ? hi : hi & (2 ** h - 1));
            expect(r.readBits(32)).toBe(lo);
          } else {
            expect(r.readBits(n)).toBe(n === 32 ? lo : lo % 2 ** n);
          }
        }
        expect(r.bitsLeft).toBeLessThan(8);
      }),
    );
  });

  it('reading past the end is a FormatError with the byte offset', () => {
    const r = new BitReader();
    r.reset(Uint8Array.from([0xff, 0x00]), 0, 'f', 40);
    expect(r.readBits(12)).toBe(0xff0);
    try {
      r.readBits(5);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(FormatError);
      expect((err as FormatError).offset).toBe(41);
    }
  });

  it('loadWords packs big-endian words and zero-pads, growing the array when needed', () => {
    const words = loadWords(Uint8Array.from([1, 2, 3, 4, 5, 6]), new Int32Array(1).fill(7));
    expect(words[0]).toBe(0x01020304);
    expect(words[1]).toBe(0x05060000);
    expect(Array.from(words.subarray(2, 10))).toEqual(new Array(8).fill(0));
  });
});
