/**
 * The all-in-one compaction cycle (`strata compact`): sync → plan → execute up to `concurrency`
 * plans at once, re-syncing and re-planning until nothing is left → cleanup. Never halts: a bad
 * block gets a no-compact mark and its group re-plans without it; everything else goes on.
 */
import { join } from 'node:path';
import type { Bucket } from '../objstore/bucket.js';
import type { Layout } from '../block/layout.js';
import type { SyncResult, TenantSync } from '../block/fetcher/types.js';
import { compactionProgress } from '../plan/simulate.js';
import type { Plan, PlanBlock, PlanOptions } from '../plan/types.js';
import type { Logger } from '../util/logger.js';
import type { UlidSource } from '../tsdb/ulid.js';
import { errorMessage } from '../util/errors.js';
import { clearWorkDirs, executePlan, isPhase, type Phase, type StepHook } from './execute.js';
import { classifyFailure } from './failures.js';
import { cleanTenants } from './cleanup.js';
import { runPool } from './pool.js';
import { SweepSchedule } from './sweep-schedule.js';
import { CompactThreads } from './compact-threads.js';
import { CompactSlots } from './compact-slots.js';
import {
  PlanningPass,
  type LifecycleOptions,
  type MetaSyncer,
  type RetentionHeld,
  type TenantScope,
} from './pass.js';
import { Limiter } from '../block/fetcher/limiter.js';
import {
  emptyPassSummary,
  kindOrder,
  planSamples,
  resolutionLabel,
  type PassSummary,
} from './pass-summary.js';

export type { PassSummary } from './pass-summary.js';
import type { CompactorMetrics } from './metrics.js';
import {
  backlogOf,
  queuedPlanInfo,
  type BacklogSample,
  type CompactionActivity,
  type CompactionSnapshot,
} from './activity.js';

/** In the data dir: its mtime is when the cleaner last swept the bucket's temporary files. */
const SWEEP_STAMP = 'temporary-sweep.stamp';

export interface CompactorOptions {
  readonly dataDir: string;
  /** Compactions at once. */
  readonly concurrency: number;
  /**
   * Plans that may download, upload and mark beside the `concurrency` compacting ones (default
   * 0: a plan holds its slot from download to mark, as in Thanos; the CLI's default is 1).
   */
  readonly plansAhead?: number;
  readonly deleteDelayMs: number;
  readonly partialDelayMs: number;
  readonly plan: PlanOptions;
  /** Downsampling and retention (none without). */
  readonly lifecycle?: LifecycleOptions;
  /** Downsample plans at once (default 1). */
  readonly downsampleConcurrency?: number;
}

export interface CompactorDeps {
  readonly bucket: Bucket;
  readonly layout: Layout;
  readonly syncer: MetaSyncer;
  readonly logger: Logger;
  readonly metrics: CompactorMetrics;
  readonly now: () => number;
  readonly ulids?: UlidSource;
  /** Brings the tenant's bucket index up to date after cleanup (see CleanTenantsDeps). */
  readonly writeBucketIndex?: (tenant: TenantSync, changed: boolean) => Promise<void>;
  /** Called at the start of every step of a pass (observers; the crash tests kill there). */
  readonly beforeStep?: StepHook;
  /** Ring sharding: only these tenants are compacted and cleaned here. */
  readonly scope?: TenantScope;
  /** Records passes, failed plans and backlog samples (the web UI's compaction page). */
  readonly activity?: CompactionActivity;
}

export interface RunningPlan {
  id: string;
  tenant: string;
  sources: number;
  startedMs: number;
  phase: Phase | 'queued';
  kind: Plan['kind'];
  blocks: readonly string[];
}

export interface TenantProgressStatus {
  blocks: number;
  todoCompactions: number;
  todoCompactionBlocks: number;
  pendingDeletion: number;
  partial: number;
  noCompact: number;
}

export class Compactor {
  private readonly running = new Map<string, RunningPlan>();
  private queued = 0;
  /** The plans of the current iteration not started yet. */
  private readonly waiting = new Map<string, Plan>();
  private todoDownsamples = 0;
  private peak = 0;
  private lastSync: { atMs: number; durationMs: number } | undefined;
  private readonly tenants = new Map<string, TenantProgressStatus>();
  private passes = 0;
  /** Blocks retention holds until their downsampled version exists (last planning). */
  private held: readonly RetentionHeld[] = [];
  private readonly pass: PlanningPass;
  private readonly sweep: SweepSchedule;
  /** With concurrency > 1: one core per plan (see compact-threads.ts). */
  private readonly threads: CompactThreads | undefined;
  private readonly downsampleSlots: Limiter;
  private readonly compactSlots: CompactSlots;

  constructor(
    private readonly o: CompactorOptions,
    private readonly d: CompactorDeps,
  ) {
    this.threads = o.concurrency > 1 ? new CompactThreads() : undefined;
    this.compactSlots = new CompactSlots(o.concurrency, d.metrics);
    this.downsampleSlots = new Limiter(Math.max(1, o.downsampleConcurrency ?? 1));
    this.sweep = new SweepSchedule(join(o.dataDir, SWEEP_STAMP), o.partialDelayMs / 4, d.now);
    this.pass = new PlanningPass(o.plan, {
      bucket: d.bucket,
      layout: d.layout,
      syncer: d.syncer,
      logger: d.logger,
      now: d.now,
      onMarked: (marker, reason) => d.metrics.blocksMarked.inc({ marker, reason }),
      ...(d.scope ? { scope: d.scope } : {}),
      ...(o.lifecycle ? { lifecycle: o.lifecycle } : {}),
    });
  }

  /**
   * One full pass: compact until no plan is left (or only failing ones), then clean up. When
   * `signal` aborts (an HA singleton lost its leadership) no new step starts: running plans stop
   * at their next phase and the pass rejects with the signal's reason.
   */
  async runPass(outer?: AbortSignal): Promise<PassSummary> {
    // Work on sharded tenants stops at once when this process may no longer hold them.
    const held = this.d.scope?.signal;
    const signal = held === undefined ? outer : outer === undefined ? held : AbortSignal.any([outer, held]);
    const passStart = performance.now();
    const s = emptyPassSummary();
    // Work dirs left by a process that died mid-plan: nothing else would ever remove them.
    if (this.passes === 0) await clearWorkDirs(this.o.dataDir);
    this.d.activity?.passStarted();
    try {
      await this.passBody(s, signal);
    } catch (err) {
      this.waiting.clear();
      this.d.activity?.passEnded(signal?.aborted === true ? 'aborted' : 'failed', errorMessage(err));
      throw err;
    }
    s.passMs = performance.now() - passStart;
    this.passes++;
    this.d.metrics.iterations.inc();
    this.d.metrics.lastSuccess.set(this.d.now() / 1000);
    this.d.activity?.passEnded('ok');
    this.d.activity?.sample(this.backlog());
    return s;
  }

  private async passBody(s: PassSummary, signal: AbortSignal | undefined): Promise<void> {
    const failedThisPass = new Set<string>();
    let resyncedForMarks = false;
    let sync: SyncResult;
    for (;;) {
      signal?.throwIfAborted();
      await this.d.beforeStep?.('sync');
      const res = await this.pass.run();
      sync = res.sync;
      this.lastSync = { atMs: this.d.now(), durationMs: sync.stats.durationMs };
      const t = performance.now();
      this.updateProgress(sync, res.blocks);
      s.phaseMs.sync += res.syncMs;
      s.phaseMs.plan += res.durationMs - res.syncMs + performance.now() - t;
      s.duplicatesMarked += res.duplicatesMarked;
      s.blocksMarkedNoCompact += res.noCompactMarked;
      let retentionMarked = 0;
      for (const [resolution, n] of res.retentionMarked) {
        retentionMarked += n;
        this.d.metrics.retentionMarked.inc({ resolution: resolutionLabel(resolution) }, n);
      }
      s.retentionMarked += retentionMarked;
      s.retentionHeld = res.retentionHeld.length;
      this.held = res.retentionHeld;
      this.d.metrics.retentionHeld.set(res.retentionHeld.length);
      this.d.metrics.todoDownsampleBlocks.set(res.downsamplePlans);
      this.todoDownsamples = res.downsamplePlans;
      this.d.activity?.sample(this.backlog());
      const marked = res.duplicatesMarked + res.noCompactMarked + retentionMarked;
      // Compactions before downsampling (Thanos order), each largest first: the pool drains before
      // the next re-plan, and a big plan started last would run alone while the other slots idle.
      const plans = res.plans
        .filter((p) => !failedThisPass.has(p.id))
        .sort((a, b) => kindOrder(a) - kindOrder(b) || planSamples(b) - planSamples(a));
      if (plans.length === 0) {
        // Marks written just now are honoured (hidden, then deleted by the cleaner) only by a
        // fresh sync: take one more before cleaning up, once.
        if (marked > 0 && !resyncedForMarks) {
          resyncedForMarks = true;
          continue;
        }
        break;
      }
      s.iterations++;
      this.queued = plans.length;
      for (const p of plans) this.waiting.set(p.id, p);
      await runPool(plans, this.o.concurrency + (this.o.plansAhead ?? 0), async (plan) => {
        this.queued--;
        this.waiting.delete(plan.id);
        if (signal?.aborted === true) return;
        const downsample = plan.kind === 'downsample';
        if (downsample) await this.downsampleSlots.acquire();
        try {
          const ok = await this.runPlan(plan, s, signal);
          if (!ok) failedThisPass.add(plan.id);
          else if (downsample) s.downsampled++;
        } finally {
          if (downsample) this.downsampleSlots.release();
        }
      });
      if (marked === 0 && plans.every((p) => failedThisPass.has(p.id))) break;
    }
    signal?.throwIfAborted();
    const t = performance.now();
    const c = await cleanTenants(sync.tenants.values(), this.o, {
      bucket: this.d.bucket,
      layout: this.d.layout,
      logger: this.d.logger,
      now: this.d.now,
      ...(this.d.writeBucketIndex ? { writeBucketIndex: this.d.writeBucketIndex } : {}),
      ...(this.d.beforeStep ? { beforeStep: this.d.beforeStep } : {}),
      temporarySweep: this.sweep,
      onTenant: (tenant, r) => {
        this.d.metrics.todoDeletionBlocks.set({ tenant }, r.pendingDeletion);
        const st = this.tenants.get(tenant);
        if (st) st.pendingDeletion = r.pendingDeletion;
      },
    });
    s.deletedMarked += c.deletedMarked;
    s.deletedPartial += c.deletedPartial;
    if (c.deletedMarked) this.d.metrics.blocksDeleted.inc({ kind: 'marked' }, c.deletedMarked);
    if (c.deletedPartial) this.d.metrics.blocksDeleted.inc({ kind: 'partial' }, c.deletedPartial);
    s.phaseMs.cleanup += performance.now() - t;
  }

  /** What is left to do now, summed over tenants (a backlog sample). */
  backlog(): Omit<BacklogSample, 'atMs'> {
    return backlogOf(this.tenants.values(), this.todoDownsamples);
  }

  /** Running and queued plans (this process parks none: a bad block is marked no-compact instead). */
  snapshot(): CompactionSnapshot {
    return {
      running: [...this.running.values()].map((r) => ({
        id: r.id,
        tenant: r.tenant,
        kind: r.kind,
        sources: r.blocks,
        phase: r.phase,
        worker: 'local',
        startedMs: r.startedMs,
      })),
      queued: [...this.waiting.values()].map(queuedPlanInfo),
      parked: [],
    };
  }

  private updateProgress(sync: SyncResult, blocks: readonly PlanBlock[]): void {
    const byTenant = new Map<string, TenantSync>(sync.tenants);
    for (const p of compactionProgress(blocks, this.o.plan)) {
      this.d.metrics.todoCompactions.set({ tenant: p.tenant }, p.todoCompactions);
      this.d.metrics.todoCompactionBlocks.set({ tenant: p.tenant }, p.todoCompactionBlocks);
      const t = byTenant.get(p.tenant);
      this.tenants.set(p.tenant, {
        blocks: t?.metas.size ?? 0,
        todoCompactions: p.todoCompactions,
        todoCompactionBlocks: p.todoCompactionBlocks,
        pendingDeletion: this.tenants.get(p.tenant)?.pendingDeletion ?? 0,
        partial: t?.partial.size ?? 0,
        noCompact: t?.noCompact.size ?? 0,
      });
    }
  }

  /** Executes one plan; false when it failed. */
  private async runPlan(plan: Plan, s: PassSummary, signal: AbortSignal | undefined): Promise<boolean> {
    const r: RunningPlan = {
      id: plan.id,
      tenant: plan.tenant,
      sources: plan.sources.length,
      startedMs: this.d.now(),
      phase: 'queued',
      kind: plan.kind,
      blocks: plan.sources.map((b) => b.ulid),
    };
    this.running.set(plan.id, r);
    this.peak = Math.max(this.peak, this.running.size);
    this.d.metrics.runningPlans.set(this.running.size);
    this.d.metrics.peakRunningPlans.set(this.peak);
    const end = (
      plan.kind === 'downsample' ? this.d.metrics.downsampleDuration : this.d.metrics.compactionDuration
    ).startTimer();
    try {
      const res = await executePlan(plan, {
        bucket: this.d.bucket,
        dataDir: this.o.dataDir,
        logger: this.d.logger,
        now: this.d.now,
        ...(signal ? { signal } : {}),
        ...(this.d.ulids ? { ulids: this.d.ulids } : {}),
        ...(this.threads ? { compact: this.threads.compact.bind(this.threads) } : {}),
        compactSlot: (work) => this.compactSlots.run(work),
        beforeStep: async (step, planId) => {
          if (isPhase(step)) r.phase = step;
          await this.d.beforeStep?.(step, planId);
        },
      });
      for (const k of Object.keys(res.phaseMs) as Phase[]) s.phaseMs[k] += res.phaseMs[k];
      this.d.metrics.compactions.inc({ tenant: plan.tenant });
      this.d.metrics.bytesRead.inc(res.compact.bytesRead);
      this.d.metrics.bytesWritten.inc(res.compact.bytesWritten);
      s.plansDone++;
      this.d.activity?.planDone();
      return true;
    } catch (err) {
      const f = classifyFailure(err);
      this.d.metrics.compactionsFailed.inc({ tenant: plan.tenant, kind: f.kind });
      s.plansFailed++;
      this.d.activity?.planFailed({
        plan: plan.id,
        tenant: plan.tenant,
        kind: f.kind,
        code: f.code,
        message: f.details,
      });
      if (f.kind === 'bad-block') {
        const marked = await this.pass.markBadSource(plan.kind, plan.tenant, f.block, f.reason, f.details);
        if (marked && plan.kind !== 'downsample') s.blocksMarkedNoCompact++;
      } else {
        this.d.logger.warn('compaction failed; retried in a later pass', {
          plan: plan.id,
          kind: f.kind,
          err: f.details,
        });
      }
      return false;
    } finally {
      end();
      this.running.delete(plan.id);
      this.d.metrics.runningPlans.set(this.running.size);
    }
  }

  status(): Record<string, unknown> {
    return {
      passes: this.passes,
      last_sync: this.lastSync
        ? {
            at: new Date(this.lastSync.atMs).toISOString(),
            duration_ms: Math.round(this.lastSync.durationMs),
          }
        : null,
      plans_queued: this.queued,
      plans_running: this.running.size,
      peak_plans_running: this.peak,
      compactions_running: this.compactSlots.running,
      peak_compactions_running: this.compactSlots.peak,
      running: [...this.running.values()].map(({ blocks: _, ...r }) => ({
        ...r,
        startedAt: new Date(r.startedMs).toISOString(),
      })),
      tenants: Object.fromEntries([...this.tenants.entries()].map(([k, v]) => [k || '(single)', v])),
      // Past retention, kept until a coarser resolution holds their data (at most 100 listed).
      retention_held: {
        blocks: this.held.length,
        first: this.held.slice(0, 100).map((h) => ({
          tenant: h.tenant,
          block: h.ulid,
          resolution: resolutionLabel(h.resolution),
          max_time: new Date(h.maxTime).toISOString(),
        })),
      },
    };
  }
}
