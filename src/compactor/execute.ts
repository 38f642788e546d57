/**
 * Executing one plan end to end: download the sources into the data dir, compactBlocks, verify
 * (inside compactBlocks, before the rename), upload the output (meta.json last), mark the sources
 * for deletion, remove the local files. A crash at any step is safe: before the upload finishes
 * the output is a partial block (no meta.json) that readers ignore and the cleaner removes; after
 * it, the duplicate filter hides the sources (their sources ⊆ the output's) until they are marked.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bucket } from '../objstore/bucket.js';
import { SINGLE_TENANT, layoutFor, type Layout } from '../block/layout.js';
import type { ExecutablePlan } from '../plan/types.js';
import { downloadBlock } from '../block/download.js';
import { forEachLimit } from '../block/concurrency.js';
import { uploadBlock, type UploadProgress } from '../block/upload.js';
import { META_FILENAME } from '../tsdb/meta.js';
import { writeMarker } from '../block/markers.js';
import { newDeletionMark } from '../tsdb/markers.js';
import { compactBlocks, type CompactOptions, type CompactResult } from '../tsdb/compact/compact.js';
import { downsampleBlock } from '../tsdb/downsample/block.js';
import type { Logger } from '../util/logger.js';
import type { UlidSource } from '../tsdb/ulid.js';

/** A plan's phases, in order. */
const PHASES = ['download', 'compact', 'upload', 'mark', 'cleanup'] as const;
export type Phase = (typeof PHASES)[number];

/**
 * Steps of a compaction pass, for observers (and the crash tests, which SIGKILL inside one): a
 * plan's phases, `uploaded` (an output file other than meta.json was just uploaded: the block is
 * partial), `marked` (a source's deletion mark was just written: some sources are marked, maybe not
 * all), and the pass-level sync, cleaner (`clean`, per tenant) and bucket index update.
 */
export type PassStep = Phase | 'uploaded' | 'marked' | 'sync' | 'clean' | 'index';

/** Whether a step starts one of a plan's phases (not `uploaded`/`marked`, which happen inside one). */
export function isPhase(step: PassStep): step is Phase {
  return (PHASES as readonly PassStep[]).includes(step);
}

/** `plan`: the id of the plan whose step starts (absent for the pass-level steps). */
export type StepHook = (step: PassStep, plan?: string) => Promise<void> | void;

export interface ExecuteDeps {
  readonly bucket: Bucket;
  readonly dataDir: string;
  readonly logger: Logger;
  readonly now: () => number;
  readonly ulids?: UlidSource;
  /** Called as each phase ends, with the bytes it moved (progress reports, metrics). */
  readonly onPhase?: (phase: Phase, bytes: number) => void;
  /** Called at the start of every step of the plan (see PassStep). */
  readonly beforeStep?: StepHook;
  /** Checked before every phase but cleanup: an aborted plan stops there (its reason is thrown). */
  readonly signal?: AbortSignal;
  /** Runs the compaction (default compactBlocks on this thread; see compact-threads.ts). */
  readonly compact?: (
    dirs: readonly string[],
    outDir: string,
    opts: CompactOptions,
  ) => Promise<CompactResult>;
  /** Runs the compact phase in a slot (a plan downloaded ahead waits here for a thread). */
  readonly compactSlot?: <T>(work: () => Promise<T>) => Promise<T>;
}

export interface ExecuteResult {
  planId: string;
  output: string | undefined;
  compact: CompactResult;
  bytesDownloaded: number;
  bytesUploaded: number;
  phaseMs: Record<Phase, number>;
}

/** A filesystem-safe work dir name for a plan id (`<tenant>/<group>/<hash>`). */
export function planWorkDir(dataDir: string, planId: string): string {
  return join(workRoot(dataDir), planId.replace(/[^A-Za-z0-9_.@-]/g, '_'));
}

function workRoot(dataDir: string): string {
  return join(dataDir, 'compact');
}

/**
 * Removes every plan work dir. Call before the first pass: the dirs of plans a killed process was
 * running (downloaded sources, half-written outputs) are otherwise never removed, since the next
 * plans rarely have the same ids (Thanos also wipes its compact dir at start).
 */
export async function clearWorkDirs(dataDir: string): Promise<void> {
  await rm(workRoot(dataDir), { recursive: true, force: true });
}

let executions = 0;

const DOWNLOAD_BLOCKS_AT_ONCE = 2;
const MARKS_AT_ONCE = 8;

/** downsampleBlock, reported as a compaction (one input block, its aggregates as the output). */
async function downsampleInto(
  dir: string,
  outDir: string,
  resolution: number,
  bytesRead: number,
  deps: ExecuteDeps,
): Promise<CompactResult> {
  await mkdir(outDir, { recursive: true });
  const r = await downsampleBlock(dir, outDir, { resolution, ...(deps.ulids ? { ulids: deps.ulids } : {}) });
  return {
    ulid: r.ulid,
    dir: r.dir,
    meta: r.meta,
    durationMs: r.durationMs,
    inputBlocks: 1,
    inputSamples: r.inputSamples,
    outputSamples: r.outputSamples,
    series: r.outputSeries,
    chunks: r.outputChunks,
    bytesRead,
    bytesWritten: 0,
    copiedChunks: 0,
    reencodedChunks: r.outputChunks,
    droppedDuplicateChunks: 0,
  };
}

/** The layout a plan's tenant lives in: Thanos' single tenant is '', a Cortex/Mimir tenant never is. */
export function layoutOfTenant(tenant: string): Layout {
  return layoutFor(tenant === SINGLE_TENANT ? 'single' : 'multi');
}

export async function executePlan(plan: ExecutablePlan, deps: ExecuteDeps): Promise<ExecuteResult> {
  const layout = layoutOfTenant(plan.tenant);
  // A suffix per execution: a cancelled run that is still unwinding never shares its dir with a
  // new run of the same plan in this process.
  const work = `${planWorkDir(deps.dataDir, plan.id)}.${(++executions).toString(36)}`;
  const phaseMs: Record<Phase, number> = { download: 0, compact: 0, upload: 0, mark: 0, cleanup: 0 };
  let t = performance.now();
  const enter = async (p: Phase): Promise<void> => {
    if (p !== 'cleanup') deps.signal?.throwIfAborted();
    await deps.beforeStep?.(p, plan.id);
    t = performance.now();
  };
  const leave = (p: Phase, bytes = 0): void => {
    phaseMs[p] += performance.now() - t;
    deps.onPhase?.(p, bytes);
  };
  const log = deps.logger.child({ plan: plan.id, tenant: plan.tenant });
  // The source ids, as Thanos logs them: the chain of compactions can be followed from the logs.
  log.info('compaction started', {
    sources: plan.sources.length,
    kind: plan.kind,
    blocks: plan.sources.map((b) => b.ulid).join(','),
  });
  await rm(work, { recursive: true, force: true });
  await mkdir(join(work, 'in'), { recursive: true });
  try {
    await enter('download');
    let bytesDownloaded = 0;
    const dirs = plan.sources.map((b) => join(work, 'in', b.ulid));
    // Two blocks at a time (each 4 files at a time): a block's files are few and small at level 1.
    await forEachLimit(plan.sources, DOWNLOAD_BLOCKS_AT_ONCE, async (b, i) => {
      const r = await downloadBlock(deps.bucket, layout, plan.tenant, b.ulid, dirs[i]!);
      bytesDownloaded += r.bytes;
    });
    leave('download', bytesDownloaded);

    const slot = deps.compactSlot ?? ((work) => work());
    const compact = await slot(async () => {
      await enter('compact');
      const c =
        plan.kind === 'downsample'
          ? await downsampleInto(dirs[0]!, join(work, 'out'), plan.resolution, bytesDownloaded, deps)
          : await (deps.compact ?? compactBlocks)(dirs, join(work, 'out'), {
              dedup: plan.dedup,
              replicaLabels: plan.replicaLabels,
              externalLabels: plan.labels,
              ...(plan.maxSamplesPerChunk > 0 ? { maxSamplesPerChunk: plan.maxSamplesPerChunk } : {}),
              ...(deps.ulids ? { ulids: deps.ulids } : {}),
            });
      leave('compact', c.bytesWritten);
      return c;
    });

    let bytesUploaded = 0;
    if (compact.dir) {
      await enter('upload');
      const step = deps.beforeStep;
      const up = await uploadBlock(deps.bucket, layout, plan.tenant, compact.dir, {
        now: deps.now,
        logger: log,
        ...(step
          ? {
              onProgress: (pr: UploadProgress) => pr.file !== META_FILENAME && void step('uploaded', plan.id),
            }
          : {}),
      });
      bytesUploaded = up.bytes;
      leave('upload', bytesUploaded);
    }

    await enter('mark');
    const details = compact.ulid ? `compacted into ${compact.ulid}` : 'compacted into an empty result';
    // The marks are independent (the output already hides every source), so they go out together:
    // each is two small writes, an fsync or a round trip each. A downsampled block's source stays:
    // retention of its own resolution deletes it.
    const consumed = plan.kind === 'downsample' ? [] : plan.sources;
    await forEachLimit(consumed, MARKS_AT_ONCE, async (b) => {
      await writeMarker(deps.bucket, layout, plan.tenant, newDeletionMark(b.ulid, deps.now(), details), {
        logger: log,
      });
      // Not awaited, like `uploaded`: an observer, not a step that a slowed-down test should stretch.
      void deps.beforeStep?.('marked', plan.id);
    });
    leave('mark');
    log.info('compaction done', {
      output: compact.ulid ?? 'none',
      blocks: plan.sources.map((b) => b.ulid).join(','),
      sources: plan.sources.length,
      samples: compact.outputSamples,
      duration_ms: Math.round(compact.durationMs),
    });
    return { planId: plan.id, output: compact.ulid, compact, bytesDownloaded, bytesUploaded, phaseMs };
  } finally {
    await enter('cleanup');
    await rm(work, { recursive: true, force: true });
    leave('cleanup');
  }
}
