/**
 * A Map that hands out read-only snapshots without copying itself: once a snapshot shares the
 * base map, changes go to two small layers over it (base keys replaced or deleted, and keys added),
 * and the layers are folded into a new base once they pass an eighth of it. A snapshot costs the
 * layers' size, a change O(1), and the fold O(n) once per n/8 changes — where copying the whole
 * map before the first change after each snapshot cost O(n) every time (the fetcher's results
 * share its metas map; at a million blocks that copy was ~7% of a warm sync).
 *
 * Iteration order is a Map's: a replaced value keeps its place, a deleted key set again goes last.
 * Values must not be undefined (a layer's "absent" and "undefined" would be the same).
 */

const DELETED = Symbol('deleted');

/** Layers smaller than this are never folded (a small map is cheap to keep layered). */
const MIN_FOLD = 256;

export class CowMap<K, V extends object> implements ReadonlyMap<K, V> {
  #base: Map<K, V>;
  /** A snapshot references #base: it is not changed in place any more. */
  #shared = false;
  /** Keys of #base whose value was replaced or that were deleted. */
  #over = new Map<K, V | typeof DELETED>();
  /** Keys not in #base, and keys deleted from #base and set again (they go last). */
  #added = new Map<K, V>();
  /** Keys of #base marked DELETED in #over. */
  #deleted = 0;

  constructor(base: Map<K, V> = new Map()) {
    this.#base = base;
  }

  get size(): number {
    return this.#base.size - this.#deleted + this.#added.size;
  }

  get(key: K): V | undefined {
    if (this.#over.size === 0 && this.#added.size === 0) return this.#base.get(key);
    const a = this.#added.get(key);
    if (a !== undefined) return a;
    const o = this.#over.get(key);
    if (o === DELETED) return undefined;
    return o ?? this.#base.get(key);
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  set(key: K, value: V): this {
    if (!this.#shared) {
      this.#base.set(key, value);
      return this;
    }
    if (this.#added.has(key)) this.#added.set(key, value);
    else if (this.#over.get(key) === DELETED || !this.#base.has(key)) this.#added.set(key, value);
    else this.#over.set(key, value);
    this.#foldIfLarge();
    return this;
  }

  delete(key: K): boolean {
    if (!this.#shared) return this.#base.delete(key);
    if (this.#added.delete(key)) return true;
    if (this.#over.get(key) === DELETED || !this.#base.has(key)) return false;
    this.#over.set(key, DELETED);
    this.#deleted++;
    this.#foldIfLarge();
    return true;
  }

  /**
   * The map as it is now, unchanged by anything done to this one later. The base is shared, not
   * copied; the layers are copied (they are at most an eighth of it).
   */
  snapshot(): ReadonlyMap<K, V> {
    this.#shared = true;
    if (this.#over.size === 0 && this.#added.size === 0) return this.#base;
    const s = new CowMap<K, V>(this.#base);
    s.#shared = true;
    s.#over = new Map(this.#over);
    s.#added = new Map(this.#added);
    s.#deleted = this.#deleted;
    return s;
  }

  forEach(fn: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    // The layers' own forEach: no [key, value] array and no generator step per entry.
    // The layers it started with, as entries(): a fold during the call replaces them.
    const over = this.#over;
    const added = this.#added;
    this.#base.forEach((v, k) => {
      const o = over.size === 0 ? undefined : over.get(k);
      if (o === undefined) fn.call(thisArg, v, k, this);
      else if (o !== DELETED) fn.call(thisArg, o, k, this);
    });
    added.forEach((v, k) => fn.call(thisArg, v, k, this));
  }

  /** Live like a Map's iterators: changes made while iterating are seen, or not, as a Map's. */
  *entries(): MapIterator<[K, V]> {
    // Layers are replaced, never cleared, by a fold: an iteration keeps the ones it started with.
    const base = this.#base;
    const over = this.#over;
    const added = this.#added;
    for (const e of base) {
      const o = over.size === 0 ? undefined : over.get(e[0]);
      if (o === undefined) yield e;
      else if (o !== DELETED) yield [e[0], o];
    }
    yield* added;
  }

  *keys(): MapIterator<K> {
    // As entries(), without a [key, value] array per entry.
    const base = this.#base;
    const over = this.#over;
    const added = this.#added;
    for (const k of base.keys()) if (over.size === 0 || over.get(k) !== DELETED) yield k;
    yield* added.keys();
  }

  *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  #foldIfLarge(): void {
    if (this.#over.size + this.#added.size <= Math.max(MIN_FOLD, this.#base.size / 8)) return;
    const next = new Map<K, V>();
    for (const [k, v] of this.entries()) next.set(k, v);
    this.#base = next;
    this.#shared = false;
    this.#over = new Map();
    this.#added = new Map();
    this.#deleted = 0;
  }
}
