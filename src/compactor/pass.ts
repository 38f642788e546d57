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
import { markNoCompact, markNoDownsample, readMarker } from '../block/markers.js';
import type { NoCompactReason } from '../tsdb/markers.js';
import { copyMeta, type BlockMeta } from '../tsdb/meta.js';
import { planAll } from '../plan/plan-all.js';
import { resolvePlanOptions } from '../plan/options.js';
import { planDownsampling, type RetentionPolicy } from '../plan/downsample.js';
import { applyRetention } from '../plan/retention.js';
import { blockResolution } from '../tsdb/group-key.js';
import type {
  BlockedGroup,
  Plan,
  PlanBlock,
  PlanKind,
  PlanOptions,
  ResolvedPlanOptions,
} from '../plan/types.js';
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
  /** Downsampling and retention; without it, neither (compaction only). */
  readonly lifecycle?: LifecycleOptions;
}

export interface LifecycleOptions {
  /** False with `--downsampling.disable`. */
  readonly downsampling: boolean;
  readonly retention: RetentionPolicy;
}

/** Blocks held past their retention until a coarser resolution covers them, per tenant. */
export interface RetentionHeld {
  readonly tenant: string;
  readonly ulid: string;
  readonly resolution: number;
  readonly maxTime: number;
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
  /** Downsample plans among `plans`. */
  readonly downsamplePlans: number;
  /** Blocks marked for deletion by retention now, by resolution (ms). */
  readonly retentionMarked: ReadonlyMap<number, number>;
  readonly retentionHeld: readonly RetentionHeld[];
  /** The sync alone, and the whole pass (sync, planning, marks). */
  readonly syncMs: number;
  readonly durationMs: number;
}

/** Says whether a synced block stays out of planning (the planner: sources of completed plans). */
export type SkipBlock = (tenant: string, ulid: string) => boolean;

export class PlanningPass {
  /** The planner's view of each synced meta, reused while the meta object and its flags last. */
  private readonly planBlocks = new WeakMap<BlockMeta, PlanBlock>();
  private readonly resolved: ResolvedPlanOptions;

  constructor(
    private readonly plan: PlanOptions,
    private readonly d: PassDeps,
  ) {
    this.resolved = resolvePlanOptions(plan);
  }

  async run(skip?: SkipBlock, busy?: (tenant: string) => boolean): Promise<PassResult> {
    const t = performance.now();
    const scope = this.d.scope;
    const sync = await this.d.syncer.sync(
      scope === undefined ? {} : { selectTenants: (tenants) => scope.select(tenants, busy) },
    );
    const syncMs = performance.now() - t;
    const blocks = plannableBlocks(sync, skip, this.planBlocks);
    const res = planAll(blocks, this.plan);
    const downsample = await this.downsamplePlans(blocks, res.plans);
    const plans = downsample.length === 0 ? res.plans : [...res.plans, ...downsample];
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
    // Retention only for tenants whose compaction and downsampling are done for now.
    const quiet = new Set(sync.tenants.keys());
    for (const p of plans) quiet.delete(p.tenant);
    for (const nc of res.noCompact) quiet.delete(nc.tenant);
    if (busy) for (const t of [...quiet]) if (busy(t)) quiet.delete(t);
    const retention = await this.applyRetention(blocks.filter((b) => quiet.has(b.tenant)));
    return {
      sync,
      blocks,
      plans,
      blocked: res.blocked,
      duplicatesMarked,
      noCompactMarked,
      downsamplePlans: downsample.length,
      retentionMarked: retention.marked,
      retentionHeld: retention.held,
      syncMs,
      durationMs: performance.now() - t,
    };
  }

  /** Downsample plans due now, minus blocks with a no-downsample mark (read per candidate). */
  private async downsamplePlans(blocks: readonly PlanBlock[], compactions: readonly Plan[]): Promise<Plan[]> {
    const life = this.d.lifecycle;
    if (life === undefined || !life.downsampling) return [];
    const compacting = new Set<string>();
    for (const p of compactions) for (const b of p.sources) compacting.add(`${p.tenant}/${b.ulid}`);
    const candidates = planDownsampling(blocks, this.resolved, {
      retention: life.retention,
      nowMs: this.d.now(),
      noDownsample: () => false,
      compacting,
    });
    const out: Plan[] = [];
    for (const p of candidates) {
      const b = p.sources[0]!;
      if (!(await this.hasNoDownsampleMark(b.tenant, b.ulid))) out.push(p);
    }
    return out;
  }

  private async hasNoDownsampleMark(tenant: string, ulid: string): Promise<boolean> {
    const r = await readMarker(this.d.bucket, this.d.layout, tenant, ulid, 'no-downsample');
    return r.state !== 'absent';
  }

  /** Marks blocks past their resolution's retention for deletion (see plan/retention.ts). */
  private async applyRetention(
    blocks: readonly PlanBlock[],
  ): Promise<{ marked: Map<number, number>; held: RetentionHeld[] }> {
    const marked = new Map<number, number>();
    const life = this.d.lifecycle;
    if (life === undefined || blocks.length === 0) return { marked, held: [] };
    const policy = life.retention;
    if (policy.raw === 0 && policy.fiveMinutes === 0 && policy.oneHour === 0) return { marked, held: [] };
    const nowMs = this.d.now();
    // The few blocks retention would hold are checked for a no-downsample mark; nothing else.
    const first = applyRetention(blocks, {
      policy,
      nowMs,
      downsampling: life.downsampling,
      noDownsample: () => false,
    });
    const released = new Set<string>();
    for (const b of first.held)
      if (await this.hasNoDownsampleMark(b.tenant, b.ulid)) released.add(`${b.tenant}/${b.ulid}`);
    const r =
      released.size === 0
        ? first
        : applyRetention(blocks, {
            policy,
            nowMs,
            downsampling: life.downsampling,
            noDownsample: (t, id) => released.has(`${t}/${id}`),
          });
    for (const b of r.expired) {
      const res = blockResolution(b);
      await markForDeletion(
        this.d.bucket,
        this.d.layout,
        b.tenant,
        b.ulid,
        `retention: resolution ${res} ms, maxTime ${new Date(b.maxTime).toISOString()}`,
        nowMs,
        { logger: this.d.logger },
      );
      this.d.onMarked?.('deletion', 'retention');
      marked.set(res, (marked.get(res) ?? 0) + 1);
    }
    const held = r.held.map((b) => ({
      tenant: b.tenant,
      ulid: b.ulid,
      resolution: blockResolution(b),
      maxTime: b.maxTime,
    }));
    if (held.length > 0) {
      this.d.logger.info('retention holds blocks until their downsampled version exists', {
        blocks: held.length,
      });
    }
    return { marked, held };
  }

  /**
   * Sets aside the block a plan failed on for good: no-downsample for a downsample plan (the
   * block may still compact; its compacted output is downsampled instead), no-compact otherwise.
   */
  async markBadSource(
    kind: PlanKind | undefined,
    tenant: string,
    id: string,
    reason: NoCompactReason,
    details: string,
  ): Promise<boolean> {
    return this.mark(kind === 'downsample' ? 'no-downsample' : 'no-compact', tenant, id, reason, details);
  }

  /**
   * Marks a block no-compact (block folder and tenant copy) and logs it once; an existing mark is
   * kept. True when this call wrote the mark.
   */
  markBad(tenant: string, id: string, reason: NoCompactReason, details: string): Promise<boolean> {
    return this.mark('no-compact', tenant, id, reason, details);
  }

  private async mark(
    marker: 'no-compact' | 'no-downsample',
    tenant: string,
    id: string,
    reason: NoCompactReason,
    details: string,
  ): Promise<boolean> {
    const write = marker === 'no-compact' ? markNoCompact : markNoDownsample;
    const outcome = await write(this.d.bucket, this.d.layout, tenant, id, reason, details, this.d.now(), {
      logger: this.d.logger,
    });
    if (outcome !== 'written') return false;
    const msg =
      marker === 'no-compact'
        ? 'block marked no-compact; its group goes on without it'
        : 'block marked no-downsample; it is not downsampled again';
    this.d.logger.warn(msg, { tenant, block: id, reason, details });
    if (marker === 'no-compact') this.d.onMarked?.('no-compact', reason);
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
        b = { ...copyMeta(m), tenant: t.tenant, noCompact };
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
