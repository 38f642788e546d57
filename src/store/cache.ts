/**
 * The index cache: one LRU bounded in bytes, shared by every block, holding decoded postings
 * lists (by block and list offset) and decoded series entries (by block and series ID). Sizes
 * are estimates of the decoded objects (label strings are shared with the symbol table).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { IndexCache, IndexSeries } from '../tsdb/index/reader.js';

export type CacheItemType = 'postings' | 'series';

export interface IndexCacheMetrics {
  readonly requests: Counter<'item_type'>;
  readonly hits: Counter<'item_type'>;
  readonly items: Gauge<'item_type'>;
  readonly bytes: Gauge<'item_type'>;
  readonly evicted: Counter<'item_type'>;
}

export function indexCacheMetrics(registry: Registry): IndexCacheMetrics {
  const labelNames = ['item_type'] as const;
  return {
    requests: new Counter({
      name: 'strata_store_index_cache_requests_total',
      help: 'Index cache lookups',
      labelNames,
      registers: [registry],
    }),
    hits: new Counter({
      name: 'strata_store_index_cache_hits_total',
      help: 'Index cache lookups that found the item',
      labelNames,
      registers: [registry],
    }),
    items: new Gauge({
      name: 'strata_store_index_cache_items',
      help: 'Items in the index cache',
      labelNames,
      registers: [registry],
    }),
    bytes: new Gauge({
      name: 'strata_store_index_cache_bytes',
      help: 'Estimated bytes held by the index cache',
      labelNames,
      registers: [registry],
    }),
    evicted: new Counter({
      name: 'strata_store_index_cache_items_evicted_total',
      help: 'Items evicted from the index cache',
      labelNames,
      registers: [registry],
    }),
  };
}

interface Entry {
  readonly type: CacheItemType;
  readonly value: Uint32Array | IndexSeries;
  readonly bytes: number;
}

/** Per-entry overhead: the map entry, its key string and the wrapper object. */
const ENTRY_OVERHEAD = 96;

export class IndexLru {
  /** Insertion order is recency order: a hit moves the entry to the end. */
  private readonly entries = new Map<string, Entry>();
  private used = 0;

  constructor(
    /** Byte budget; 0 disables caching. */
    readonly maxBytes: number,
    private readonly metrics?: IndexCacheMetrics,
  ) {}

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cache seen by one block's index reader. */
  forBlock(blockId: string): IndexCache {
    return {
      getPostings: (off) => this.get(`${blockId}/p/${off}`, 'postings') as Uint32Array | undefined,
      putPostings: (off, list) => this.put(`${blockId}/p/${off}`, 'postings', list, list.byteLength),
      getSeries: (id) => this.get(`${blockId}/s/${id}`, 'series') as IndexSeries | undefined,
      putSeries: (id, s) =>
        this.put(`${blockId}/s/${id}`, 'series', s, 64 + s.labels.length * 48 + s.chunks.length * 48),
    };
  }

  /** Drops every entry of a block (it left the bucket). */
  dropBlock(blockId: string): void {
    const prefix = `${blockId}/`;
    for (const [k, e] of this.entries) {
      if (k.startsWith(prefix)) this.remove(k, e, false);
    }
  }

  private get(key: string, type: CacheItemType): Uint32Array | IndexSeries | undefined {
    this.metrics?.requests.inc({ item_type: type });
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    this.metrics?.hits.inc({ item_type: type });
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  private put(key: string, type: CacheItemType, value: Uint32Array | IndexSeries, size: number): void {
    const bytes = size + key.length * 2 + ENTRY_OVERHEAD;
    if (bytes > this.maxBytes) return;
    const old = this.entries.get(key);
    if (old !== undefined) this.remove(key, old, false);
    while (this.used + bytes > this.maxBytes) {
      const first = this.entries.entries().next();
      if (first.done === true) break;
      this.remove(first.value[0], first.value[1], true);
    }
    this.entries.set(key, { type, value, bytes });
    this.used += bytes;
    this.metrics?.items.inc({ item_type: type });
    this.metrics?.bytes.inc({ item_type: type }, bytes);
  }

  private remove(key: string, e: Entry, evicted: boolean): void {
    this.entries.delete(key);
    this.used -= e.bytes;
    this.metrics?.items.dec({ item_type: e.type });
    this.metrics?.bytes.dec({ item_type: e.type }, e.bytes);
    if (evicted) this.metrics?.evicted.inc({ item_type: e.type });
  }
}
