/**
 * One planning pass over a bucket, the same for `strata compact` and `strata planner`: sync the
 * metadata → the plannable blocks → plan every tenant → mark the duplicates the fetcher hid and the
 * blocks the planner set aside. Whatever narrows or extends planning (ring sharding, downsampling,
 * retention) belongs here, once.
 */
import type { Bucket } from '../objstore/bucket.js';
import type { Layout } from '../block/layout.js';
import type { SyncResult } from '../block/fetcher/types.js';
import { markForDeletion } from '../block/delete.js';
import { markNoCompact } from '../block/markers.js';
import type { NoCompactReason } from '../tsdb/markers.js';
import type { BlockMeta } from '../tsdb/meta.js';
import { planAll } from '../plan/plan-all.js';
import type { BlockedGroup, Plan, PlanBlock, PlanOptions } from '../plan/types.js';
import type { Logger } from '../util/logger.js';

export interface MetaSyncer {
  sync(options?: {
    selectTenants?: (tenants: readonly string[]) => Promise<readonly string[]>;
  }): Promise<SyncResult>;
}

/**
 * The tenants this process may work on (ring sharding); without a scope, every tenant. Tenants
 * outside it are not synced, planned or cleaned here.
 */
export interface TenantScope {
  readonly instanceId: string;
  /**
   * Of the bucket's tenants, those to work on now. `busy` tenants still have work running here
   * (they stay held even if the ring moved them away).
   */
  select(tenants: readonly string[], busy?: (tenant: string) => boolean): Promise<readonly string[]>;
  /** Aborted when this process must stop working on its tenants at once. */
  readonly signal: AbortSignal;
  /** When this process took `tenant` (ms since the epoch), if it holds it. */
  heldSince?(tenant: string): number | undefined;
}

export interface PassDeps {
  readonly bucket: Bucket;
  readonly layout: Layout;
  readonly syncer: MetaSyncer;
  readonly logger: Logger;
  readonly now: () => number;
  /** Counts a mark this process wrote (metrics). */
  readonly onMarked?: (marker: 'deletion' | 'no-compact', reason: string) => void;
  readonly scope?: TenantScope;
}

export interface PassResult {
  readonly sync: SyncResult;
  /** The blocks planned with (every synced block not marked for deletion and not skipped). */
  readonly blocks: readonly PlanBlock[];
  /** Plans that can all run at once. */
  readonly plans: readonly Plan[];
  readonly blocked: readonly BlockedGroup[];
  readonly duplicatesMarked: number;
  readonly noCompactMarked: number;
  /** The sync alone, and the whole pass (sync, planning, marks). */
  readonly syncMs: number;
  readonly durationMs: number;
}

/** Says whether a synced block stays out of planning (the planner: sources of completed plans). */
export type SkipBlock = (tenant: string, ulid: string) => boolean;

export class PlanningPass {
  /** The planner's view of each synced meta, reused while the meta object and its flags last. */
  private readonly planBlocks = new WeakMap<BlockMeta, PlanBlock>();

  constructor(
    private readonly plan: PlanOptions,
    private readonly d: PassDeps,
  ) {}

  async run(skip?: SkipBlock, busy?: (tenant: string) => boolean): Promise<PassResult> {
    const t = performance.now();
    const scope = this.d.scope;
    const sync = await this.d.syncer.sync(
      scope === undefined ? {} : { selectTenants: (tenants) => scope.select(tenants, busy) },
    );
    const syncMs = performance.now() - t;
    const blocks = plannableBlocks(sync, skip, this.planBlocks);
    const res = planAll(blocks, this.plan);
    let duplicatesMarked = 0;
    for (const dup of duplicatesToMark(sync)) {
      await markForDeletion(this.d.bucket, this.d.layout, dup.tenant, dup.ulid, dup.details, this.d.now(), {
        logger: this.d.logger,
      });
      this.d.onMarked?.('deletion', 'duplicate');
      duplicatesMarked++;
    }
    let noCompactMarked = 0;
    for (const nc of res.noCompact) {
      if (await this.markBad(nc.tenant, nc.ulid, nc.reason, nc.details)) noCompactMarked++;
    }
    return {
      sync,
      blocks,
      plans: res.plans,
      blocked: res.blocked,
      duplicatesMarked,
      noCompactMarked,
      syncMs,
      durationMs: performance.now() - t,
    };
  }

  /**
   * Marks a block no-compact (block folder and tenant copy) and logs it once; an existing mark is
   * kept. True when this call wrote the mark.
   */
  async markBad(tenant: string, id: string, reason: NoCompactReason, details: string): Promise<boolean> {
    const outcome = await markNoCompact(
      this.d.bucket,
      this.d.layout,
      tenant,
      id,
      reason,
      details,
      this.d.now(),
      {
        logger: this.d.logger,
      },
    );
    if (outcome !== 'written') return false;
    this.d.logger.warn('block marked no-compact; its group goes on without it', {
      tenant,
      block: id,
      reason,
      details,
    });
    this.d.onMarked?.('no-compact', reason);
    return true;
  }
}

/**
 * Every synced block that may be planned. Blocks marked for deletion were compacted (or are
 * duplicates) and never are; `skip` excludes more. With `cache`, a block is copied into its
 * PlanBlock once, not on every pass (the fetcher keeps the same meta objects across syncs).
 */
export function plannableBlocks(
  sync: SyncResult,
  skip?: SkipBlock,
  cache?: WeakMap<BlockMeta, PlanBlock>,
): PlanBlock[] {
  const out: PlanBlock[] = [];
  for (const t of sync.tenants.values()) {
    for (const m of t.metas.values()) {
      if (t.deletionMarks.has(m.ulid) || skip?.(t.tenant, m.ulid) === true) continue;
      const noCompact = t.noCompact.has(m.ulid);
      let b = cache?.get(m);
      if (b === undefined || b.noCompact !== noCompact || b.tenant !== t.tenant) {
        b = { ...m, tenant: t.tenant, noCompact };
        cache?.set(m, b);
      }
      out.push(b);
    }
  }
  return out;
}

export interface DuplicateToMark {
  readonly tenant: string;
  readonly ulid: string;
  readonly details: string;
}

/**
 * The duplicates the fetcher's duplicate filter hid and nobody marked yet (Thanos' GarbageCollect
 * marks the filter's DuplicateIDs): the sources of an output uploaded by a compaction that died
 * before marking them; hidden but never marked they would stay in the bucket forever, their
 * samples visible twice to every reader. A block whose block-level mark exists without its tenant
 * copy (a crash between the two writes) is among them too: marking it again repairs the copy.
 */
export function duplicatesToMark(sync: SyncResult): DuplicateToMark[] {
  const out: DuplicateToMark[] = [];
  for (const t of sync.tenants.values()) {
    for (const [id, state] of t.excluded) {
      if (state !== 'duplicate' || t.deletionMarks.has(id)) continue;
      out.push({
        tenant: t.tenant,
        ulid: id,
        details: 'duplicate: its compaction sources are all in another block of its group',
      });
    }
  }
  return out;
}
