/**
 * float64 <-> (hi, lo) uint32 halves of its IEEE-754 bit pattern, through one shared scratch.
 * Typed arrays use the platform byte order, so which Uint32Array index holds the high half is probed
 * once at load time instead of assumed.
 */

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

f64[0] = 1; // 0x3FF00000_00000000: only the high half is non-zero.
/** Index of the high (sign/exponent) half in the scratch. */
const HI = u32[1] === 0x3ff00000 ? 1 : 0;
const LO = 1 - HI;

/** Bits of the stale marker NaN (0x7FF0000000000002), written into every stale sample. */
export const STALE_NAN_HI = 0x7ff00000;
export const STALE_NAN_LO = 0x00000002;

/** High 32 bits of `v`'s IEEE-754 pattern (as uint32). Call `lastLo()` right after for the low half. */
export function floatHi(v: number): number {
  f64[0] = v;
  return u32[HI]!;
}

/** Low half of the number most recently passed to `floatHi`. */
export function lastLo(): number {
  return u32[LO]!;
}

/** Low 32 bits of `v`'s IEEE-754 pattern (as uint32). */
export function floatLo(v: number): number {
  f64[0] = v;
  return u32[LO]!;
}

/**
 * The float64 with bit pattern (hi, lo). A NaN result may not keep its payload once it is stored
 * or computed with elsewhere: carry NaNs as (hi, lo) when bits matter.
 */
export function bitsToFloat(hi: number, lo: number): number {
  u32[HI] = hi;
  u32[LO] = lo;
  return f64[0]!;
}

/** True if (hi, lo) is the stale marker. */
export function isStaleMarker(hi: number, lo: number): boolean {
  return hi >>> 0 === STALE_NAN_HI && lo >>> 0 === STALE_NAN_LO;
}
