/**
 * `strata bucket verify`: partial blocks, unusable meta.json and markers, overlaps and duplicate
 * or conflicting sources within a compaction group; with --full each block is downloaded to a
 * temp dir and its index and chunks checked (src/tsdb/verify.ts). Exit 1 when an error is found
 * (warnings alone: partial uploads, overlaps, duplicates awaiting compaction, exit 0).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BlockIssue, findGroupIssues } from '../block/checks.js';
import { downloadBlock } from '../block/download.js';
import { loadTenantMarkers } from '../block/markers.js';
import { type ScannedBlock, scanTenantBlocks } from '../block/scan.js';
import { verifyBlock } from '../tsdb/verify/verify.js';
import { errorMessage } from '../util/errors.js';
import { prepareDir } from '../util/dirs.js';
import { BufferedOut } from './output.js';
import {
  type BucketContext,
  type BucketFlags,
  blockRef,
  targetTenants,
  withBucket,
} from './bucket-common.js';

export interface VerifyCliOptions extends BucketFlags {
  full: boolean;
  workDir?: string;
  maxProblems: number;
}

async function fullCheck(
  ctx: BucketContext,
  blocks: readonly ScannedBlock[],
  workDir: string,
  maxProblems: number,
  onProgress: (text: string) => void,
): Promise<BlockIssue[]> {
  const issues: BlockIssue[] = [];
  for (const [i, b] of blocks.entries()) {
    onProgress(`verify ${i + 1}/${blocks.length} ${blockRef(b.tenant, b.id)}`);
    const dir = join(workDir, b.id);
    try {
      await downloadBlock(ctx.bucket, ctx.layout, b.tenant, b.id, dir, {
        overwrite: true,
        logger: ctx.logger,
      });
      const v = await verifyBlock(dir, { maxProblems });
      for (const p of v.problems.filter((p) => p.severity === 'error')) {
        issues.push({
          severity: 'error',
          kind: 'block-check',
          tenant: b.tenant,
          blocks: [b.id],
          message: `${p.kind}: ${p.message}`,
        });
      }
    } catch (err) {
      issues.push({
        severity: 'error',
        kind: 'block-check',
        tenant: b.tenant,
        blocks: [b.id],
        message: errorMessage(err),
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return issues;
}

/** Returns true when no error-level issue was found. */
export async function runBucketVerify(o: VerifyCliOptions, stdout: NodeJS.WritableStream): Promise<boolean> {
  if (o.full && o.workDir !== undefined) await prepareDir(o.workDir, '--work-dir');
  return withBucket(o, async (ctx) => {
    const out = new BufferedOut(stdout);
    const progress = ctx.progress();
    const issues: BlockIssue[] = [];
    let blocks = 0;
    const workDir = o.full ? await mkdtemp(join(o.workDir ?? tmpdir(), 'strata-verify-')) : undefined;
    try {
      for (const tenant of await targetTenants(ctx)) {
        const scan = await scanTenantBlocks(ctx.bucket, ctx.layout, tenant, {
          onBlock: (d, n) => progress.update(`${tenant || 'bucket'}: read ${d}/${n} meta.json`),
        });
        blocks += scan.blocks.length;
        for (const p of scan.partials) {
          issues.push(
            p.reason === 'no-meta'
              ? {
                  severity: 'warning',
                  kind: 'partial-block',
                  tenant,
                  blocks: [p.id],
                  message: 'no meta.json (upload in progress or aborted)',
                }
              : {
                  severity: 'error',
                  kind: 'bad-meta',
                  tenant,
                  blocks: [p.id],
                  message: p.error ?? 'unusable meta.json',
                },
          );
        }
        const markers = await loadTenantMarkers(ctx.bucket, ctx.layout, tenant);
        for (const e of markers.invalid) {
          issues.push({ severity: 'error', kind: 'bad-marker', tenant, blocks: [], message: e.message });
        }
        issues.push(...findGroupIssues(scan.blocks));
        if (workDir !== undefined) {
          issues.push(
            ...(await fullCheck(ctx, scan.blocks, workDir, o.maxProblems, (t) => progress.update(t))),
          );
        }
        progress.done();
      }
    } finally {
      if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
    }
    for (const i of issues) {
      const where = i.blocks.length > 0 ? blockRef(i.tenant, i.blocks[0]!) : i.tenant || 'bucket';
      await out.write(`${i.severity} ${i.kind} ${where}: ${i.message}\n`);
    }
    const errors = issues.filter((i) => i.severity === 'error').length;
    await out.write(`verified ${blocks} blocks: ${errors} errors, ${issues.length - errors} warnings\n`);
    await out.flush();
    return errors === 0;
  });
}
