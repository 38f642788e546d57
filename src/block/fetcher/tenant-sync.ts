/**
 * One sync of one tenant: choose how to discover blocks, list, read what is new, notice what was
 * deleted, read markers, and run the filters.
 *
 * Discovery modes:
 * - tail: list only block folders after min(watermark, ULID of now − relistWindow). New blocks
 *   get new ULIDs, so they sort after the watermark; the window re-lists recent IDs to catch
 *   blocks uploaded a little after their ULID was minted (compactor outputs are).
 * - full: list every folder; catches late uploads with old ULIDs and deletions without marks.
 *   Every `fullListEvery` syncs, on the first sync and when checkpoints are off.
 * - bucket-index: the tenant's bucket-index.json.gz (when enabled and fresh) stands in for the
 *   full listing, plus a tail listing for blocks newer than the index.
 * Deleted blocks: dropped by full listings and bucket indexes; between them, a block whose deletion
 * mark vanished from the markers listing (the cleaner removes the copy last) is checked with one
 * `exists` and dropped when meta.json is gone.
 */
import { encodeTime } from 'ulidx';
import type { Bucket } from '../../objstore/bucket.js';
import { errorMessage } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import { BucketIndexError, readBucketIndex, type BucketIndex } from '../bucket-index.js';
import type { Layout } from '../layout.js';
import { parseMarker, type DeletionMark, type NoCompactMark } from '../../tsdb/markers.js';
import { blockUploadTimeMs } from './filters/consistency.js';
import { IncrementalFilters } from './filters/incremental.js';
import type { Limiter } from './limiter.js';
import type { MetaCache } from './meta-cache.js';
import { classifyMeta, type Interner, type MetaOutcome } from './meta-read.js';
import { recordBadInput, type FetcherMetrics } from './metrics.js';
import { listBlocks, listTenantMarkerFiles, type ListedMarker } from './discovery.js';
import type { TenantState } from './tenant-state.js';
import {
  zeroBadInputCounts,
  zeroStateCounts,
  type BadInputCounts,
  type BadInputKind,
  type DiscoveryMode,
  type MetaFilter,
  type StateCounts,
  type TenantSync,
} from './types.js';
import { Watermark } from './watermark.js';

export interface ResolvedFetcherOptions {
  readonly concurrency: number;
  readonly tenantConcurrency: number;
  readonly checkpoint: boolean;
  readonly fullListEvery: number;
  readonly relistWindowMs: number;
  readonly partialRecheckWindowMs: number;
  readonly bucketIndex: { readonly maxStalenessMs: number; readonly deletionGraceMs: number } | undefined;
  readonly filters: readonly MetaFilter[];
}

/** Counters shared by every tenant of one sync. */
export interface SyncCounters {
  metaReads: number;
  cacheHits: number;
  dropped: number;
}

export interface TenantSyncEnv {
  readonly bucket: Bucket;
  readonly layout: Layout;
  readonly cache: MetaCache | undefined;
  readonly limiter: Limiter;
  readonly interner: Interner;
  readonly logger: Logger;
  readonly metrics: FetcherMetrics;
  readonly options: ResolvedFetcherOptions;
  /** Wall clock of this sync (ms). */
  readonly nowMs: number;
  readonly signal: AbortSignal | undefined;
  readonly counters: SyncCounters;
  /** Called after each completed read (drives periodic checkpoints). */
  readonly onRead: () => void;
}

const ULID_RANDOM_ZERO = '0'.repeat(16);

/** The smallest ULID of millisecond `ms`: a listing bound for "blocks minted since ms". */
export function ulidFloor(ms: number): string {
  return encodeTime(Math.max(0, Math.floor(ms)), 10) + ULID_RANDOM_ZERO;
}

function minId(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a < b ? a : b;
}

export async function syncTenant(state: TenantState, env: TenantSyncEnv): Promise<TenantSync> {
  return new TenantSyncRun(state, env).run();
}

class TenantSyncRun {
  readonly #s: TenantState;
  readonly #env: TenantSyncEnv;
  #logger: Logger | undefined;
  readonly #counts: StateCounts = zeroStateCounts();
  readonly #bad: BadInputCounts = zeroBadInputCounts();
  readonly #tasks = new Set<Promise<void>>();
  /** IDs read (or being read) in this sync, so no block is read twice. */
  readonly #handled = new Set<string>();
  #mode: DiscoveryMode = 'full';

  constructor(state: TenantState, env: TenantSyncEnv) {
    this.#s = state;
    this.#env = env;
  }

  /** The tenant's logger, made when first used (most syncs log nothing per tenant). */
  get #log(): Logger {
    const s = this.#s;
    return (this.#logger ??=
      s.tenant === '' ? this.#env.logger : this.#env.logger.child({ tenant: s.tenant }));
  }

  async run(): Promise<TenantSync> {
    const { options } = this.#env;
    const s = this.#s;
    let index: BucketIndex | undefined;
    if (options.bucketIndex && options.checkpoint) index = await this.#freshIndex();
    let mode: DiscoveryMode;
    if (index !== undefined) mode = 'bucket-index';
    else if (
      !options.checkpoint ||
      s.watermark === undefined ||
      s.syncsSinceFullList + 1 >= options.fullListEvery
    )
      mode = 'full';
    else mode = 'tail';
    this.#mode = mode;

    let afterId: string | undefined;
    if (mode !== 'full') {
      const floor = ulidFloor(this.#env.nowMs - options.relistWindowMs);
      const base = mode === 'bucket-index' ? (s.watermark ?? maxIndexId(index!)) : s.watermark;
      afterId = base === undefined ? undefined : minId(base, floor);
    }

    if (this.#env.cache !== undefined && s.cachedIds === undefined) {
      const ids = await this.#env.cache.ids(s.tenant);
      s.cachedIds = new Set(ids.filter((id) => !s.metas.has(id)));
    }
    const prevDeletion = s.deletionMarks;
    const recursive = this.#env.layout.tenancy === 'single';
    const listedMarkers: ListedMarker[] = [];
    const listed = new Set<string>();
    try {
      // Marker copies are listed alongside the blocks when the tenant had a markers/ folder last
      // time, else only if this listing shows one (`markers/` sorts after every block ID, so a
      // tail listing shows it too).
      let markersFolder = false;
      const markersEarly = recursive || !s.markersFolder ? undefined : this.#listMarkerCopies();
      // Keep the promise observed: a failure surfaces at the await below, not as unhandled.
      markersEarly?.catch(() => undefined);
      if (index !== undefined) {
        for (const b of index.blocks) if (!s.metas.has(b.blockId)) await this.#schedule(b.blockId);
      }
      await this.#listAndRead(afterId, recursive, listed, listedMarkers, () => (markersFolder = true));
      // Reads outside the listed range: cache misses at load, fresh partial uploads.
      for (const id of [...s.recheck]) await this.#schedule(id);
      s.recheck.clear();
      if (mode !== 'full') await this.#recheckFreshPartials();
      const copies = recursive
        ? []
        : await (markersEarly ?? (markersFolder ? this.#listMarkerCopies() : Promise.resolve([])));
      if (!recursive) s.markersFolder = markersFolder;
      await this.#drain();
      await this.#loadMarkers(recursive ? listedMarkers : copies, recursive, mode, afterId);
      if (index !== undefined) this.#mergeIndexMarks(index);
      await this.#dropDeleted(mode, listed, prevDeletion, index, afterId, recursive);
    } finally {
      await this.#drain().catch(() => undefined);
      s.live = undefined;
    }
    s.syncsSinceFullList = mode === 'tail' ? s.syncsSinceFullList + 1 : 0;
    return this.#result(mode);
  }

  async #freshIndex(): Promise<BucketIndex | undefined> {
    const { bucket, layout, options, nowMs } = this.#env;
    try {
      const idx = await readBucketIndex(bucket, layout, this.#s.tenant);
      if (idx === undefined) return undefined;
      if (nowMs - idx.updatedAt * 1000 > options.bucketIndex!.maxStalenessMs) {
        this.#log.info('bucket index is stale; listing instead', { updated_at: idx.updatedAt });
        return undefined;
      }
      return idx;
    } catch (err) {
      if (!(err instanceof BucketIndexError)) throw err;
      this.#badInput('bad-bucket-index', layout.bucketIndexKey(this.#s.tenant), err.message);
      return undefined;
    }
  }

  async #listAndRead(
    afterId: string | undefined,
    recursive: boolean,
    listed: Set<string>,
    markers: ListedMarker[],
    onMarkersFolder: () => void,
  ): Promise<void> {
    const { bucket, layout, signal, limiter } = this.#env;
    const wm = new Watermark(afterId);
    this.#s.live = wm;
    const blocks = listBlocks(bucket, layout, this.#s.tenant, {
      ...(afterId !== undefined ? { afterId } : {}),
      recursive,
      onGarbage: (key) => this.#badInput('garbage-key', key, 'not a block folder'),
      onMarker: (m) => markers.push(m),
      onMarkersFolder,
    });
    for await (const b of blocks) {
      signal?.throwIfAborted();
      listed.add(b.id);
      wm.add(b.id);
      if (this.#handled.has(b.id) || !this.#needsRead(b.id)) {
        // Known, or already being read because the bucket index named it.
        if (this.#handled.has(b.id)) this.#whenHandled(b.id, wm);
        else wm.complete(b.id);
        continue;
      }
      await limiter.acquire();
      this.#launch(b.id, b.hasMeta, wm);
    }
    await this.#drain();
    if (this.#s.watermark !== wm.value) {
      this.#s.watermark = wm.value;
      this.#s.dirty = true;
    }
  }

  #needsRead(id: string): boolean {
    if (this.#s.metas.has(id)) return false;
    const p = this.#s.partial.get(id);
    if (p === undefined) return true;
    // Still uploading: look again. Corrupt ones are looked at again by full listings only.
    return p.reason === 'no-meta-json' || this.#mode === 'full';
  }

  /** Completes `id` in the watermark once the read already running for it has finished. */
  #whenHandled(id: string, wm: Watermark): void {
    const t = this.#pending.get(id);
    if (t === undefined) {
      if (this.#s.metas.has(id) || this.#s.partial.has(id)) wm.complete(id);
      return;
    }
    void t.then((ok) => {
      if (ok) wm.complete(id);
    });
  }

  readonly #pending = new Map<string, Promise<boolean>>();

  /** Starts a read outside the listing (no watermark) once a slot is free. */
  async #schedule(id: string): Promise<void> {
    if (this.#handled.has(id)) return;
    this.#handled.add(id);
    await this.#env.limiter.acquire();
    this.#track(id, this.#readReleasing(id, undefined, undefined));
  }

  /** Starts a read in a slot the caller acquired. */
  #launch(id: string, hasMeta: boolean | undefined, wm: Watermark): void {
    this.#handled.add(id);
    this.#track(id, this.#readReleasing(id, hasMeta, wm));
  }

  #track(id: string, p: Promise<boolean>): void {
    this.#pending.set(id, p);
    const done: Promise<void> = p.then(
      () => {
        this.#tasks.delete(done);
        this.#pending.delete(id);
      },
      () => {
        this.#tasks.delete(done);
        this.#pending.delete(id);
      },
    );
    this.#tasks.add(done);
  }

  async #drain(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.all([...this.#tasks]);
  }

  async #readReleasing(
    id: string,
    hasMeta: boolean | undefined,
    wm: Watermark | undefined,
  ): Promise<boolean> {
    try {
      return await this.#read(id, hasMeta, wm);
    } finally {
      this.#env.limiter.release();
    }
  }

  /** Loads one block's meta (cache, then bucket). True when handled; false on a failed read. */
  async #read(id: string, hasMeta: boolean | undefined, wm: Watermark | undefined): Promise<boolean> {
    const { bucket, layout, cache, signal, interner, counters, metrics } = this.#env;
    const tenant = this.#s.tenant;
    const key = layout.metaKey(tenant, id);
    if (signal?.aborted) return false;
    try {
      let outcome: MetaOutcome | undefined;
      if (hasMeta === false) {
        // Checked before the cache: a folder that lost its meta.json is being deleted.
        outcome = { kind: 'partial', reason: 'no-meta-json', detail: 'no meta.json in the listing' };
      } else if (cache !== undefined && this.#s.cachedIds?.delete(id) === true) {
        const local = await cache.read(tenant, id);
        if (local !== undefined) {
          const o: MetaOutcome = Buffer.isBuffer(local)
            ? classifyMeta(id, local, key, interner)
            : { kind: 'loaded', meta: local };
          if (o.kind === 'loaded') {
            outcome = o;
            counters.cacheHits++;
            metrics.metaReads.inc({ source: 'cache' });
          } else {
            this.#badInput('bad-cache-entry', cache.path(tenant, id), o.detail);
            await cache.remove(tenant, id).catch(() => undefined);
          }
        }
      }
      let fetched: Buffer | undefined;
      if (outcome === undefined) {
        let bytes: Buffer | undefined;
        try {
          bytes = await bucket.get(key);
        } catch (err) {
          if (!bucket.isNotFound(err)) throw err;
        }
        counters.metaReads++;
        metrics.metaReads.inc({ source: 'bucket' });
        if (bytes === undefined) {
          outcome = { kind: 'partial', reason: 'no-meta-json', detail: 'meta.json not found' };
        } else {
          fetched = bytes;
          outcome = classifyMeta(id, bytes, key, interner);
        }
      }
      // A killed process records nothing more: the abort stands in for SIGKILL in tests.
      if (signal?.aborted) return false;
      this.#record(id, outcome);
      // After the record, in the same tick: a checkpoint snapshot holds every journaled block.
      if (fetched !== undefined && outcome.kind === 'loaded') cache?.write(tenant, id, fetched);
      wm?.complete(id);
      this.#env.onRead();
      return true;
    } catch (err) {
      if (signal?.aborted) return false;
      this.#counts.failed++;
      this.#log.warn('reading meta.json failed; will retry next sync', { block: id, err: errorMessage(err) });
      return false;
    }
  }

  #record(id: string, o: MetaOutcome): void {
    const s = this.#s;
    if (o.kind === 'loaded') {
      s.partial.delete(id);
      s.setMeta(o.meta.ulid, o.meta);
      return;
    }
    const prev = s.partial.get(id);
    if (prev?.reason !== o.reason) s.dirty = true;
    s.partial.set(id, {
      id,
      reason: o.reason,
      detail: o.detail,
      firstSeenMs: prev?.firstSeenMs ?? this.#env.nowMs,
    });
    if (o.reason !== 'no-meta-json') {
      this.#badInput(o.reason, this.#env.layout.metaKey(s.tenant, id), o.detail);
    }
  }

  /** Partial blocks outside the listed range that may still be uploading get another GET. */
  async #recheckFreshPartials(): Promise<void> {
    const window = this.#env.options.partialRecheckWindowMs;
    for (const p of [...this.#s.partial.values()]) {
      if (p.reason === 'no-meta-json' && this.#env.nowMs - p.firstSeenMs < window) await this.#schedule(p.id);
    }
  }

  async #listMarkerCopies(): Promise<ListedMarker[]> {
    const { bucket, layout } = this.#env;
    return listTenantMarkerFiles(bucket, layout, this.#s.tenant, (key) =>
      this.#badInput('garbage-key', key, 'not a block marker'),
    );
  }

  /**
   * Replaces the tenant's marks with those listed. Marks are immutable in practice, so one read
   * per marker file over the life of the process (and none after a restart: the checkpoint has
   * them). Single-tenant tail listings only saw the folders after `afterId`: older marks stay.
   */
  async #loadMarkers(
    listedMarkers: readonly ListedMarker[],
    partialView: boolean,
    mode: DiscoveryMode,
    afterId: string | undefined,
  ): Promise<void> {
    const s = this.#s;
    const deletion = new Map<string, DeletionMark>();
    const noCompact = new Map<string, NoCompactMark>();
    if (partialView && mode !== 'full' && afterId !== undefined) {
      for (const [id, m] of s.deletionMarks) if (id <= afterId) deletion.set(id, m);
      for (const [id, m] of s.noCompactMarks) if (id <= afterId) noCompact.set(id, m);
    }
    const reads: Promise<void>[] = [];
    for (const e of listedMarkers) {
      if (e.kind === 'no-downsample') continue;
      const known = e.kind === 'deletion' ? s.deletionMarks.get(e.id) : s.noCompactMarks.get(e.id);
      if (known !== undefined) {
        if (known.kind === 'deletion') deletion.set(e.id, known);
        else noCompact.set(e.id, known);
        continue;
      }
      const lm = e.lastModified?.getTime() ?? 0;
      if (s.badMarkers.get(e.key) === lm) {
        this.#bad['bad-marker']++;
        continue;
      }
      reads.push(
        this.#env.limiter.run(async () => {
          let body: Buffer;
          try {
            body = await this.#env.bucket.get(e.key);
          } catch (err) {
            if (this.#env.bucket.isNotFound(err)) return; // deleted since the listing
            throw err;
          }
          const r = parseMarker(e.kind, body, e.key, e.id);
          if (!r.ok) {
            s.badMarkers.set(e.key, lm);
            this.#badInput('bad-marker', e.key, r.error.detail);
            return;
          }
          const m = r.marker;
          if (m.kind === 'deletion') deletion.set(m.id, m);
          else if (m.kind === 'no-compact') noCompact.set(m.id, m);
        }),
      );
    }
    // A marker that cannot be read fails the tenant's sync: a missed no-compact mark would let
    // the planner touch a block it must not (unparsable ones are bad input, handled above).
    const results = await Promise.allSettled(reads);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
    if (!sameKeys(s.deletionMarks, deletion) || !sameKeys(s.noCompactMarks, noCompact)) s.dirty = true;
    s.deletionMarks = deletion;
    s.noCompactMarks = noCompact;
  }

  #mergeIndexMarks(index: BucketIndex): void {
    for (const m of index.blockDeletionMarks) {
      if (!this.#s.deletionMarks.has(m.blockId) && this.#s.metas.has(m.blockId)) {
        this.#s.dirty = true;
        this.#s.deletionMarks.set(m.blockId, {
          kind: 'deletion',
          id: m.blockId,
          version: 1,
          deletionTime: m.deletionTime,
        });
      }
    }
  }

  async #dropDeleted(
    mode: DiscoveryMode,
    listed: ReadonlySet<string>,
    prevDeletion: ReadonlyMap<string, DeletionMark>,
    index: BucketIndex | undefined,
    afterId: string | undefined,
    partialMarkerView: boolean,
  ): Promise<void> {
    const s = this.#s;
    const gone: string[] = [];
    const suspects: string[] = [];
    if (mode === 'full') {
      for (const id of s.metas.keys()) if (!listed.has(id)) gone.push(id);
      for (const id of s.partial.keys()) if (!listed.has(id)) gone.push(id);
    } else {
      if (index !== undefined) {
        const inIndex = new Set(index.blocks.map((b) => b.blockId));
        const cutoff = index.updatedAt * 1000 - this.#env.options.bucketIndex!.deletionGraceMs;
        for (const [id, m] of s.metas) {
          if (!inIndex.has(id) && !listed.has(id) && blockUploadTimeMs(m) < cutoff) suspects.push(id);
        }
      }
      // A deletion mark that vanished: the cleaner deletes the block, then the mark.
      for (const id of prevDeletion.keys()) {
        if (s.deletionMarks.has(id) || !s.metas.has(id)) continue;
        if (partialMarkerView && (afterId === undefined || id <= afterId)) continue;
        suspects.push(id);
      }
    }
    const { bucket, layout, limiter } = this.#env;
    const unique = [...new Set(suspects)];
    const exists = await Promise.all(
      unique.map((id) => limiter.run(() => bucket.exists(layout.metaKey(s.tenant, id)))),
    );
    unique.forEach((id, i) => {
      if (!exists[i]) gone.push(id);
    });
    for (const id of gone) {
      if (s.drop(id)) {
        this.#env.counters.dropped++;
        this.#log.debug('block deleted from the bucket; forgetting it', { block: id });
        void this.#env.cache?.remove(s.tenant, id).catch(() => undefined);
      }
    }
    if (mode === 'full' && this.#env.cache !== undefined) await this.#pruneCache();
  }

  /** Cache files of blocks that are gone (dropped while the process was down). */
  async #pruneCache(): Promise<void> {
    const cache = this.#env.cache!;
    const s = this.#s;
    for (const id of await cache.ids(s.tenant)) {
      if (s.metas.has(id)) continue;
      s.cachedIds?.delete(id);
      await cache.remove(s.tenant, id).catch(() => undefined);
    }
  }

  #badInput(kind: BadInputKind, key: string, detail: string): void {
    this.#bad[kind]++;
    if (!this.#s.firstReport(`${kind}\u0000${key}`)) return;
    recordBadInput(this.#env.metrics, kind);
    this.#log.warn('skipping bad input in the bucket', { kind, key, detail });
  }

  #result(mode: DiscoveryMode): TenantSync {
    return tenantResult(this.#s, this.#env, mode, this.#counts, this.#bad);
  }
}

function sameKeys(a: ReadonlyMap<string, unknown>, b: ReadonlyMap<string, unknown>): boolean {
  if (a.size !== b.size) return false;
  for (const k of a.keys()) if (!b.has(k)) return false;
  return true;
}

function maxIndexId(index: BucketIndex): string | undefined {
  let max: string | undefined;
  for (const b of index.blocks) if (max === undefined || b.blockId > max) max = b.blockId;
  return max;
}

/** Runs the filters over what the tenant state knows and counts blocks by state. */
export function tenantResult(
  s: TenantState,
  env: Pick<TenantSyncEnv, 'options' | 'nowMs'>,
  mode: DiscoveryMode,
  counts: StateCounts = zeroStateCounts(),
  bad: BadInputCounts = zeroBadInputCounts(),
  error?: Error,
): TenantSync {
  // Only what changed since the previous result is filtered again (same answer as applyFilters).
  s.filterRun ??= new IncrementalFilters(env.options.filters);
  const f = s.filterRun.run(
    s.shareMetas(),
    { tenant: s.tenant, nowMs: env.nowMs, deletionMarks: s.deletionMarks, noCompactMarks: s.noCompactMarks },
    s.takeChanges(),
  );
  counts.loaded = f.metas.size;
  for (const p of s.partial.values()) counts[p.reason]++;
  for (const st of f.excluded.values()) counts[st]++;
  counts['marked-for-no-compact'] = f.noCompact.size;
  return {
    tenant: s.tenant,
    metas: f.metas,
    partial: new Map(s.partial),
    noCompact: f.noCompact,
    deletionMarks: s.deletionMarks,
    noCompactMarks: s.noCompactMarks,
    excluded: f.excluded,
    counts,
    badInput: bad,
    discovery: mode,
    ...(error !== undefined ? { error } : {}),
  };
}

/**
 * The result for a tenant whose sync failed: what the state knows (blocks of earlier syncs and
 * those read before the failure), with the error attached.
 */
export function staleResult(
  state: TenantState,
  env: Pick<TenantSyncEnv, 'options' | 'nowMs'>,
  err: Error,
): TenantSync {
  return tenantResult(state, env, 'tail', undefined, undefined, err);
}
