/**
 * Gorilla XOR coding of float64 values inside histogram chunks (the sum; in float histogram chunks
 * also the counts and every bucket), each value with its own (leading, trailing) window. Values are
 * held as uint32 halves so NaN payloads (the stale marker) survive exactly.
 */
import type { HistBitReader, HistBitWriter } from './hist-bits.js';

/** "No window yet": the first non-zero XOR always opens a new window. */
export const NO_WINDOW = 0xff;

/** Struct of arrays: one XOR-coded value per cell. */
export class XorCells {
  hi: Uint32Array;
  lo: Uint32Array;
  lead: Uint8Array;
  trail: Uint8Array;

  constructor(n = 16) {
    this.hi = new Uint32Array(n);
    this.lo = new Uint32Array(n);
    this.lead = new Uint8Array(n);
    this.trail = new Uint8Array(n);
  }

  /** Makes room for n cells (contents undefined after growth). */
  ensure(n: number): void {
    if (this.hi.length >= n) return;
    const cap = Math.max(n, this.hi.length * 2);
    this.hi = new Uint32Array(cap);
    this.lo = new Uint32Array(cap);
    this.lead = new Uint8Array(cap);
    this.trail = new Uint8Array(cap);
  }

  /** Cells [from, to) hold value 0 with the given window state. */
  clear(from: number, to: number, lead: number): void {
    this.hi.fill(0, from, to);
    this.lo.fill(0, from, to);
    this.lead.fill(lead, from, to);
    this.trail.fill(0, from, to);
  }
}

/** Writes value (vh, vl) XORed against cell i, and makes it the cell's value (Go's xorWrite). */
export function xorWrite(w: HistBitWriter, c: XorCells, i: number, vh: number, vl: number): void {
  const xh = (vh ^ c.hi[i]!) >>> 0;
  const xl = (vl ^ c.lo[i]!) >>> 0;
  c.hi[i] = vh;
  c.lo[i] = vl;
  if ((xh | xl) === 0) {
    w.write(0, 1);
    return;
  }
  w.write(1, 1);
  let l = xh !== 0 ? Math.clz32(xh) : 32 + Math.clz32(xl);
  if (l > 31) l = 31;
  const t = xl !== 0 ? 31 - Math.clz32(xl & -xl) : 63 - Math.clz32(xh & -xh);
  const lead = c.lead[i]!;
  const trail = c.trail[i]!;
  if (lead !== NO_WINDOW && l >= lead && t >= trail) {
    w.write(0, 1);
    writeShifted(w, xh, xl, trail, 64 - lead - trail);
    return;
  }
  c.lead[i] = l;
  c.trail[i] = t;
  const sig = 64 - l - t;
  w.write(1, 1);
  w.write(l, 5);
  w.write(sig & 63, 6);
  writeShifted(w, xh, xl, t, sig);
}

/** Writes the `n` bits of (xh, xl) >>> shift. */
function writeShifted(w: HistBitWriter, xh: number, xl: number, shift: number, n: number): void {
  let h: number;
  let l: number;
  if (shift === 0) {
    h = xh;
    l = xl;
  } else if (shift < 32) {
    h = xh >>> shift;
    l = ((xl >>> shift) | (xh << (32 - shift))) >>> 0;
  } else {
    h = 0;
    l = xh >>> (shift - 32);
  }
  w.write64(h, l, n);
}

/** Reads one XOR-coded value into cell i (Go's xorRead); corrupt windows are FormatErrors. */
export function xorRead(r: HistBitReader, c: XorCells, i: number, what: string): void {
  if (r.read(1, what) === 0) return;
  let lead: number;
  let trail: number;
  let sig: number;
  if (r.read(1, what) === 0) {
    lead = c.lead[i]!;
    trail = c.trail[i]!;
    sig = 64 - lead - trail;
  } else {
    const at = r.pos;
    lead = r.read(5, what);
    sig = r.read(6, what);
    if (sig === 0) sig = 64;
    trail = 64 - lead - sig;
    if (trail < 0) throw r.corrupt(`${what}: XOR window of ${lead} + ${sig} bits exceeds 64`, at);
    c.lead[i] = lead;
    c.trail[i] = trail;
  }
  if (sig <= 0) throw r.corrupt(`${what}: XOR window reused before one was set`);
  r.read64(sig, what);
  let h = r.hi;
  let l = r.lo;
  if (trail >= 32) {
    h = l << (trail - 32);
    l = 0;
  } else if (trail > 0) {
    h = (h << trail) | (l >>> (32 - trail));
    l = l << trail;
  }
  c.hi[i] = (c.hi[i]! ^ h) >>> 0;
  c.lo[i] = (c.lo[i]! ^ l) >>> 0;
}
