/**
 * Little-endian copies in and out of typed arrays, and big-endian words out of them: the byte
 * copy (little-endian hosts) and the element-by-element path (any host) agree with DataView's
 * reading of the same bytes.
 */
import { describe, expect, test } from 'vitest';
import { seededRandom } from '../../src/tsdb/ulid.js';
import { copyBytes, copyLe, HOST_LE, leBytes, putBe32s } from '../../src/util/typed-arrays.js';

describe('little-endian typed-array copies', () => {
  const rnd = seededRandom(7);
  const f64 = Float64Array.from(
    { length: 37 },
    (_, i) => [NaN, -0, Infinity, 2 ** 53 + 2, 1.7e12 + i][i % 5]! * (rnd() < 0.5 ? 1 : -1),
  );
  const u32 = Uint32Array.from({ length: 41 }, () => Math.floor(rnd() * 2 ** 32));

  test('leBytes writes what DataView reads back little-endian, on either path', () => {
    for (const hostLe of [true, false]) {
      const fb = leBytes(f64, f64.length, hostLe);
      const fv = new DataView(fb.buffer, fb.byteOffset, fb.byteLength);
      expect(Array.from(f64, (_, i) => fv.getFloat64(i * 8, true))).toStrictEqual(Array.from(f64));
      const ub = leBytes(u32, 10, hostLe);
      expect(ub.byteLength).toBe(40);
      const uv = new DataView(ub.buffer, ub.byteOffset, ub.byteLength);
      expect(Array.from({ length: 10 }, (_, i) => uv.getUint32(i * 4, true))).toStrictEqual(
        Array.from(u32.subarray(0, 10)),
      );
    }
  });

  test('both copy paths read the same values at odd offsets, and refuse to read past the source', () => {
    // An odd source offset: the values cannot be viewed in place.
    const src = new Uint8Array(3 + 8 * f64.length);
    src.set(leBytes(f64, f64.length, false), 3);
    for (const hostLe of [true, false]) {
      const dst = new Float64Array(f64.length + 5);
      copyLe(dst, 5, src, 3, f64.length, hostLe);
      expect(Array.from(dst.subarray(5))).toStrictEqual(Array.from(f64));
      expect(Array.from(dst.subarray(0, 5))).toStrictEqual([0, 0, 0, 0, 0]);
      expect(() => copyLe(dst, 0, src, 4, f64.length, hostLe)).toThrow(RangeError);
    }
    const usrc = Buffer.concat([Buffer.alloc(1), leBytes(u32, u32.length, false)]);
    for (const hostLe of [true, false]) {
      const dst = new Uint32Array(u32.length);
      copyLe(dst, 0, usrc, 1, u32.length, hostLe);
      expect(dst).toStrictEqual(u32);
    }
    expect(HOST_LE).toBe(true); // every CI machine; the other path is what runs on s390x
  });

  test('putBe32s writes what DataView reads back big-endian, aligned or not, on either path', () => {
    // Lengths across Buffer#swap32's switch from a JS loop to native (48 words), and odd offsets
    // where the words cannot be viewed in place.
    for (const count of [0, 1, 7, 41, 48, 300]) {
      const words = Uint32Array.from({ length: count }, () => Math.floor(rnd() * 2 ** 32));
      for (const at of [0, 4, 8, 1, 3]) {
        for (const hostLe of [true, false]) {
          const dst = Buffer.alloc(at + 4 * count + 4, 0xee);
          putBe32s(dst, at, words, count, hostLe);
          const dv = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
          expect(Array.from({ length: count }, (_, i) => dv.getUint32(at + 4 * i, false))).toStrictEqual(
            Array.from(words),
          );
          // Nothing written around the words.
          expect([...dst.subarray(0, at), ...dst.subarray(at + 4 * count)]).toStrictEqual(
            new Array<number>(at + 4).fill(0xee),
          );
        }
      }
    }
    expect(() => putBe32s(Buffer.alloc(8), 4, u32, 2)).toThrow(RangeError);
    expect(() => putBe32s(Buffer.alloc(64), 0, u32.subarray(0, 3), 4)).toThrow(RangeError);
  });

  test('copyBytes copies exactly the range, by the loop and by set alike', () => {
    const src = Uint8Array.from({ length: 400 }, (_, i) => (i * 37 + 11) & 0xff);
    for (const n of [0, 1, 63, 64, 65, 300]) {
      const dst = new Uint8Array(n + 10).fill(0xee);
      copyBytes(src, 7, 7 + n, dst, 5);
      expect(Array.from(dst.subarray(5, 5 + n))).toStrictEqual(Array.from(src.subarray(7, 7 + n)));
      expect([...dst.subarray(0, 5), ...dst.subarray(5 + n)]).toStrictEqual(new Array<number>(10).fill(0xee));
    }
  });
});
