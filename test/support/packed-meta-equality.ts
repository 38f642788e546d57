/**
 * Vitest setup file: deep equality sees a packed meta (getters over a table row) as the plain
 * meta it stands for, so `toEqual` compares every field instead of the ULID alone.
 */
import { expect } from 'vitest';
import { PackedMeta } from '../../src/block/fetcher/packed-meta.js';

expect.addEqualityTesters([
  function packedMeta(this: { equals: (a: unknown, b: unknown) => boolean }, a: unknown, b: unknown) {
    if (!(a instanceof PackedMeta) && !(b instanceof PackedMeta)) return undefined;
    const plain = (x: unknown): unknown => (x instanceof PackedMeta ? JSON.parse(JSON.stringify(x)) : x);
    return this.equals(plain(a), plain(b));
  },
]);
