/**
 * The planner's PlanSource over a bucket: every planning pass syncs the metadata (the fetcher,
 * with its checkpoints), marks the duplicates and bad blocks the planner finds, and returns every
 * plan that can run now. The cleaner (deletion delay, partial blocks, bucket index) runs in the
 * background after a pass, at most once per cleanup interval.
 *
 * Sources of completed plans are left out of planning until a sync shows them marked for
 * deletion (or gone): the worker marks them before it reports, but a sync that started earlier
 * may still list them unmarked.
 */
import type { Bucket } from '../objstore/bucket.js';
import type { Layout } from '../block/layout.js';
import type { SyncResult, TenantSync } from '../block/fetcher/types.js';
import { readMarker } from '../block/markers.js';
import { readBlockState } from '../block/partial.js';
import type { NoCompactReason } from '../tsdb/markers.js';
import type { Plan, PlanBlock, PlanFootprint, PlanOptions } from '../plan/types.js';
import { cleanTenants, type CleanupOptions, type CleanupResult } from '../compactor/cleanup.js';
import { PlanningPass, type LifecycleOptions, type MetaSyncer, type TenantScope } from '../compactor/pass.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { PlanningContext, PlanSource } from './passes.js';
import { isWholePlan } from './leases.js';
import { plansByTenant, type PlanSet } from './queue.js';

export interface BucketPlanSourceOptions extends CleanupOptions {
  readonly plan: PlanOptions;
  /** Run the cleaner after a planning pass at most this often (0: after every pass). */
  readonly cleanupIntervalMs: number;
  /**
   * Sharded: plans of a tenant taken over from another planner are held back this long, so the
   * workers still running that planner's plans can hand them over (ADOPT) first.
   */
  readonly tenantGraceMs?: number;
}

export interface BucketPlanSourceDeps {
  readonly bucket: Bucket;
  readonly layout: Layout;
  readonly syncer: MetaSyncer;
  readonly logger: Logger;
  readonly now: () => number;
  readonly writeBucketIndex?: (tenant: TenantSync, changed: boolean) => Promise<void>;
  /** Counts for metrics: blocks marked by the planner, blocks deleted by the cleaner. */
  readonly onMarked?: (marker: 'deletion' | 'no-compact', reason: string) => void;
  readonly onCleaned?: (r: CleanupResult) => void;
  /** Ring sharding: only these tenants are planned and cleaned here. */
  readonly scope?: TenantScope;
  /** Downsampling and retention of every planning pass. */
  readonly lifecycle?: LifecycleOptions;
}

export interface BucketPlanSourceStatus {
  readonly passes: number;
  readonly lastSyncAt: string | null;
  readonly lastSyncMs: number | null;
  readonly blocks: number;
  readonly tenants: number;
  readonly cleanups: number;
}

export class BucketPlanSource implements PlanSource {
  /** tenant → sources of completed plans not yet seen marked by a sync. */
  private readonly consumed = new Map<string, Set<string>>();
  private cleaning: Promise<void> | undefined;
  private lastCleanupAt = -Infinity;
  private passes = 0;
  private cleanups = 0;
  private last: { at: number; ms: number; blocks: number; tenants: number } | undefined;
  private readonly pass: PlanningPass;

  constructor(
    private readonly o: BucketPlanSourceOptions,
    private readonly d: BucketPlanSourceDeps,
  ) {
    this.pass = new PlanningPass(o.plan, d);
  }

  async nextPlans(ctx?: PlanningContext): Promise<PlanSet> {
    // Sources of completed plans that the sync may not show as marked yet stay out.
    const res = await this.pass.run((tenant, id) => this.consumed.get(tenant)?.has(id) === true, ctx?.busy);
    this.settleConsumed(res.sync);
    this.passes++;
    this.last = {
      at: this.d.now(),
      ms: res.durationMs,
      blocks: res.blocks.length,
      tenants: res.sync.tenants.size,
    };
    this.maybeClean(res.sync);
    const plans = ctx === undefined ? res.plans : withoutRunningGaps(res.plans, res.blocks, ctx);
    // Every pass plans every tenant again, so every tenant gets a new array.
    return plansByTenant(this.pastTenantGrace(plans));
  }

  /** Plans of tenants held long enough (see tenantGraceMs). */
  private pastTenantGrace(plans: readonly Plan[]): readonly Plan[] {
    const graceMs = this.o.tenantGraceMs ?? 0;
    const scope = this.d.scope;
    if (graceMs <= 0 || scope?.heldSince === undefined) return plans;
    const now = this.d.now();
    return plans.filter((p) => now - (scope.heldSince?.(p.tenant) ?? -Infinity) >= graceMs);
  }

  onComplete(plan: PlanFootprint): Promise<void> {
    let set = this.consumed.get(plan.tenant);
    if (set === undefined) this.consumed.set(plan.tenant, (set = new Set()));
    for (const b of plan.sources) set.add(b.ulid);
    return Promise.resolve();
  }

  async onParked(
    plan: PlanFootprint,
    failingBlock: string | undefined,
    noCompactReason: NoCompactReason | undefined,
    details: string,
  ): Promise<void> {
    if (failingBlock === undefined || !plan.sources.some((b) => b.ulid === failingBlock)) {
      this.d.logger.warn('plan parked; no source block to blame, so nothing is marked', {
        plan: plan.id,
        reason: details,
      });
      return;
    }
    // The worker's classification and error: the mark `strata compact` writes for the same block.
    // A plan only known by its footprint (adopted from another planner) counts as a compaction.
    const kind = isWholePlan(plan) ? plan.kind : undefined;
    await this.pass.markBadSource(kind, plan.tenant, failingBlock, noCompactReason ?? 'critical', details);
  }

  async sourcesExist(plan: PlanFootprint): Promise<boolean> {
    for (const b of plan.sources) {
      const st = await readBlockState(this.d.bucket, this.d.layout, plan.tenant, b.ulid);
      if (st.state !== 'complete') return false;
      const mark = await readMarker(this.d.bucket, this.d.layout, plan.tenant, b.ulid, 'deletion');
      if (mark.state === 'present') return false;
    }
    return true;
  }

  /** Waits for a cleanup in flight (on shutdown). */
  async close(): Promise<void> {
    await this.cleaning;
  }

  status(): BucketPlanSourceStatus {
    return {
      passes: this.passes,
      lastSyncAt: this.last ? new Date(this.last.at).toISOString() : null,
      lastSyncMs: this.last ? Math.round(this.last.ms) : null,
      blocks: this.last?.blocks ?? 0,
      tenants: this.last?.tenants ?? 0,
      cleanups: this.cleanups,
    };
  }

  private settleConsumed(sync: SyncResult): void {
    for (const [tenant, ids] of this.consumed) {
      const t = sync.tenants.get(tenant);
      for (const id of ids) {
        if (t === undefined || !t.metas.has(id) || t.deletionMarks.has(id)) ids.delete(id);
      }
      if (ids.size === 0) this.consumed.delete(tenant);
    }
  }

  private maybeClean(sync: SyncResult): void {
    const now = this.d.now();
    if (this.cleaning !== undefined || now - this.lastCleanupAt < this.o.cleanupIntervalMs) return;
    this.lastCleanupAt = now;
    this.cleaning = (async () => {
      try {
        const r = await cleanTenants(sync.tenants.values(), this.o, {
          bucket: this.d.bucket,
          layout: this.d.layout,
          logger: this.d.logger,
          now: this.d.now,
          ...(this.d.writeBucketIndex ? { writeBucketIndex: this.d.writeBucketIndex } : {}),
        });
        this.cleanups++;
        this.d.onCleaned?.(r);
        if (r.deletedMarked + r.deletedPartial > 0) {
          this.d.logger.info('cleanup done', { deleted: r.deletedMarked, deleted_partial: r.deletedPartial });
        }
      } catch (err) {
        this.d.logger.warn('cleanup failed; retried after the next pass', { err: errorMessage(err) });
      } finally {
        this.cleaning = undefined;
      }
    })();
  }
}

/**
 * Leaves out plans of groups where a running plan's sources are not all among the planned blocks.
 * The worker marks its sources after uploading the output, so a sync that listed before the
 * upload and read marks after it sees neither; planning around that gap would compact the rest
 * of the range without the output and need one more merge later (a level too many).
 */
export function withoutRunningGaps(
  plans: readonly Plan[],
  blocks: readonly PlanBlock[],
  ctx: PlanningContext,
): readonly Plan[] {
  const gaps = new Set<string>();
  let visible: Set<string> | undefined;
  const checked = new Set<string>();
  for (const p of plans) {
    if (checked.has(p.tenant)) continue;
    checked.add(p.tenant);
    for (const r of ctx.running(p.tenant)) {
      visible ??= new Set(blocks.map((b) => `${b.tenant}/${b.ulid}`));
      if (r.sources.some((b) => !visible!.has(`${r.tenant}/${b.ulid}`)))
        gaps.add(`${r.tenant}\n${r.groupKey}`);
    }
  }
  if (gaps.size === 0) return plans;
  return plans.filter((p) => !gaps.has(`${p.tenant}\n${p.groupKey}`));
}
