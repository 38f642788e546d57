/**
 * The metadata fetcher (Thanos BaseFetcher + MetaFetcher): finds every block of every tenant,
 * reads the meta.json files it has not seen (bounded concurrency, local cache), and returns per
 * tenant the blocks, partial blocks and per-state counts after the filters.
 *
 * A sync never starts from zero:
 * - in memory, every block whose meta.json was read is known, and tail listings start after the
 *   tenant's watermark (see tenant-sync.ts for late uploads and deletions);
 * - on disk (`<cacheDir>/checkpoint.json.gz`, `metas.bin`, `meta-journal.<n>.bin`), the
 *   known blocks, their compacted metas and the meta.json bytes read since the last checkpoint
 *   survive a restart: the checkpoint is written during a sync (every N reads, at least a tenth of
 *   the known blocks, or every T ms), at its end and on close(), so a killed sync resumes from its
 *   last checkpoint, and reads finished after it are found in the journal instead of the bucket.
 */
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { Registry } from 'prom-client';
import type { Bucket } from '../../objstore/bucket.js';
import { InstrumentedBucket, type OperationCounts } from '../../objstore/instrumented.js';
import { errorMessage, InvalidArgumentError } from '../../util/errors.js';
import { nopLogger, type Logger } from '../../util/logger.js';
import type { BlockMeta } from '../../tsdb/meta.js';
import type { Layout } from '../layout.js';
import {
  CHECKPOINT_VERSION,
  CheckpointError,
  readCheckpointFile,
  type Checkpoint,
  type LoadedCheckpoint,
} from './checkpoint.js';
import { CheckpointWriter } from './checkpoint-writer.js';
import { discoverTenants } from './discovery.js';
import { rootKeyProblem } from '../tenancy-check.js';
import { Limiter } from './limiter.js';
import { MetaCache } from './meta-cache.js';
import { METAS_FILENAME, tableIn } from './metas-file.js';
import { MetasStore } from './metas-store.js';
import { classifyMeta, Interner, type MetaOutcome } from './meta-read.js';
import { MetaJournal } from './meta-journal.js';
import { MetaTable } from './meta-table.js';
import {
  fetcherMetrics,
  recordBadInput,
  recordRequests,
  recordSynced,
  type FetcherMetrics,
} from './metrics.js';
import { TenantState } from './tenant-state.js';
import { staleResult, syncTenant, type ResolvedFetcherOptions, type SyncCounters } from './tenant-sync.js';
import {
  BAD_INPUT_KINDS,
  SYNC_STATES,
  zeroBadInputCounts,
  zeroStateCounts,
  type BadInputCounts,
  type MetaFilter,
  type SyncResult,
  type TenantSync,
} from './types.js';

export const DEFAULT_FETCHER_CONCURRENCY = 32;
export const CHECKPOINT_FILENAME = 'checkpoint.json.gz';
export const META_CACHE_DIRNAME = 'meta';

export interface MetaFetcherOptions {
  /** meta.json and marker reads in flight across all tenants (default 32, like Thanos). */
  readonly concurrency?: number;
  /** Tenants listed at the same time (default 16). */
  readonly tenantConcurrency?: number;
  /**
   * Local state: the meta cache and the checkpoint file live here. Without it nothing survives a
   * restart (the in-memory checkpoint still works).
   */
  readonly cacheDir?: string;
  /** Checkpoints and tail listings (default true). false: every sync lists every folder. */
  readonly checkpoint?: boolean;
  /** Write the checkpoint after this many completed reads (default 10000)... */
  readonly checkpointEveryReads?: number;
  /** ...or after this long (ms, default 30 s), whichever comes first. */
  readonly checkpointEveryMs?: number;
  /** A full listing every N syncs per tenant (default 10; 1 = always). */
  readonly fullListEvery?: number;
  /** Tail listings re-list blocks minted within this window (ms, default 6 h): late uploads. */
  readonly relistWindowMs?: number;
  /** Partial blocks younger than this get re-read every sync (ms, default 48 h). */
  readonly partialRecheckWindowMs?: number;
  /**
   * Use `<tenant>/bucket-index.json.gz` (Cortex format) instead of full listings when it is
   * fresher than `maxStalenessMs` (default 1 h). A block missing from the index is checked (one
   * `exists`) and dropped only if its upload time is `deletionGraceMs` (default 15 min) older
   * than the index.
   */
  readonly bucketIndex?: boolean | { readonly maxStalenessMs?: number; readonly deletionGraceMs?: number };
  /** Multi-tenant: sync only these tenants instead of discovering them. */
  readonly tenants?: readonly string[];
  readonly filters?: readonly MetaFilter[];
}

export interface MetaFetcherDeps {
  readonly bucket: Bucket;
  readonly layout: Layout;
  readonly logger?: Logger;
  readonly registry?: Registry;
  /** Wall clock, ms since the epoch (default Date.now). */
  readonly now?: () => number;
  /** Monotonic ms for durations (default performance.now). */
  readonly monotonic?: () => number;
}

export interface SyncOptions {
  /** Aborting stops the sync where it is and records nothing more (a stand-in for a kill). */
  readonly signal?: AbortSignal;
  /**
   * Narrows the discovered tenants to those synced now (ring sharding: the tenants this process
   * works on). Tenants left out keep their state for later syncs; they are not forgotten.
   */
  readonly selectTenants?: (tenants: readonly string[]) => Promise<readonly string[]>;
}

function resolveOptions(o: MetaFetcherOptions): ResolvedFetcherOptions {
  const positive = (name: string, v: number | undefined, dflt: number): number => {
    const x = v ?? dflt;
    if (!Number.isFinite(x) || x < 0)
      throw new InvalidArgumentError(`fetcher: ${name} must be >= 0, got ${x}`);
    return x;
  };
  const bi = o.bucketIndex;
  const biObj = typeof bi === 'object' ? bi : {};
  return {
    concurrency: Math.max(1, Math.floor(positive('concurrency', o.concurrency, DEFAULT_FETCHER_CONCURRENCY))),
    tenantConcurrency: Math.max(1, Math.floor(positive('tenantConcurrency', o.tenantConcurrency, 16))),
    checkpoint: o.checkpoint ?? true,
    fullListEvery: Math.max(1, Math.floor(positive('fullListEvery', o.fullListEvery, 10))),
    relistWindowMs: positive('relistWindowMs', o.relistWindowMs, 6 * 3600_000),
    partialRecheckWindowMs: positive('partialRecheckWindowMs', o.partialRecheckWindowMs, 48 * 3600_000),
    bucketIndex:
      bi === undefined || bi === false
        ? undefined
        : {
            maxStalenessMs: positive('bucketIndex.maxStalenessMs', biObj.maxStalenessMs, 3600_000),
            deletionGraceMs: positive('bucketIndex.deletionGraceMs', biObj.deletionGraceMs, 15 * 60_000),
          },
    filters: o.filters ?? [],
  };
}

export class MetaFetcher {
  readonly #bucket: InstrumentedBucket;
  readonly #layout: Layout;
  readonly #logger: Logger;
  readonly #metrics: FetcherMetrics;
  readonly #now: () => number;
  readonly #monotonic: () => number;
  readonly #opts: ResolvedFetcherOptions;
  readonly #explicitTenants: readonly string[] | undefined;
  readonly #cache: MetaCache | undefined;
  readonly #checkpointPath: string | undefined;
  readonly #writer: CheckpointWriter | undefined;
  readonly #metasStore: MetasStore | undefined;
  readonly #journal: MetaJournal | undefined;
  /** The journal generation the checkpoint being written holds. */
  #journalCovered = -1;
  readonly #limiter: Limiter;
  readonly #interner = new Interner();
  readonly #states = new Map<string, TenantState>();
  #loaded: Promise<void> | undefined;
  /** The load finished: the state is what a checkpoint may be written from. */
  #restored = false;
  #running: Promise<SyncResult> | undefined;
  #closed = false;
  /** A tenant was forgotten since the last checkpoint snapshot. */
  #dirty = false;
  /** A checkpoint file was loaded or written by this fetcher. */
  #onDisk = false;

  constructor(deps: MetaFetcherDeps, options: MetaFetcherOptions = {}) {
    this.#opts = resolveOptions(options);
    this.#bucket = new InstrumentedBucket(deps.bucket);
    this.#layout = deps.layout;
    this.#logger = (deps.logger ?? nopLogger).child({ component: 'block.fetcher' });
    this.#metrics = fetcherMetrics(deps.registry ?? new Registry());
    this.#now = deps.now ?? Date.now;
    this.#monotonic = deps.monotonic ?? (() => performance.now());
    this.#explicitTenants = options.tenants;
    this.#limiter = new Limiter(this.#opts.concurrency);
    if (options.cacheDir !== undefined) {
      // The journal is trimmed by checkpoint writes: without checkpoints, a file per block.
      if (this.#opts.checkpoint) this.#journal = new MetaJournal(options.cacheDir, this.#logger);
      this.#cache = new MetaCache(join(options.cacheDir, META_CACHE_DIRNAME), this.#journal);
      if (this.#opts.checkpoint) {
        this.#checkpointPath = join(options.cacheDir, CHECKPOINT_FILENAME);
        const metasStore = new MetasStore(join(options.cacheDir, METAS_FILENAME), this.#logger, () =>
          recordBadInput(this.#metrics, 'bad-checkpoint'),
        );
        this.#metasStore = metasStore;
        this.#writer = new CheckpointWriter(() => this.#snapshot(), {
          path: this.#checkpointPath,
          everyReads: Math.max(1, options.checkpointEveryReads ?? 10_000),
          size: () => this.#knownBlocks,
          everyMs: options.checkpointEveryMs ?? 30_000,
          now: this.#monotonic,
          logger: this.#logger,
          onWritten: (bytes) => {
            this.#onDisk = true;
            this.#metrics.checkpointWrites.inc({ result: 'ok' });
            this.#metrics.checkpointBytes.set(bytes);
            // The journaled blocks are in the checkpoint and, unless its write failed, the file.
            if (!metasStore.needsRewrite) void this.#journal?.release(this.#journalCovered);
          },
          onFailed: () => this.#metrics.checkpointWrites.inc({ result: 'error' }),
          companion: () => {
            this.#journalCovered = this.#journal?.rotate() ?? -1;
            return metasStore.prepare(this.#states);
          },
        });
      }
    }
  }

  /** About the blocks known (exact after each load and sync): sizes the checkpoint interval. */
  #knownBlocks = 0;

  /** Bucket calls made so far, by operation (the fetcher's own wrapper). */
  operationCounts(): OperationCounts {
    return this.#bucket.operationCounts();
  }

  /** Checkpoint writes completed so far. */
  get checkpointWrites(): number {
    return this.#writer?.writes ?? 0;
  }

  /** Metas file writes (appends and rewrites) completed so far. */
  get metasFileWrites(): number {
    return this.#metasStore?.writes ?? 0;
  }

  /** Blocks appended to the meta journal so far. */
  get journalAppends(): number {
    return this.#journal?.appends ?? 0;
  }

  /** Local copies (journal, metas file, old cache files) read so far, at start and in syncs. */
  get metaCacheReads(): number {
    return this.#cache?.reads ?? 0;
  }

  /** The current checkpoint (what the next write would store). */
  checkpoint(): Checkpoint {
    const tenants = new Map<string, ReturnType<TenantState['checkpoint']>>();
    for (const [name, st] of this.#states) tenants.set(name, st.checkpoint());
    return { version: CHECKPOINT_VERSION, writtenAtMs: this.#now(), tenants };
  }

  /** The checkpoint for the writer: what is in it is no longer dirty. */
  #snapshot(): Checkpoint {
    this.#dirty = false;
    for (const st of this.#states.values()) st.dirty = false;
    return this.checkpoint();
  }

  /** Runs one sync; concurrent callers share the sync in progress. */
  sync(options: SyncOptions = {}): Promise<SyncResult> {
    if (this.#closed) return Promise.reject(new InvalidArgumentError('fetcher: sync after close'));
    if (this.#running !== undefined) return this.#running;
    const p = this.#sync(options).finally(() => {
      this.#running = undefined;
    });
    this.#running = p;
    return p;
  }

  /** Waits until every checkpoint write requested so far is on disk. */
  async flushCheckpoint(): Promise<void> {
    await this.#writer?.idle();
  }

  /**
   * Waits for a running sync and writes the checkpoint one last time, unless the one on disk
   * already holds the current state (an idle process exits without rewriting it).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#running?.catch(() => undefined);
    // Only a state that was restored (or started afresh) is written: after a failed load the
    // checkpoint and metas file on disk are still the better ones.
    if (this.#writer !== undefined && this.#restored) {
      await this.#writer.idle();
      if (!this.#onDisk || this.#writer.failed || this.#isDirty()) await this.#writer.request();
      await this.#writer.idle();
    }
    this.#journal?.close();
  }

  #isDirty(): boolean {
    return this.#dirty || [...this.#states.values()].some((st) => st.dirty);
  }

  async #sync(options: SyncOptions): Promise<SyncResult> {
    const signal = options.signal;
    // A load that failed (an unreadable data dir, say) is tried again by the next sync.
    this.#loaded ??= this.#load().then(
      () => {
        this.#restored = true;
      },
      (err: unknown) => {
        this.#loaded = undefined;
        throw err;
      },
    );
    await this.#loaded;
    const m = this.#metrics;
    m.syncs.inc();
    const t0 = this.#monotonic();
    const before = this.#bucket.operationCounts();
    const nowMs = this.#now();
    const counters: SyncCounters = { metaReads: 0, cacheHits: 0, dropped: 0 };
    const badInput = zeroBadInputCounts();
    const results = new Map<string, TenantSync>();
    let failed = false;
    try {
      const all = await this.#tenants(badInput);
      const present = new Set(all);
      for (const name of [...this.#states.keys()]) {
        if (!present.has(name)) await this.#forgetTenant(name);
      }
      const tenants = options.selectTenants === undefined ? all : [...(await options.selectTenants(all))];
      const env = {
        bucket: this.#bucket,
        layout: this.#layout,
        cache: this.#cache,
        limiter: this.#limiter,
        interner: this.#interner,
        logger: this.#logger,
        metrics: m,
        options: this.#opts,
        nowMs,
        signal,
        counters,
        onRead: () => {
          this.#knownBlocks++;
          this.#writer?.noteRead();
        },
      };
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < tenants.length && !signal?.aborted) {
          const name = tenants[next++]!;
          let st = this.#states.get(name);
          if (st === undefined) {
            st = new TenantState(name, this.#metasStore !== undefined);
            this.#states.set(name, st);
          }
          try {
            results.set(name, await syncTenant(st, env));
          } catch (err) {
            if (signal?.aborted) return;
            failed = true;
            const e = err instanceof Error ? err : new Error(String(err));
            this.#logger.warn('tenant sync failed; keeping its previous blocks', {
              tenant: name,
              err: errorMessage(err),
            });
            results.set(name, staleResult(st, env, e));
          }
        }
      };
      await Promise.all(
        Array.from({ length: Math.min(this.#opts.tenantConcurrency, tenants.length) }, worker),
      );
      signal?.throwIfAborted();
      // Order results like the tenant list (workers finish in any order).
      const ordered = new Map<string, TenantSync>();
      for (const t of tenants) {
        const r = results.get(t);
        if (r !== undefined) ordered.set(t, r);
      }
      const totals = zeroStateCounts();
      for (const r of ordered.values()) {
        for (const s of SYNC_STATES) totals[s] += r.counts[s];
        for (const k of BAD_INPUT_KINDS) badInput[k] += r.badInput[k];
      }
      recordSynced(m, totals);
      this.#knownBlocks = 0;
      for (const st of this.#states.values()) this.#knownBlocks += st.metas.size;
      m.tenants.set(ordered.size);
      // Written in the background (close() waits for it); a sync that changed nothing skips it.
      if (this.#writer !== undefined && this.#isDirty()) {
        void this.#writer.request();
      }
      const durationMs = this.#monotonic() - t0;
      const requests = diffCounts(this.#bucket.operationCounts(), before);
      this.#logger.info('synchronized block metadata', {
        duration_ms: Math.round(durationMs),
        tenants: ordered.size,
        loaded: totals.loaded,
        partial: totals['no-meta-json'] + totals['corrupted-meta-json'] + totals['unsupported-meta-version'],
        meta_reads: counters.metaReads,
        cache_hits: counters.cacheHits,
        dropped: counters.dropped,
      });
      return {
        tenants: ordered,
        stats: {
          durationMs,
          requests,
          metaReads: counters.metaReads,
          cacheHits: counters.cacheHits,
          dropped: counters.dropped,
          badInput,
        },
      };
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      recordRequests(m, diffCounts(this.#bucket.operationCounts(), before));
      m.syncDuration.observe((this.#monotonic() - t0) / 1000);
      if (failed) m.syncFailures.inc();
    }
  }

  async #tenants(badInput: BadInputCounts): Promise<string[]> {
    if (this.#layout.tenancy === 'single') return [''];
    if (this.#explicitTenants !== undefined) return [...this.#explicitTenants];
    const { tenants, garbage } = await discoverTenants(this.#bucket, this.#layout);
    for (const key of garbage) {
      badInput['garbage-key']++;
      if (!this.#reportedGarbage.has(key)) {
        this.#reportedGarbage.add(key);
        recordBadInput(this.#metrics, 'garbage-key');
        this.#logger.warn('skipping bad input in the bucket', {
          kind: 'garbage-key',
          key,
          detail: rootKeyProblem(key),
        });
      }
    }
    return tenants;
  }

  readonly #reportedGarbage = new Set<string>();

  async #forgetTenant(name: string): Promise<void> {
    this.#states.delete(name);
    this.#dirty = true;
    this.#logger.info('tenant gone from the bucket; forgetting it', { tenant: name });
    await this.#cache?.removeTenant(name).catch(() => undefined);
  }

  /**
   * Restores the checkpoint and the metas it names; whatever else is on disk (journal records,
   * metas of blocks the checkpoint does not name) becomes local copies for the first sync.
   */
  async #load(): Promise<void> {
    const cache = this.#cache;
    if (cache === undefined) return;
    // The journal first: a checkpoint written meanwhile (by a process still shutting down) only
    // deletes journal files after the metas file and the checkpoint hold their blocks.
    for (const r of (await this.#journal?.load()) ?? []) cache.addSpare(r.tenant, r.id, r.bytes);
    if (this.#checkpointPath === undefined) return;
    const t0 = this.#monotonic();
    // Packed frame by frame into each tenant's table: a million plain metas never exist at once.
    const tables = new Map<string, MetaTable>();
    const fromFile =
      (await this.#metasStore?.load(this.#interner, tableIn(tables))) ??
      new Map<string, Map<string, BlockMeta>>();
    // The checkpoint after the metas (either order is safe: known blocks the file lacks are read
    // as below), so its bytes are released right after the checks below instead of living
    // through the decode of the metas.
    let cp: LoadedCheckpoint | undefined;
    try {
      cp = await readCheckpointFile(this.#checkpointPath);
    } catch (err) {
      if (!(err instanceof CheckpointError)) throw err;
      recordBadInput(this.#metrics, 'bad-checkpoint');
      this.#logger.warn('ignoring unreadable fetcher checkpoint; starting afresh', { err: err.message });
    }
    if (cp !== undefined) this.#onDisk = true;
    if (cp === undefined) {
      // Without a checkpoint the file says nothing about which blocks exist, but each of its
      // metas is still that block's meta.json: the sync lists, and takes them instead of reading.
      for (const [name, metas] of fromFile) for (const [id, m] of metas) cache.addSpare(name, id, m);
      return;
    }
    let loaded = 0;
    let fromCache = 0;
    let missing = 0;
    const tenants = cp.tenants.size;
    for (const [name, tc] of cp.tenants) {
      const st = new TenantState(name, this.#metasStore !== undefined, tables.get(name));
      st.restore(tc);
      const inFile = fromFile.get(name);
      const key = (id: string): string => this.#layout.metaKey(name, id);
      let reads = 0;
      // The usual case: the file holds exactly the blocks the checkpoint names. Its map becomes
      // the tenant's (a million-entry restart builds no second map and leaves none behind).
      const adopt = inFile !== undefined && tc.known.sameAsKeys(inFile);
      if (adopt) {
        st.adoptMetas(inFile);
        loaded += inFile.size;
      } else {
        for (let i = 0; i < tc.known.length; i++) {
          const id = tc.known.at(i);
          const m = inFile?.get(id);
          if (m !== undefined) {
            // The meta's own ULID string as the key: the checkpoint's copy of it can then go.
            st.setMeta(m.ulid, m, true);
            loaded++;
            continue;
          }
          const local = cache.readSync(name, id);
          const o: MetaOutcome | undefined =
            local === undefined
              ? undefined
              : Buffer.isBuffer(local)
                ? classifyMeta(id, local, key(id), this.#interner)
                : { kind: 'loaded', meta: local };
          if (o?.kind === 'loaded') {
            st.setMeta(o.meta.ulid, o.meta);
            loaded++;
            fromCache++;
          } else {
            st.recheck.add(id);
            missing++;
          }
          // Synchronous reads are the fast path for many small files; yield now and then.
          if (++reads % 2048 === 0) await yieldToLoop();
        }
      }
      this.#states.set(name, st);
      // Done with the tenant: its metas file entries and checkpoint IDs go now, not at the end
      // (at a million blocks each is a map or array of a million entries).
      if (inFile !== undefined) {
        if (!adopt) for (const [id, m] of inFile) if (!st.metas.has(id)) cache.addSpare(name, id, m);
        fromFile.delete(name);
      }
      cp.tenants.delete(name);
    }
    for (const [name, metas] of fromFile) {
      const st = this.#states.get(name);
      for (const [id, m] of metas) if (st === undefined || !st.metas.has(id)) cache.addSpare(name, id, m);
    }
    for (const st of this.#states.values()) this.#knownBlocks += st.metas.size;
    // Blocks the metas file lacks get written there by the first sync's checkpoint write.
    const rewrite = this.#metasStore?.needsRewrite === true;
    // Otherwise the restored state is what the files hold (setMeta above flagged it dirty).
    for (const st of this.#states.values()) st.dirty = fromCache > 0 || rewrite;
    this.#logger.info('restored fetcher checkpoint', {
      tenants,
      blocks: loaded,
      from_meta_cache: fromCache,
      missing_from_cache: missing,
      duration_ms: Math.round(this.#monotonic() - t0),
    });
  }
}

function diffCounts(after: OperationCounts, before: OperationCounts): OperationCounts {
  const out = { ...after };
  for (const k of Object.keys(out) as (keyof OperationCounts)[]) out[k] = after[k] - before[k];
  return out;
}
