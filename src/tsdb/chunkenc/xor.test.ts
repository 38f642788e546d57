import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FormatError, InvalidArgumentError } from '../../util/errors.js';
import { BitReader } from './bstream.js';
import { STALE_NAN_HI, STALE_NAN_LO, bitsToFloat, floatHi, floatLo } from './float-bits.js';
import {
  XOR_MAX_SAMPLES,
  XorAppender,
  XorIterator,
  decodeXorInto,
  scanXorTimes,
  xorNumSamples,
} from './xor.js';
import type { ChunkTimeSummary } from './codec.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

interface Sample {
  t: number;
  hi: number;
  lo: number;
}

function encode(samples: readonly Sample[], app = new XorAppender(16)): Uint8Array {
  app.reset();
  for (const s of samples) app.appendBits(s.t, s.hi, s.lo);
  return app.bytes().slice();
}

const cap = new Float64Array(XOR_MAX_SAMPLES);
const capHi = new Uint32Array(XOR_MAX_SAMPLES);
const capLo = new Uint32Array(XOR_MAX_SAMPLES);

function decode(bytes: Uint8Array): Sample[] {
  const n = decodeXorInto(bytes, cap, capHi, capLo);
  const out: Sample[] = [];
  for (let i = 0; i < n; i++) out.push({ t: cap[i]!, hi: capHi[i]!, lo: capLo[i]! });
  return out;
}

function decodeWithIterator(bytes: Uint8Array, it = new XorIterator()): Sample[] {
  it.reset(bytes);
  const out: Sample[] = [];
  while (it.next()) out.push({ t: it.t, hi: it.vHi, lo: it.vLo });
  return out;
}

function toRef(samples: readonly Sample[]): RefSample[] {
  return samples.map((s) => ({ t: BigInt(s.t), v: (BigInt(s.hi >>> 0) << 32n) | BigInt(s.lo >>> 0) }));
}

function f(t: number, v: number): Sample {
  return { t, hi: floatHi(v), lo: floatLo(v) };
}

/** Encodes, checks against the reference encoder, decodes both ways and re-encodes. */
function roundTrip(samples: readonly Sample[]): Uint8Array {
  const bytes = encode(samples);
  expect(hex(bytes)).toBe(hex(referenceEncode(toRef(samples))));
  const norm = samples.map((s) => ({ t: s.t, hi: s.hi >>> 0, lo: s.lo >>> 0 }));
  expect(decode(bytes)).toEqual(norm);
  expect(decodeWithIterator(bytes)).toEqual(norm);
  expect(hex(encode(decode(bytes)))).toBe(hex(bytes));
  return bytes;
}

const SPECIAL: ReadonlyArray<[number, number]> = [
  [STALE_NAN_HI, STALE_NAN_LO],
  [0x7ff80000, 0x00000001], // Prometheus' NormalNaN
  [0x7ff80000, 0],
  [0xfff80000, 0],
  [0x7ff00000, 0x00000001], // signalling NaN
  [0xffffffff, 0xffffffff],
  [0x80000000, 0], // -0
  [0, 0],
  [0x7ff00000, 0], // +Inf
  [0xfff00000, 0], // -Inf
  [0, 1], // smallest subnormal
  [0x000fffff, 0xffffffff], // largest subnormal
  [0x3ff00000, 0], // 1.0
  [0x3ff00000, 1],
  [0xbff00000, 0],
];

const u32 = fc.nat({ max: 0xffffffff });
/** A value step: new random bits, a special value, the same value, or a few flipped bits. */
const valueStep = fc.oneof(
  fc.tuple(fc.constant(0), u32, u32),
  fc.tuple(fc.constant(1), fc.nat({ max: SPECIAL.length - 1 }), fc.constant(0)),
  fc.tuple(fc.constant(2), fc.constant(0), fc.constant(0)),
  fc.tuple(fc.constant(3), fc.nat({ max: 63 }), fc.nat({ max: 63 })),
);
const BIG = 2 ** 44;
const deltaArb = fc.oneof(
  fc.constant(15000),
  fc.integer({ min: 14000, max: 16000 }),
  fc.integer({ min: 0, max: 2 ** 20 }),
  fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  fc.maxSafeNat().map((x) => x % BIG),
);

function buildSamples(t0: number, steps: ReadonlyArray<[number, [number, number, number]]>): Sample[] {
  const out: Sample[] = [];
  let t = t0;
  let hi = 0x40590000; // 100.0
  let lo = 0;
  for (const [delta, [kind, a, b]] of steps) {
    t += delta;
    if (kind === 0) {
      hi = a;
      lo = b;
    } else if (kind === 1) {
      [hi, lo] = SPECIAL[a]!;
    } else if (kind === 3) {
      for (const bit of [a, b]) {
        if (bit >= 32) hi = (hi ^ (1 << (bit - 32))) >>> 0;
        else lo = (lo ^ (1 << bit)) >>> 0;
      }
    }
    out.push({ t, hi, lo });
  }
  return out;
}

describe('XOR chunk encoding', () => {
  it('encodes the worked example byte for byte (matches promtool 2.42 output)', () => {
    const samples = [f(1000, 1), f(2000, 1), f(3000, 2), f(4005, 2), f(5005, 3.5)];
    const bytes = roundTrip(samples);
    expect(hex(bytes)).toBe('0005d00f3ff0000000000000e8073097ffe00157ff7b02c0');
  });

  it('keeps the empty trailing byte Go leaves after whole-byte writes (one-sample chunk)', () => {
    // From a promtool-written block: b 7.25 @ 1000 ms.
    const bytes = roundTrip([f(1000, 7.25)]);
    expect(hex(bytes)).toBe('0001d00f401d00000000000000');
  });

  it('matches promtool for a NaN followed by 1 (payload 0x7ff8000000000001)', () => {
    const bytes = roundTrip([{ t: 1000, hi: 0x7ff80000, lo: 1 }, f(2000, 1)]);
    expect(hex(bytes)).toBe('0002d00f7ff8000000000001e807c3fc0080000000000010');
  });

  it('empty chunk is the bare header', () => {
    const a = new XorAppender();
    expect(hex(a.bytes())).toBe('0000');
    expect(decode(a.bytes())).toEqual([]);
    expect(decodeWithIterator(a.bytes())).toEqual([]);
  });

  it('round-trips arbitrary increasing sequences and value bit patterns', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 52), max: 0 }),
        fc.array(fc.tuple(deltaArb, valueStep), { minLength: 1, maxLength: 300 }),
        (t0, steps) => {
          roundTrip(buildSamples(t0, steps));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('round-trips non-monotonic timestamps (Go accepts any int64 sequence)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), valueStep), {
          minLength: 1,
          maxLength: 100,
        }),
        (steps) => {
          roundTrip(buildSamples(0, steps));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('scanXorTimes reports count, first, last and the first out-of-order sample as a full decode sees them', () => {
    const sum: ChunkTimeSummary = {
      samples: -1,
      first: 0,
      last: 0,
      disorderAt: 0,
      disorderT: 0,
      disorderPrevT: 0,
    };
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -5000, max: 2 ** 40 }), valueStep), {
          minLength: 1,
          maxLength: 200,
        }),
        (steps) => {
          const samples = buildSamples(0, steps);
          const bytes = encode(samples);
          // Interleave a full decode so the scan must not depend on what it left in the scratch.
          const full = decode(bytes);
          scanXorTimes(bytes, sum);
          expect(sum.samples).toBe(full.length);
          expect(sum.first).toBe(full[0]!.t);
          expect(sum.last).toBe(full[full.length - 1]!.t);
          const bad = full.findIndex((x, i) => i > 0 && x.t <= full[i - 1]!.t);
          expect(sum.disorderAt).toBe(bad);
          if (bad > 0) {
            expect(sum.disorderT).toBe(full[bad]!.t);
            expect(sum.disorderPrevT).toBe(full[bad - 1]!.t);
          }
        },
      ),
      { numRuns: 300 },
    );
    scanXorTimes(encode([]), sum);
    expect(sum.samples).toBe(0);
    expect(sum.first).toBeNaN();
  });

  it('puts each delta-of-delta in the right bucket, boundaries included', () => {
    const cases: Array<[number, string, number]> = [
      [0, '0', 0],
      [1, '10', 14],
      [-1, '10', 14],
      [-8191, '10', 14],
      [8192, '10', 14],
      [-8192, '110', 17],
      [8193, '110', 17],
      [-65535, '110', 17],
      [65536, '110', 17],
      [-65536, '1110', 20],
      [65537, '1110', 20],
      [-524287, '1110', 20],
      [524288, '1110', 20],
      [-524288, '1111', 64],
      [524289, '1111', 64],
      [2 ** 40, '1111', 64],
      [-(2 ** 40), '1111', 64],
    ];
    const r = new BitReader();
    for (const [dod, prefix, payloadBits] of cases) {
      const base = 10_000_000;
      const samples = [f(0, 0), f(base, 0), f(2 * base + dod, 0), f(3 * base + 2 * dod, 0)];
      const bytes = roundTrip(samples);
      // t0 = 0 (1 byte), 8 value bytes, uvarint 10_000_000 (4 bytes), value bit '0'.
      r.reset(bytes, 2 + 1 + 8 + 4);
      expect(r.readBits(1)).toBe(0);
      let got = '';
      for (let i = 0; i < 4; i++) {
        const bit = r.readBits(1);
        got += String(bit);
        if (bit === 0) break;
      }
      expect(got, `dod ${dod}`).toBe(prefix);
      let payload = 0n;
      for (let i = 0; i < payloadBits; i++) payload = (payload << 1n) | BigInt(r.readBits(1));
      if (payloadBits > 0) {
        const n = BigInt(payloadBits);
        const signed = payload > 1n << (n - 1n) ? payload - (1n << n) : payload;
        expect(signed, `dod ${dod}`).toBe(BigInt(dod));
      }
    }
  });

  it('handles deltas and dods around ±2^52 exactly', () => {
    const P = 2 ** 52;
    const seqs: number[][] = [
      [-P, 0, P, P - 1, -P, 0],
      [0, P, 2 * P - 1, 0, -P],
      [Number.MAX_SAFE_INTEGER, 0, Number.MAX_SAFE_INTEGER],
      [-Number.MAX_SAFE_INTEGER, 0, -Number.MAX_SAFE_INTEGER, 0],
      [0, 1, P + 1, 1, P + 2],
      [-Number.MAX_SAFE_INTEGER],
      [Number.MAX_SAFE_INTEGER],
    ];
    for (const ts of seqs) roundTrip(ts.map((t, i) => f(t, i)));
    // Largest dod in the range: delta -(2^53-1) then +(2^53-1).
    const M = Number.MAX_SAFE_INTEGER;
    roundTrip([f(M, 1), f(0, 2), f(M, 3)]);
  });

  it('keeps NaN payloads, -0, infinities and subnormals bit for bit (decode→encode identical)', () => {
    const samples: Sample[] = SPECIAL.map(([hi, lo], i) => ({ t: i * 15000, hi, lo }));
    const bytes = roundTrip(samples);
    // Re-encode through the iterator's hi/lo fields: never a JS number on this path.
    const it = new XorIterator();
    it.reset(bytes);
    const app = new XorAppender();
    while (it.next()) app.appendBits(it.t, it.vHi, it.vLo);
    expect(hex(app.bytes())).toBe(hex(bytes));
    // The stale marker specifically.
    it.reset(bytes);
    expect(it.next()).toBe(true);
    expect([it.vHi, it.vLo]).toEqual([STALE_NAN_HI, STALE_NAN_LO]);
    expect(Number.isNaN(it.value())).toBe(true);
  });

  it('append(t, number) gives the same bytes as appendBits for ordinary values and -0', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true }), { minLength: 1, maxLength: 50 }), (vs) => {
        const a = new XorAppender();
        const b = new XorAppender();
        vs.forEach((v, i) => {
          a.append(i * 1000, v);
          b.appendBits(i * 1000, floatHi(v), floatLo(v));
        });
        expect(hex(a.bytes())).toBe(hex(b.bytes()));
        const it = new XorIterator();
        it.reset(a.bytes());
        for (const v of vs) {
          expect(it.next()).toBe(true);
          expect(Object.is(it.value(), v)).toBe(true);
        }
      }),
    );
  });

  it('appendRange, appendBits and mixes of both produce identical bytes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(deltaArb, valueStep), { minLength: 1, maxLength: 400 }),
        fc.array(fc.nat({ max: 400 }), { maxLength: 6 }),
        (steps, cuts) => {
          const samples = buildSamples(1_700_000_000_000, steps);
          const n = samples.length;
          const ts = Float64Array.from(samples.map((x) => x.t));
          const his = Uint32Array.from(samples.map((x) => x.hi));
          const los = Uint32Array.from(samples.map((x) => x.lo));
          const bulk = new XorAppender(4);
          bulk.appendRange(ts, his, los, 0, n);
          const expected = hex(referenceEncode(toRef(samples)));
          expect(hex(bulk.bytes())).toBe(expected);
          // Ranges cut at arbitrary points, with single appends in between.
          const mixed = new XorAppender(4);
          const points = [...new Set([0, ...cuts.map((c) => c % (n + 1)), n])].sort((a, b) => a - b);
          for (let k = 0; k + 1 < points.length; k++) {
            const [a, b] = [points[k]!, points[k + 1]!];
            if (k % 2 === 0) mixed.appendRange(ts, his, los, a, b);
            else for (let i = a; i < b; i++) mixed.appendBits(ts[i]!, his[i]!, los[i]!);
            expect(mixed.numSamples).toBe(b);
            expect(mixed.lastT).toBe(ts[b - 1]);
          }
          expect(mixed.byteLength).toBe(expected.length / 2);
          expect(hex(mixed.bytes())).toBe(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a bad timestamp in appendRange keeps the samples before it', () => {
    const ts = Float64Array.from([0, 1000, 2000, 2.5, 4000]);
    const his = new Uint32Array(5);
    const los = new Uint32Array(5);
    const a = new XorAppender();
    expect(() => a.appendRange(ts, his, los, 0, 5)).toThrowError(InvalidArgumentError);
    expect(a.numSamples).toBe(3);
    expect(hex(a.bytes())).toBe(hex(encode([f(0, 0), f(1000, 0), f(2000, 0)])));
    a.append(3000, 0);
    expect(decode(a.bytes()).map((x) => x.t)).toEqual([0, 1000, 2000, 3000]);
    expect(() => a.appendRange(ts, his, los, 3, 6)).toThrowError(InvalidArgumentError);
  });

  it('validates single appends immediately although it encodes them in batches', () => {
    const a = new XorAppender();
    for (let i = 0; i < 10; i++) a.append(i * 1000, i);
    expect(a.numSamples).toBe(10);
    expect(() => a.append(-Number.MAX_SAFE_INTEGER, 0)).toThrowError(/exceeds/);
    expect(() => a.append(0.5, 0)).toThrowError(/not an integer/);
    expect(a.numSamples).toBe(10);
    expect(a.lastT).toBe(9000);
    a.reset();
    expect(a.numSamples).toBe(0);
    expect(hex(a.bytes())).toBe('0000');
  });

  it('refuses the 65536th sample', () => {
    const a = new XorAppender();
    for (let i = 0; i < XOR_MAX_SAMPLES; i++) a.append(i * 15000, i % 7);
    expect(a.numSamples).toBe(65535);
    expect(() => a.append(65535 * 15000, 1)).toThrowError(InvalidArgumentError);
    const bytes = a.bytes();
    expect(xorNumSamples(bytes)).toBe(65535);
    const it = new XorIterator();
    it.reset(bytes);
    let n = 0;
    let bad = 0;
    while (it.next()) {
      if (it.t !== n * 15000 || it.value() !== n % 7) bad++;
      n++;
    }
    expect(n).toBe(65535);
    expect(bad).toBe(0);
  });

  it('decodes a maximal chunk (64-bit dods, 64-bit values) even with junk after it', () => {
    const ts = new Float64Array(XOR_MAX_SAMPLES);
    const his = new Uint32Array(XOR_MAX_SAMPLES);
    const los = new Uint32Array(XOR_MAX_SAMPLES);
    let t = 0;
    for (let i = 0; i < XOR_MAX_SAMPLES; i++) {
      t += i % 2 === 0 ? 1 : 1_000_000;
      ts[i] = t;
      his[i] = i % 2 === 0 ? 0 : 0x80000000;
      los[i] = i % 2 === 0 ? 0 : 1;
    }
    const a = new XorAppender();
    a.appendRange(ts, his, los, 0, XOR_MAX_SAMPLES);
    const bytes = a.bytes();
    expect(bytes.length).toBeGreaterThan(1_000_000);
    const withJunk = new Uint8Array(bytes.length + 300_000).fill(0xa5);
    withJunk.set(bytes);
    for (const chunk of [bytes, withJunk]) {
      const n = decodeXorInto(chunk, cap, capHi, capLo);
      expect(n).toBe(XOR_MAX_SAMPLES);
      let bad = 0;
      for (let i = 0; i < n; i++) {
        if (cap[i] !== ts[i] || capHi[i] !== his[i] || capLo[i] !== los[i]) bad++;
      }
      expect(bad).toBe(0);
    }
  });

  it('refuses timestamps and deltas that are not exact integers', () => {
    const a = new XorAppender();
    expect(() => a.append(1.5, 0)).toThrowError(InvalidArgumentError);
    expect(() => a.append(2 ** 53, 0)).toThrowError(InvalidArgumentError);
    expect(() => a.append(NaN, 0)).toThrowError(InvalidArgumentError);
    a.append(-(2 ** 52), 0);
    a.append(2 ** 52 - 1, 0); // delta 2^53 - 1: fine
    expect(() => a.append(-(2 ** 52) - 1, 0)).toThrowError(/exceeds/);
    expect(a.numSamples).toBe(2);
  });

  it('reuses one iterator across chunks and seeks', () => {
    const it = new XorIterator();
    const c1 = encode([f(10, 1), f(20, 2), f(30, 3)]);
    const c2 = encode(Array.from({ length: 500 }, (_, i) => f(i * 7, i)));
    expect(decodeWithIterator(c1, it).length).toBe(3);
    expect(decodeWithIterator(c2, it).length).toBe(500);
    expect(decodeWithIterator(c1, it).map((s) => s.t)).toEqual([10, 20, 30]);
    it.reset(c2);
    expect(it.seek(700)).toBe(true);
    expect(it.t).toBe(700);
    expect(it.seek(701)).toBe(true);
    expect(it.t).toBe(707);
    expect(it.seek(1e9)).toBe(false);
    expect(it.numSamples).toBe(500);
  });
});

describe('XOR chunk decoding of bad input', () => {
  function expectFormatError(fn: () => unknown, code?: string): FormatError {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(FormatError);
      if (code !== undefined) expect((err as FormatError).code).toBe(code);
      return err as FormatError;
    }
    throw new Error('expected a FormatError');
  }

  it('rejects a missing header', () => {
    expectFormatError(() => decode(new Uint8Array(1)), 'ERR_TSDB_TRUNCATED');
    const it = new XorIterator();
    it.reset(new Uint8Array(0), 'seg', 100);
    const e = expectFormatError(() => it.next(), 'ERR_TSDB_TRUNCATED');
    expect(e.file).toBe('seg');
    expect(e.offset).toBe(100);
  });

  it('a sample count larger than the bits allow is a truncation, after the good samples', () => {
    const good = encode(Array.from({ length: 20 }, (_, i) => f(i * 15000 + (i % 3), i * 1.5)));
    const bad = good.slice();
    bad[1] = 200;
    const e = expectFormatError(() => decode(bad), 'ERR_TSDB_TRUNCATED');
    expect(e.message).toMatch(/runs past the end/);
    const it = new XorIterator();
    it.reset(bad, 'chunks/000001', 1000);
    let n = 0;
    // Zero padding decodes as cheap samples, so a few more may appear; all 20 real ones come first.
    const err = expectFormatError(() => {
      while (it.next()) n++;
    }, 'ERR_TSDB_TRUNCATED');
    expect(n).toBeGreaterThanOrEqual(20);
    expect(err.file).toBe('chunks/000001');
    expect(err.offset).toBeGreaterThanOrEqual(1000);
    expect(it.next()).toBe(false);
  });

  it('every truncation of a valid chunk decodes a prefix or throws FormatError', () => {
    const samples = Array.from({ length: 130 }, (_, i) => f(i * 15000 + ((i * 37) % 11), Math.sin(i)));
    const full = encode(samples);
    for (let len = 0; len < full.length; len++) {
      const cut = full.subarray(0, len);
      try {
        const got = decode(cut);
        // Only the zero-padded tail can be cut without losing information.
        expect(got.length).toBe(samples.length);
      } catch (err) {
        expect(err).toBeInstanceOf(FormatError);
      }
    }
  });

  it('a window wider than 64 bits is corrupt', () => {
    // Two samples; second value header '11' L=31 S=63 (94 bits).
    const a = new XorAppender();
    a.append(0, 1);
    a.append(1000, 3);
    const bytes = a.bytes().slice();
    // Value bits start at byte 2 + 1 + 8 + 2 = 13: rewrite with '11' 11111 111111 then ones.
    bytes.fill(0xff, 13);
    const big = new Uint8Array(bytes.length + 20).fill(0xff);
    big.set(bytes.subarray(0, 13));
    const e = expectFormatError(() => decode(big), 'ERR_TSDB_CORRUPT');
    expect(e.message).toMatch(/window/);
  });

  it('uvarint overflow and out-of-range timestamps are corrupt', () => {
    const overflow = unhex('0001 ffffffffffffffffff7f 0000000000000000');
    expectFormatError(() => decode(overflow), 'ERR_TSDB_CORRUPT');
    // t0 = 2^53 (zig-zag 2^54): representable in Go, not exactly as a JS number.
    const big = unhex('0001 8080808080808040 3ff0000000000000 00');
    expectFormatError(() => decode(big), 'ERR_TSDB_CORRUPT');
  });

  it('fuzz: flipped bits never hang and give either samples or FormatError', () => {
    const app = new XorAppender();
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
        fc.array(fc.tuple(deltaArb, valueStep), { minLength: 1, maxLength: 150 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
        (t0, steps, flips) => {
          const bytes = encode(buildSamples(t0, steps), app);
          for (const fl of flips) {
            const bit = fl % (bytes.length * 8);
            bytes[bit >>> 3]! ^= 0x80 >>> (bit & 7);
          }
          for (const dec of [decode, decodeWithIterator]) {
            try {
              const got = dec(bytes);
              expect(got.length).toBe(xorNumSamples(bytes));
            } catch (err) {
              expect(err).toBeInstanceOf(FormatError);
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('decodeXorInto refuses arrays that are too small', () => {
    const bytes = encode([f(1, 1), f(2, 2)]);
    expect(() => decodeXorInto(bytes, new Float64Array(1), new Uint32Array(2), new Uint32Array(2))).toThrow(
      InvalidArgumentError,
    );
  });
});

describe('float bits', () => {
  it('splits and joins halves in IEEE order whatever the platform byte order', () => {
    expect(floatHi(1)).toBe(0x3ff00000);
    expect(floatLo(1)).toBe(0);
    expect(floatHi(-0)).toBe(0x80000000);
    expect(floatLo(Number.MIN_VALUE)).toBe(1);
    expect(Object.is(bitsToFloat(0x80000000, 0), -0)).toBe(true);
    expect(bitsToFloat(0x7ff00000, 0)).toBe(Infinity);
    fc.assert(
      fc.property(fc.double(), (v) => {
        expect(Object.is(bitsToFloat(floatHi(v), floatLo(v)), v)).toBe(true);
      }),
    );
  });
});

// ---- Reference encoder (BigInt, literal model of Go bstream) ----

const M64 = (1n << 64n) - 1n;

class GoBstream {
  stream: number[] = [0, 0];
  count = 0;

  writeBit(bit: boolean): void {
    if (this.count === 0) {
      this.stream.push(0);
      this.count = 8;
    }
    if (bit) this.stream[this.stream.length - 1]! |= 1 << (this.count - 1);
    this.count--;
  }

  writeByte(byt: number): void {
    if (this.count === 0) {
      this.stream.push(0);
      this.count = 8;
    }
    const i = this.stream.length - 1;
    this.stream[i]! |= byt >> (8 - this.count);
    this.stream.push((byt << this.count) & 0xff);
  }

  writeBits(u: bigint, nbits: number): void {
    u = (u << BigInt(64 - nbits)) & M64;
    while (nbits >= 8) {
      this.writeByte(Number(u >> 56n));
      u = (u << 8n) & M64;
      nbits -= 8;
    }
    while (nbits > 0) {
      this.writeBit(u >> 63n === 1n);
      u = (u << 1n) & M64;
      nbits--;
    }
  }
}

function uvarintBytes(u: bigint): number[] {
  const out: number[] = [];
  u &= M64;
  while (u >= 0x80n) {
    out.push(Number(u & 0x7fn) | 0x80);
    u >>= 7n;
  }
  out.push(Number(u));
  return out;
}

function fits(x: bigint, n: number): boolean {
  const h = 1n << BigInt(n - 1);
  return -(h - 1n) <= x && x <= h;
}

function clz64(x: bigint): number {
  let n = 0;
  for (let b = 63n; b >= 0n && ((x >> b) & 1n) === 0n; b--) n++;
  return n;
}

function ctz64(x: bigint): number {
  let n = 0;
  while (n < 64 && ((x >> BigInt(n)) & 1n) === 0n) n++;
  return n;
}

interface RefSample {
  t: bigint;
  /** 64-bit IEEE pattern. */
  v: bigint;
}

function referenceEncode(samples: readonly RefSample[]): Uint8Array {
  const b = new GoBstream();
  let t = 0n;
  let v = 0n;
  let tDelta = 0n;
  let leading = 0xff;
  let trailing = 0;
  samples.forEach((s, num) => {
    let d = 0n;
    if (num === 0) {
      const zz = ((s.t << 1n) ^ (s.t >> 63n)) & M64;
      for (const byte of uvarintBytes(zz)) b.writeByte(byte);
      b.writeBits(s.v, 64);
    } else {
      d = s.t - t;
      if (num === 1) {
        for (const byte of uvarintBytes(d)) b.writeByte(byte);
      } else {
        const dod = BigInt.asIntN(64, d - tDelta);
        if (dod === 0n) b.writeBit(false);
        else if (fits(dod, 14)) {
          b.writeBits(0b10n, 2);
          b.writeBits(dod & ((1n << 14n) - 1n), 14);
        } else if (fits(dod, 17)) {
          b.writeBits(0b110n, 3);
          b.writeBits(dod & ((1n << 17n) - 1n), 17);
        } else if (fits(dod, 20)) {
          b.writeBits(0b1110n, 4);
          b.writeBits(dod & ((1n << 20n) - 1n), 20);
        } else {
          b.writeBits(0b1111n, 4);
          b.writeBits(dod & M64, 64);
        }
      }
      const x = s.v ^ v;
      if (x === 0n) b.writeBit(false);
      else {
        b.writeBit(true);
        let l = clz64(x);
        const tr = ctz64(x);
        if (l >= 32) l = 31;
        if (leading !== 0xff && l >= leading && tr >= trailing) {
          b.writeBit(false);
          b.writeBits(x >> BigInt(trailing), 64 - leading - trailing);
        } else {
          leading = l;
          trailing = tr;
          b.writeBit(true);
          b.writeBits(BigInt(l), 5);
          const sig = 64 - l - tr;
          b.writeBits(BigInt(sig & 63), 6);
          b.writeBits(x >> BigInt(tr), sig);
        }
      }
    }
    t = s.t;
    v = s.v;
    tDelta = d;
  });
  const out = Uint8Array.from(b.stream);
  out[0] = samples.length >> 8;
  out[1] = samples.length & 0xff;
  return out;
}
