/** Block IDs. Generators are passed in (clock, randomness) so tests and synth runs are reproducible. */
import { decodeTime, isValid, monotonicFactory, type PRNG } from 'ulidx';

export type UlidSource = (timeMs?: number) => string;

/** Crockford base32 digits in either case, by ASCII code: isUlid's fast path. */
const CROCKFORD_DIGIT = new Uint8Array(128);
for (const c of '0123456789ABCDEFGHJKMNPQRSTVWXYZ') {
  CROCKFORD_DIGIT[c.charCodeAt(0)] = 1;
  CROCKFORD_DIGIT[c.toLowerCase().charCodeAt(0)] = 1;
}

/**
 * ulidx's isValid on 26 characters (its upper-casing accepts lower case), without its per-call
 * upper-cased copy and character array: a restart validates a million checkpointed IDs. A string
 * with a non-ASCII character gets ulidx's own answer.
 */
export function isUlid(s: string): boolean {
  if (s.length !== 26) return false;
  for (let i = 0; i < 26; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128) return isValid(s);
    if (CROCKFORD_DIGIT[c] === 0) return false;
  }
  return true;
}

/**
 * Whether the 26 bytes of `b` from `at` on are ASCII Crockford digits (isUlid's answer for ASCII;
 * a non-ASCII byte is a no here, where isUlid would ask ulidx).
 */
export function isAsciiUlidAt(b: Uint8Array, at: number): boolean {
  for (let i = at; i < at + 26; i++) {
    const c = b[i]!;
    if (c >= 128 || CROCKFORD_DIGIT[c] === 0) return false;
  }
  return true;
}

export function ulidTime(id: string): number {
  return decodeTime(id);
}

/** A monotonic ULID source; pass `random` (values in [0,1)) for deterministic IDs. */
export function ulidSource(random?: () => number): UlidSource {
  const factory = random ? monotonicFactory(random as PRNG) : monotonicFactory();
  return (timeMs?: number) => factory(timeMs);
}

/** Deterministic PRNG (mulberry32) for seeds in synth and tests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
