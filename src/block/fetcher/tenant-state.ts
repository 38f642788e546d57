/**
 * What the fetcher remembers about one tenant between syncs (and across restarts, through the
 * checkpoint): loaded metas, partial blocks, the listing watermark and the parsed markers.
 */
import type { BlockMeta } from '../../tsdb/meta.js';
import type { DeletionMark, NoCompactMark } from '../../tsdb/markers.js';
import type { MarkSummary, TenantCheckpoint } from './checkpoint.js';
import type { PartialBlock } from './types.js';
import type { IncrementalFilters, MetaChanges } from './filters/incremental.js';
import { CowMap } from '../../util/cow-map.js';
import { InvalidArgumentError } from '../../util/errors.js';
import { MetaTable } from './meta-table.js';
import type { Watermark } from './watermark.js';

/** Keys already logged (garbage, bad markers): each is logged and metered once per process. */
const REPORTED_CAP = 10_000;
/** Dead rows a meta table may hold before it is replaced: max(live blocks, this). */
const MIN_DEAD_ROWS = 4096;

export class TenantState {
  readonly tenant: string;
  /** Results hold snapshots of it (copy-on-write in layers, see CowMap). */
  #metas = new CowMap<string, BlockMeta>();
  /** Where #metas of the usual shape live (rows never reused; replaced when mostly dead). */
  #table: MetaTable;
  /** Something changed since the last checkpoint snapshot. */
  dirty = false;
  readonly partial = new Map<string, PartialBlock>();
  /** Every listed block ID up to this one has been handled. */
  watermark: string | undefined;
  /** The watermark of the sync in progress, which checkpoints written mid-sync record. */
  live: Watermark | undefined;
  syncsSinceFullList = 0;
  /**
   * The tenant's listing showed a `markers/` folder last time: its marker copies are listed
   * alongside the blocks. Otherwise only once the listing shows one (most tenants have none,
   * and an empty prefix listed per tenant and sync is a request for nothing).
   */
  markersFolder = false;
  deletionMarks = new Map<string, DeletionMark>();
  noCompactMarks = new Map<string, NoCompactMark>();
  /** Unusable marker files by key, with the lastModified (ms) they had when read. */
  readonly badMarkers = new Map<string, number>();
  /** Blocks to read in the next sync whatever the listing covers (cache misses at load). */
  readonly recheck = new Set<string>();
  /**
   * Cached metas not yet loaded (reads finished after the last checkpoint write), from one
   * directory listing; only these are looked up in the cache, so a cold sync makes no failed
   * lookups. undefined until the first sync of the tenant lists the cache folder.
   */
  cachedIds: Set<string> | undefined;
  readonly #reported = new Set<string>();

  /** The filter chain's memory between syncs (created by the first result). */
  filterRun: IncrementalFilters | undefined;
  /** Metas set and deleted since the filters last ran; invalid (undefined) means "rerun all". */
  #changes: { added: Set<string>; removed: Map<string, BlockMeta> } | undefined;

  /** IDs set since the metas file last took them; undefined when there is no metas file. */
  #fresh: string[] | undefined;

  /** `table`: the one the tenant's metas were packed into while loading, if any. */
  constructor(tenant: string, trackFresh = false, table = new MetaTable()) {
    this.tenant = tenant;
    this.#table = table;
    if (trackFresh) this.#fresh = [];
  }

  /** Metas set since the last call (those still known), for the metas file. */
  takeFresh(): BlockMeta[] {
    const ids = this.#fresh;
    if (ids === undefined || ids.length === 0) return [];
    this.#fresh = [];
    const out: BlockMeta[] = [];
    for (const id of ids) {
      const m = this.#metas.get(id);
      if (m !== undefined) out.push(m);
    }
    return out;
  }

  /** Rows of the meta table, live and dead. */
  get tableRows(): number {
    return this.#table.rows;
  }

  /** Loaded blocks by ID. Read-only: change it through setMeta / deleteMeta. */
  get metas(): ReadonlyMap<string, BlockMeta> {
    return this.#metas;
  }

  /** The metas as they are now, for a result: later changes do not show in it. */
  shareMetas(): ReadonlyMap<string, BlockMeta> {
    return this.#metas.snapshot();
  }

  /**
   * What changed since the previous call (undefined: unknown, run the filters whole); the log
   * starts afresh. Not kept before the first call (a cold sync logs nothing) and dropped when it
   * grows past a quarter of the blocks (a whole run is cheaper then).
   */
  takeChanges(): MetaChanges | undefined {
    const c = this.#changes;
    this.#changes = { added: new Set(), removed: new Map() };
    return c;
  }

  #logSet(id: string, meta: BlockMeta): void {
    const c = this.#changes;
    if (c === undefined) return;
    const old = this.#metas.get(id);
    // A replaced meta (or one deleted and set again) is not a plain add: run whole once.
    if ((old !== undefined && old !== meta) || c.removed.has(id)) this.#changes = undefined;
    else if (old === undefined) c.added.add(id);
    this.#capLog();
  }

  #logDelete(id: string, old: BlockMeta): void {
    const c = this.#changes;
    if (c === undefined) return;
    if (!c.added.delete(id)) c.removed.set(id, old);
    this.#capLog();
  }

  #capLog(): void {
    const c = this.#changes;
    if (c !== undefined && c.added.size + c.removed.size > Math.max(1000, this.#metas.size / 4)) {
      this.#changes = undefined;
    }
  }

  /** `persisted`: the meta came from the metas file (it need not be written there again). */
  setMeta(id: string, meta: BlockMeta, persisted = false): void {
    const packed = this.#table.pack(meta);
    this.#logSet(id, packed);
    this.#metas.set(id, packed);
    this.dirty = true;
    if (!persisted) this.#fresh?.push(id);
  }

  /**
   * Takes `metas` (ID → meta, packed into this state's table, as the metas file loaded them) as
   * the whole of a state that knows no block yet: a restart then builds no second map of them.
   */
  adoptMetas(metas: Map<string, BlockMeta>): void {
    if (this.#metas.size > 0)
      throw new InvalidArgumentError('adoptMetas: the tenant state already knows blocks');
    this.#metas = new CowMap(metas);
    this.dirty = true;
  }

  deleteMeta(id: string): boolean {
    const old = this.#metas.get(id);
    if (old === undefined) return false;
    this.#logDelete(id, old);
    this.#metas.delete(id);
    this.dirty = true;
    this.#repackIfMostlyDead();
    return true;
  }

  /**
   * A table whose rows are mostly of forgotten blocks is replaced by a new one with the live rows:
   * every meta becomes a new object, so the filters run whole once. Metas a caller still holds
   * keep reading the old table, which lives as long as they do. Checked on deletes only: while a
   * restart loads, the table holds every block of the metas file before the map does.
   */
  #repackIfMostlyDead(): void {
    if (this.#table.rows - this.#metas.size <= Math.max(MIN_DEAD_ROWS, this.#metas.size)) return;
    const table = new MetaTable();
    const next = new Map<string, BlockMeta>();
    for (const [id, m] of this.#metas) next.set(id, table.pack(m));
    this.#table = table;
    this.#metas = new CowMap(next);
    this.#changes = undefined;
  }

  /** True the first time `key` is reported (bounded, so a flood of garbage cannot grow it). */
  firstReport(key: string): boolean {
    if (this.#reported.has(key)) return false;
    if (this.#reported.size < REPORTED_CAP) this.#reported.add(key);
    return true;
  }

  checkpoint(): TenantCheckpoint {
    const marks = (m: ReadonlyMap<string, { time: number; reason: string }>): MarkSummary[] =>
      [...m].map(([id, v]) => ({ id, time: v.time, reason: v.reason }));
    return {
      after: this.live ? this.live.value : this.watermark,
      // Streamed from the live map while the file is written: IDs recorded meanwhile are cached
      // already, and a fold of its layers leaves this iterator on the old ones.
      known: this.#metas.keys(),
      partial: [...this.partial.values()],
      syncsSinceFullList: this.syncsSinceFullList,
      deletionMarks: marks(mapValues(this.deletionMarks, (d) => ({ time: d.deletionTime, reason: '' }))),
      noCompactMarks: marks(
        mapValues(this.noCompactMarks, (n) => ({ time: n.noCompactTime, reason: n.reason })),
      ),
    };
  }

  restore(cp: TenantCheckpoint): void {
    this.watermark = cp.after;
    this.syncsSinceFullList = cp.syncsSinceFullList;
    for (const p of cp.partial) this.partial.set(p.id, p);
    for (const m of cp.deletionMarks) {
      this.deletionMarks.set(m.id, { kind: 'deletion', id: m.id, version: 1, deletionTime: m.time });
    }
    for (const m of cp.noCompactMarks) {
      this.noCompactMarks.set(m.id, {
        kind: 'no-compact',
        id: m.id,
        version: 1,
        noCompactTime: m.time,
        reason: m.reason,
      });
    }
  }

  /** Forgets a block (deleted from the bucket). */
  drop(id: string): boolean {
    const wasLoaded = this.deleteMeta(id);
    const wasPartial = this.partial.delete(id);
    this.dirty = true;
    this.deletionMarks.delete(id);
    this.noCompactMarks.delete(id);
    this.recheck.delete(id);
    return wasLoaded || wasPartial;
  }
}

function mapValues<K, V, W>(m: ReadonlyMap<K, V>, f: (v: V) => W): Map<K, W> {
  const out = new Map<K, W>();
  for (const [k, v] of m) out.set(k, f(v));
  return out;
}
