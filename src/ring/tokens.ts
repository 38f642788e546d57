/**
 * Token generation as Cortex's RandomTokenGenerator: uniformly random 32-bit tokens, unique,
 * none already held by another instance, returned sorted.
 */
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../util/errors.js';

/** Cortex's compactor ring registers every instance with 512 tokens. */
export const DEFAULT_NUM_TOKENS = 512;

/** A source of uniformly random unsigned 32-bit integers. */
export type RandomUint32 = () => number;

/** Crypto-random (no seeding: two processes started in the same instant still differ). */
export function cryptoRandomUint32(): RandomUint32 {
  let buf = randomBytes(0);
  let off = 0;
  return () => {
    if (off + 4 > buf.length) {
      buf = randomBytes(4096);
      off = 0;
    }
    const v = buf.readUInt32BE(off);
    off += 4;
    return v;
  };
}

export function generateTokens(count: number, taken: Iterable<number>, random: RandomUint32): number[] {
  if (!Number.isInteger(count) || count < 0 || count > 1 << 20) {
    throw new InvalidArgumentError(`token count must be an integer in [0, 2^20], got ${count}`);
  }
  const used = new Set<number>();
  for (const t of taken) used.add(t >>> 0);
  const out: number[] = [];
  while (out.length < count) {
    const t = random() >>> 0;
    if (used.has(t)) continue;
    used.add(t);
    out.push(t);
  }
  return out.sort((a, b) => a - b);
}
