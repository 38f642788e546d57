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
import type { Layout } from '../block/layout.js';
import type { DedupMode } from '../plan/types.js';
import { downloadBlock } from '../block/download.js';
import { uploadBlock, type UploadProgress } from '../block/upload.js';
import { META_FILENAME } from '../tsdb/meta.js';
import { writeMarker, newDeletionMark } from '../block/markers.js';
import { compactBlocks, type CompactResult } from '../tsdb/compact/compact.js';
import type { Logger } from '../util/logger.js';
import type { UlidSource } from '../tsdb/ulid.js';

export type Phase = 'download' | 'compact' | 'upload' | 'mark' | 'cleanup';

export interface ExecuteDeps {
  bucket: Bucket;
  layout: Layout;
  dataDir: string;
  logger: Logger;
  now: () => number;
  ulids?: UlidSource;
  replicaLabels: readonly string[];
  maxSamplesPerChunk?: number;
  onPhase?: (phase: Phase, bytes: number) => void;
  /** Test hook: called at the start of each phase (crash tests SIGKILL there). */
  beforePhase?: (phase: Phase) => Promise<void> | void;
  /** Test hook: called after each output file but meta.json is uploaded (the block is partial). */
  afterUploadFile?: (file: string) => void;
  /** Checked before every phase but cleanup: an aborted plan stops there (its reason is thrown). */
  signal?: AbortSignal;
}

/** What executing needs of a plan: a planned Plan, or one a worker received over the wire. */
export interface PlanToExecute {
  readonly id: string;
  readonly tenant: string;
  readonly sources: readonly { readonly ulid: string }[];
  readonly dedup: DedupMode;
  /** External labels of the output (the group's, without replica labels). */
  readonly labels: Readonly<Record<string, string>>;
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

export async function executePlan(plan: PlanToExecute, deps: ExecuteDeps): Promise<ExecuteResult> {
  // A suffix per execution: a cancelled run that is still unwinding never shares its dir with a
  // new run of the same plan in this process.
  const work = `${planWorkDir(deps.dataDir, plan.id)}.${(++executions).toString(36)}`;
  const phaseMs: Record<Phase, number> = { download: 0, compact: 0, upload: 0, mark: 0, cleanup: 0 };
  let t = performance.now();
  const enter = async (p: Phase): Promise<void> => {
    if (p !== 'cleanup') deps.signal?.throwIfAborted();
    await deps.beforePhase?.(p);
    t = performance.now();
  };
  const leave = (p: Phase, bytes = 0): void => {
    phaseMs[p] += performance.now() - t;
    deps.onPhase?.(p, bytes);
  };
  const log = deps.logger.child({ plan: plan.id, tenant: plan.tenant });
  await rm(work, { recursive: true, force: true });
  await mkdir(join(work, 'in'), { recursive: true });
  try {
    await enter('download');
    let bytesDownloaded = 0;
    const dirs: string[] = [];
    for (const b of plan.sources) {
      const dir = join(work, 'in', b.ulid);
      const r = await downloadBlock(deps.bucket, deps.layout, plan.tenant, b.ulid, dir);
      bytesDownloaded += r.bytes;
      dirs.push(dir);
    }
    leave('download', bytesDownloaded);

    await enter('compact');
    const compact = await compactBlocks(dirs, join(work, 'out'), {
      dedup: plan.dedup === 'penalty' ? 'penalty' : 'exact',
      replicaLabels: deps.replicaLabels,
      externalLabels: plan.labels,
      maxSamplesPerChunk: deps.maxSamplesPerChunk,
      ...(deps.ulids ? { ulids: deps.ulids } : {}),
    });
    leave('compact', compact.bytesWritten);

    let bytesUploaded = 0;
    if (compact.dir) {
      await enter('upload');
      const afterFile = deps.afterUploadFile;
      const up = await uploadBlock(deps.bucket, deps.layout, plan.tenant, compact.dir, {
        now: deps.now,
        logger: log,
        ...(afterFile
          ? { onProgress: (pr: UploadProgress) => pr.file !== META_FILENAME && afterFile(pr.file) }
          : {}),
      });
      bytesUploaded = up.bytes;
      leave('upload', bytesUploaded);
    }

    await enter('mark');
    const details = compact.ulid ? `compacted into ${compact.ulid}` : 'compacted into an empty result';
    for (const b of plan.sources) {
      await writeMarker(deps.bucket, deps.layout, plan.tenant, newDeletionMark(b.ulid, deps.now(), details), {
        logger: log,
      });
    }
    leave('mark');
    log.info('compaction done', {
      output: compact.ulid ?? 'none',
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
