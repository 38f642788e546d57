/**
 * The blocks a store serves: the metadata fetcher's view of one tenant (partial, too fresh,
 * duplicate and long-marked blocks already hidden), narrowed by time range and shard, each
 * opened as a StoreBlock. A block that cannot be opened is skipped with a warning and tried
 * again at the next sync; blocks that leave the fetcher's view are closed and forgotten once the
 * new blocks of the same sync are open.
 */
import type { Bucket } from '../objstore/bucket.js';
import type { Layout } from '../block/layout.js';
import type { MetaFetcher } from '../block/fetcher/fetcher.js';
import type { BlockMeta } from '../tsdb/meta.js';
import { xxhash64Decimal } from '../tsdb/labels-hash.js';
import { errorCode, errorMessage } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { StoreBlock } from './block.js';
import type { IndexLru } from './cache.js';
import { servedResolution } from './resolution.js';

/** A time bound: absolute ms, or relative to now at each sync (e.g. -2h). */
export type TimeBound = { readonly absolute: number } | { readonly relative: number };

export interface Shard {
  readonly index: number;
  readonly total: number;
}

export interface BlockSetOptions {
  readonly tenant: string;
  readonly minTime?: TimeBound;
  readonly maxTime?: TimeBound;
  readonly shard?: Shard;
  /** Blocks opened at once (default 8). */
  readonly openConcurrency?: number;
}

export interface BlockSetDeps {
  readonly bucket: Bucket;
  readonly layout: Layout;
  readonly fetcher: MetaFetcher;
  readonly cache: IndexLru;
  readonly logger: Logger;
  readonly now: () => number;
  /** Called after each sync with the number of blocks served. */
  readonly onSynced?: (blocks: number) => void;
}

/** Whether a block ULID belongs to shard i of N: XXH64 (seed 0) of the ULID's 26 ASCII bytes, mod N. */
export function inShard(ulid: string, shard: Shard): boolean {
  const h = BigInt(xxhash64Decimal(new TextEncoder().encode(ulid)));
  return Number(h % BigInt(shard.total)) === shard.index;
}

function resolveBound(b: TimeBound | undefined, now: number, dflt: number): number {
  if (b === undefined) return dflt;
  return 'absolute' in b ? b.absolute : now + b.relative;
}

export class BlockSet {
  private readonly open = new Map<string, StoreBlock>();
  private synced = false;

  constructor(
    private readonly deps: BlockSetDeps,
    private readonly opts: BlockSetOptions,
  ) {}

  /** True once one sync finished. */
  get ready(): boolean {
    return this.synced;
  }

  /** The blocks served now, by min time. */
  blocks(): StoreBlock[] {
    return [...this.open.values()].sort((a, b) => a.meta.minTime - b.meta.minTime || (a.id < b.id ? -1 : 1));
  }

  /** The metas this store should serve after the fetcher's filters, time range and shard. */
  private wanted(metas: ReadonlyMap<string, BlockMeta>): Map<string, BlockMeta> {
    const now = this.deps.now();
    const min = resolveBound(this.opts.minTime, now, -Infinity);
    const max = resolveBound(this.opts.maxTime, now, Infinity);
    const out = new Map<string, BlockMeta>();
    for (const [id, m] of metas) {
      // Inclusive on both ends, like Thanos' time partition filter (maxTime is exclusive in meta).
      if (!(m.maxTime >= min && m.minTime <= max)) continue;
      // Raw, 5m and 1h blocks (Thanos refuses to load any other resolution).
      if (!servedResolution(m.thanos?.downsample.resolution ?? 0)) continue;
      if (this.opts.shard !== undefined && !inShard(id, this.opts.shard)) continue;
      out.set(id, m);
    }
    return out;
  }

  async sync(signal?: AbortSignal): Promise<void> {
    const { fetcher, logger } = this.deps;
    const result = await fetcher.sync(signal !== undefined ? { signal } : {});
    const ts = result.tenants.get(this.opts.tenant);
    if (ts?.error !== undefined) {
      logger.warn('listing the tenant failed; serving the blocks of the previous sync', {
        tenant: this.opts.tenant,
        code: errorCode(ts.error) ?? 'ERR_INTERNAL',
        err: errorMessage(ts.error),
      });
    }
    const want = this.wanted(ts?.metas ?? new Map<string, BlockMeta>());
    const todo = [...want.values()].filter((m) => !this.open.has(m.ulid));
    const limit = Math.max(1, this.opts.openConcurrency ?? 8);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < todo.length && signal?.aborted !== true) {
        const m = todo[next++]!;
        try {
          const b = await StoreBlock.open(
            this.deps.bucket,
            this.deps.layout,
            this.opts.tenant,
            m,
            this.deps.cache.forBlock(m.ulid),
          );
          this.open.set(m.ulid, b);
        } catch (err) {
          logger.warn('block skipped: its index cannot be opened', {
            block: m.ulid,
            code: errorCode(err) ?? 'ERR_INTERNAL',
            err: errorMessage(err),
          });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, todo.length) }, worker));
    // Dropped only now: a compactor's output replaces its inputs (hidden as duplicates) in one
    // sync, and a query between dropping the inputs and opening the output would see neither.
    for (const [id, b] of this.open) {
      if (want.has(id)) continue;
      this.open.delete(id);
      this.deps.cache.dropBlock(id);
      await b.close().catch(() => undefined);
      logger.info('block dropped', { block: id });
    }
    this.synced = true;
    this.deps.onSynced?.(this.open.size);
  }

  async close(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((b) => b.close().catch(() => undefined)));
  }
}
