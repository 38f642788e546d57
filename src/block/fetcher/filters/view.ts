/**
 * A read-only view of a tenant's metas minus the blocks the filters hid. Results share the
 * fetcher's map (a snapshot of a CowMap: later changes go to layers over it), so a million-block
 * result costs one small set of exclusions instead of a second million-entry map.
 */
import type { BlockMeta } from '../../../tsdb/meta.js';

export class FilteredMetas implements ReadonlyMap<string, BlockMeta> {
  readonly #base: ReadonlyMap<string, BlockMeta>;
  readonly #excluded: ReadonlyMap<string, unknown>;

  /** `excluded` must only hold IDs of `base` (applyFilters guarantees it). */
  constructor(base: ReadonlyMap<string, BlockMeta>, excluded: ReadonlyMap<string, unknown>) {
    this.#base = base;
    this.#excluded = excluded;
  }

  get size(): number {
    return this.#base.size - this.#excluded.size;
  }

  get(id: string): BlockMeta | undefined {
    return this.#excluded.has(id) ? undefined : this.#base.get(id);
  }

  has(id: string): boolean {
    return !this.#excluded.has(id) && this.#base.has(id);
  }

  forEach(
    fn: (value: BlockMeta, key: string, map: ReadonlyMap<string, BlockMeta>) => void,
    thisArg?: unknown,
  ): void {
    // The base's own forEach: no [key, value] array per block.
    const excluded = this.#excluded;
    this.#base.forEach((v, k) => {
      if (!excluded.has(k)) fn.call(thisArg, v, k, this);
    });
  }

  *entries(): MapIterator<[string, BlockMeta]> {
    for (const e of this.#base) if (!this.#excluded.has(e[0])) yield e;
  }

  *keys(): MapIterator<string> {
    for (const k of this.#base.keys()) if (!this.#excluded.has(k)) yield k;
  }

  *values(): MapIterator<BlockMeta> {
    for (const [k, v] of this.#base) if (!this.#excluded.has(k)) yield v;
  }

  [Symbol.iterator](): MapIterator<[string, BlockMeta]> {
    return this.entries();
  }
}
