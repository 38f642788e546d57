/**
 * XXH64 (seed 0) over bytes, in 32-bit halves so hashing stays allocation-light (no BigInt per
 * step). It is the hash Prometheus' `labels.Hash()` uses (slicelabels build, which Thanos ships),
 * so `labelsHash` below reproduces Thanos' compaction group keys bit for bit.
 */

/** A 64-bit value as two unsigned 32-bit halves. Mutated in place by the helpers below. */
interface U64 {
  hi: number;
  lo: number;
}

function u64(big: bigint): U64 {
  return { hi: Number((big >> 32n) & 0xffffffffn), lo: Number(big & 0xffffffffn) };
}

const P1 = u64(0x9e3779b185ebca87n);
const P2 = u64(0xc2b2ae3d27d4eb4fn);
const P3 = u64(0x165667b19e3779f9n);
const P4 = u64(0x85ebca77c2b2ae63n);
const P5 = u64(0x27d4eb2f165667c5n);
const MASK64 = (1n << 64n) - 1n;
const V1_INIT = u64((0x9e3779b185ebca87n + 0xc2b2ae3d27d4eb4fn) & MASK64);
const V4_INIT = u64(-0x9e3779b185ebca87n & MASK64);

/** High 32 bits of the unsigned 32x32 product. */
function mulHi32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = ((a0 * b0) >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
}

function mul(x: U64, y: U64): void {
  const hi = Math.imul(x.hi, y.lo) + Math.imul(x.lo, y.hi) + mulHi32(x.lo, y.lo);
  x.lo = Math.imul(x.lo, y.lo) >>> 0;
  x.hi = hi >>> 0;
}

function add(x: U64, y: U64): void {
  const lo = x.lo + y.lo;
  x.hi = (x.hi + y.hi + (lo > 0xffffffff ? 1 : 0)) >>> 0;
  x.lo = lo >>> 0;
}

function xor(x: U64, y: U64): void {
  x.hi = (x.hi ^ y.hi) >>> 0;
  x.lo = (x.lo ^ y.lo) >>> 0;
}

/** Rotate left by 0 < n < 32. */
function rotl(x: U64, n: number): void {
  const hi = (x.hi << n) | (x.lo >>> (32 - n));
  x.lo = ((x.lo << n) | (x.hi >>> (32 - n))) >>> 0;
  x.hi = hi >>> 0;
}

/** Shift right by 0 < n < 64. */
function shr(x: U64, n: number): void {
  if (n >= 32) {
    x.lo = x.hi >>> (n - 32);
    x.hi = 0;
  } else {
    x.lo = ((x.lo >>> n) | (x.hi << (32 - n))) >>> 0;
    x.hi = x.hi >>> n;
  }
}

function read64(b: Uint8Array, i: number, out: U64): U64 {
  out.lo = (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
  out.hi = (b[i + 4]! | (b[i + 5]! << 8) | (b[i + 6]! << 16) | (b[i + 7]! << 24)) >>> 0;
  return out;
}

/** acc = rotl(acc + input * P2, 31) * P1; `input` is clobbered. */
function round(acc: U64, input: U64): void {
  mul(input, P2);
  add(acc, input);
  rotl(acc, 31);
  mul(acc, P1);
}

function mergeRound(acc: U64, val: U64, tmp: U64): void {
  tmp.hi = 0;
  tmp.lo = 0;
  const v = { hi: val.hi, lo: val.lo };
  round(tmp, v);
  xor(acc, tmp);
  mul(acc, P1);
  add(acc, P4);
}

/** XXH64 with seed 0 of `b[0:len]`, as {hi, lo}. */
function xxh64(b: Uint8Array, len: number): U64 {
  const h: U64 = { hi: 0, lo: 0 };
  const tmp: U64 = { hi: 0, lo: 0 };
  let i = 0;
  if (len >= 32) {
    const v1 = { ...V1_INIT };
    const v2 = { ...P2 };
    const v3 = { hi: 0, lo: 0 };
    const v4 = { ...V4_INIT };
    for (; i + 32 <= len; i += 32) {
      round(v1, read64(b, i, tmp));
      round(v2, read64(b, i + 8, tmp));
      round(v3, read64(b, i + 16, tmp));
      round(v4, read64(b, i + 24, tmp));
    }
    const r = { ...v1 };
    rotl(r, 1);
    const t2 = { ...v2 };
    rotl(t2, 7);
    add(r, t2);
    const t3 = { ...v3 };
    rotl(t3, 12);
    add(r, t3);
    const t4 = { ...v4 };
    rotl(t4, 18);
    add(r, t4);
    mergeRound(r, v1, tmp);
    mergeRound(r, v2, tmp);
    mergeRound(r, v3, tmp);
    mergeRound(r, v4, tmp);
    h.hi = r.hi;
    h.lo = r.lo;
  } else {
    h.hi = P5.hi;
    h.lo = P5.lo;
  }
  // h += len (inputs here are far below 2^32 bytes).
  add(h, { hi: 0, lo: len >>> 0 });
  const k = { hi: 0, lo: 0 };
  for (; i + 8 <= len; i += 8) {
    k.hi = 0;
    k.lo = 0;
    round(k, read64(b, i, tmp));
    xor(h, k);
    rotl(h, 27);
    mul(h, P1);
    add(h, P4);
  }
  if (i + 4 <= len) {
    tmp.hi = 0;
    tmp.lo = (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
    mul(tmp, P1);
    xor(h, tmp);
    rotl(h, 23);
    mul(h, P2);
    add(h, P3);
    i += 4;
  }
  for (; i < len; i++) {
    tmp.hi = 0;
    tmp.lo = b[i]!;
    mul(tmp, P5);
    xor(h, tmp);
    rotl(h, 11);
    mul(h, P1);
  }
  tmp.hi = h.hi;
  tmp.lo = h.lo;
  shr(tmp, 33);
  xor(h, tmp);
  mul(h, P2);
  tmp.hi = h.hi;
  tmp.lo = h.lo;
  shr(tmp, 29);
  xor(h, tmp);
  mul(h, P3);
  tmp.hi = h.hi;
  tmp.lo = h.lo;
  shr(tmp, 32);
  xor(h, tmp);
  return h;
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** XXH64 (seed 0) of raw bytes as 16 lowercase hex digits. */
export function xxhash64Hex(bytes: Uint8Array): string {
  const h = xxh64(bytes, bytes.length);
  return hex32(h.hi) + hex32(h.lo);
}

/** XXH64 (seed 0) of raw bytes as an unsigned decimal string, as Go prints a uint64 with %v. */
export function xxhash64Decimal(bytes: Uint8Array): string {
  const h = xxh64(bytes, bytes.length);
  return ((BigInt(h.hi) << 32n) | BigInt(h.lo)).toString();
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(1024);

/** UTF-8 bytes of `parts` joined, each part followed by `sep` (a byte that never occurs in UTF-8). */
function encodeParts(parts: readonly string[], sep: number): Uint8Array {
  let need = 0;
  for (const p of parts) need += p.length * 3 + 1;
  if (need > scratch.length) scratch = new Uint8Array(Math.max(need, scratch.length * 2));
  let n = 0;
  for (const p of parts) {
    n += encoder.encodeInto(p, scratch.subarray(n)).written;
    scratch[n++] = sep;
  }
  return scratch.subarray(0, n);
}

/**
 * Prometheus' `labels.Hash()` (slicelabels): XXH64 over `name 0xFF value 0xFF` for every label,
 * in label-name order (bytewise). `sortedPairs` is `[name0, value0, name1, value1, ...]`, already
 * sorted by name. Returned as the decimal uint64 Thanos prints in group keys.
 */
export function labelsHash(sortedPairs: readonly string[]): string {
  return xxhash64Decimal(encodeParts(sortedPairs, 0xff));
}

/** A short stable hash of a list of strings (order matters), for identifiers: 16 hex digits. */
export function stringsHash(parts: readonly string[]): string {
  return xxhash64Hex(encodeParts(parts, 0xff));
}
