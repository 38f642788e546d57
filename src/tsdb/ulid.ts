/** Block IDs. Generators are passed in (clock, randomness) so tests and synth runs are reproducible. */
import { decodeTime, isValid, monotonicFactory, type PRNG } from 'ulidx';

export type UlidSource = (timeMs?: number) => string;

export function isUlid(s: string): boolean {
  return s.length === 26 && isValid(s);
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
