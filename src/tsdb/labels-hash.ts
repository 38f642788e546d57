/**
 * XXH64 (seed 0) over bytes. It is the hash Prometheus' `labels.Hash()` uses (slicelabels build,
 * which Thanos ships), so `labelsHash` below reproduces Thanos' compaction group keys bit for bit.
 *
 * 64-bit values live in pairs of unsigned 32-bit numbers; the helpers return their result in the
 * module registers RH/RL, so hashing allocates nothing (it runs once per plan id).
 */

const P1H = 0x9e3779b1;
const P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d;
const P2L = 0x27d4eb4f;
const P3H = 0x165667b1;
const P3L = 0x9e3779f9;
const P4H = 0x85ebca77;
const P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f;
const P5L = 0x165667c5;

// Result registers of the helpers below.
let RH = 0;
let RL = 0;

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

/** (ah:al) * (bh:bl) mod 2^64 → RH:RL. */
function mul(ah: number, al: number, bh: number, bl: number): void {
  RH = (Math.imul(ah, bl) + Math.imul(al, bh) + mulHi32(al, bl)) >>> 0;
  RL = Math.imul(al, bl) >>> 0;
}

/** (ah:al) + (bh:bl) mod 2^64 → RH:RL. */
function add(ah: number, al: number, bh: number, bl: number): void {
  const lo = al + bl;
  RH = (ah + bh + (lo > 0xffffffff ? 1 : 0)) >>> 0;
  RL = lo >>> 0;
}

/** rotl(ah:al, n) for 0 < n < 32 → RH:RL. */
function rotl(ah: number, al: number, n: number): void {
  RH = ((ah << n) | (al >>> (32 - n))) >>> 0;
  RL = ((al << n) | (ah >>> (32 - n))) >>> 0;
}

/** XXH64 round: rotl(acc + input * P2, 31) * P1 → RH:RL. */
function round(acch: number, accl: number, inh: number, inl: number): void {
  mul(inh, inl, P2H, P2L);
  add(acch, accl, RH, RL);
  rotl(RH, RL, 31);
  mul(RH, RL, P1H, P1L);
}

/** (acc ^ round(0, v)) * P1 + P4 → RH:RL. */
function mergeRound(acch: number, accl: number, vh: number, vl: number): void {
  round(0, 0, vh, vl);
  mul((acch ^ RH) >>> 0, (accl ^ RL) >>> 0, P1H, P1L);
  add(RH, RL, P4H, P4L);
}

function u32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

/** XXH64 with seed 0 of `b[0:len]` → RH:RL. */
function xxh64(b: Uint8Array, len: number): void {
  let hh: number;
  let hl: number;
  let i = 0;
  if (len >= 32) {
    // Lanes start at seed + P1 + P2, seed + P2, seed, seed - P1.
    let v1h = 0x60ea27ee;
    let v1l = 0xadc0b5d6;
    let v2h = P2H;
    let v2l = P2L;
    let v3h = 0;
    let v3l = 0;
    let v4h = 0x61c8864e;
    let v4l = 0x7a143579;
    for (; i + 32 <= len; i += 32) {
      round(v1h, v1l, u32(b, i + 4), u32(b, i));
      v1h = RH;
      v1l = RL;
      round(v2h, v2l, u32(b, i + 12), u32(b, i + 8));
      v2h = RH;
      v2l = RL;
      round(v3h, v3l, u32(b, i + 20), u32(b, i + 16));
      v3h = RH;
      v3l = RL;
      round(v4h, v4l, u32(b, i + 28), u32(b, i + 24));
      v4h = RH;
      v4l = RL;
    }
    rotl(v1h, v1l, 1);
    hh = RH;
    hl = RL;
    rotl(v2h, v2l, 7);
    add(hh, hl, RH, RL);
    hh = RH;
    hl = RL;
    rotl(v3h, v3l, 12);
    add(hh, hl, RH, RL);
    hh = RH;
    hl = RL;
    rotl(v4h, v4l, 18);
    add(hh, hl, RH, RL);
    mergeRound(RH, RL, v1h, v1l);
    mergeRound(RH, RL, v2h, v2l);
    mergeRound(RH, RL, v3h, v3l);
    mergeRound(RH, RL, v4h, v4l);
    hh = RH;
    hl = RL;
  } else {
    hh = P5H;
    hl = P5L;
  }
  // Inputs here are far below 2^32 bytes.
  add(hh, hl, 0, len >>> 0);
  hh = RH;
  hl = RL;
  for (; i + 8 <= len; i += 8) {
    round(0, 0, u32(b, i + 4), u32(b, i));
    rotl((hh ^ RH) >>> 0, (hl ^ RL) >>> 0, 27);
    mul(RH, RL, P1H, P1L);
    add(RH, RL, P4H, P4L);
    hh = RH;
    hl = RL;
  }
  if (i + 4 <= len) {
    mul(0, u32(b, i), P1H, P1L);
    rotl((hh ^ RH) >>> 0, (hl ^ RL) >>> 0, 23);
    mul(RH, RL, P2H, P2L);
    add(RH, RL, P3H, P3L);
    hh = RH;
    hl = RL;
    i += 4;
  }
  for (; i < len; i++) {
    mul(0, b[i]!, P5H, P5L);
    rotl((hh ^ RH) >>> 0, (hl ^ RL) >>> 0, 11);
    mul(RH, RL, P1H, P1L);
    hh = RH;
    hl = RL;
  }
  // Avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32.
  mul(hh, (hl ^ (hh >>> 1)) >>> 0, P2H, P2L);
  hh = RH;
  hl = RL;
  mul((hh ^ (hh >>> 29)) >>> 0, (hl ^ ((hl >>> 29) | (hh << 3))) >>> 0, P3H, P3L);
  hh = RH;
  hl = RL;
  RH = hh;
  RL = (hl ^ hh) >>> 0;
}

const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex32(n: number): string {
  return HEX_BYTE[n >>> 24]! + HEX_BYTE[(n >>> 16) & 255]! + HEX_BYTE[(n >>> 8) & 255]! + HEX_BYTE[n & 255]!;
}

/** XXH64 (seed 0) of raw bytes as 16 lowercase hex digits. */
export function xxhash64Hex(bytes: Uint8Array): string {
  xxh64(bytes, bytes.length);
  return hex32(RH) + hex32(RL);
}

/** XXH64 (seed 0) of raw bytes as an unsigned decimal string, as Go prints a uint64 with %v. */
export function xxhash64Decimal(bytes: Uint8Array): string {
  xxh64(bytes, bytes.length);
  return ((BigInt(RH) << 32n) | BigInt(RL)).toString();
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(1024);

/** UTF-8 bytes of `parts`, each followed by `sep` (0xFF never occurs in UTF-8). Reuses a buffer. */
function encodeParts(parts: readonly string[], sep: number): Uint8Array {
  let need = 0;
  for (const p of parts) need += p.length * 3 + 1;
  if (need > scratch.length) scratch = new Uint8Array(Math.max(need, scratch.length * 2));
  let n = 0;
  for (const p of parts) {
    // ASCII (ULIDs, most label names) is copied directly; anything else goes through the encoder.
    let ascii = true;
    for (let i = 0; i < p.length; i++) {
      const c = p.charCodeAt(i);
      if (c > 0x7f) {
        ascii = false;
        break;
      }
      scratch[n + i] = c;
    }
    n += ascii ? p.length : encoder.encodeInto(p, scratch.subarray(n)).written;
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
