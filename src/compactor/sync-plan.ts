/**
 * From a metadata sync to what a planning pass needs, shared by the all-in-one compactor and the
 * planner service: the plannable blocks, the duplicates to mark for deletion, no-compact marks.
 */
import type { Bucket } from '../objstore/bucket.js';
import type { Layout } from '../block/layout.js';
import type { SyncResult } from '../block/fetcher/types.js';
import { markNoCompact, type NoCompactReason } from '../block/markers.js';
import type { Logger } from '../util/logger.js';
import type { DuplicateBlock, PlanBlock } from '../plan/types.js';

export interface DuplicateToMark {
  readonly tenant: string;
  readonly ulid: string;
  readonly details: string;
}

/**
 * Every synced block that may be planned. Blocks marked for deletion were compacted (or are
 * duplicates) and never are; `skip` excludes more (the planner: sources of completed plans the
 * sync does not show as marked yet).
 */
export function plannableBlocks(
  sync: SyncResult,
  skip?: (tenant: string, ulid: string) => boolean,
): PlanBlock[] {
  const out: PlanBlock[] = [];
  for (const t of sync.tenants.values()) {
    for (const m of t.metas.values()) {
      if (t.deletionMarks.has(m.ulid) || skip?.(t.tenant, m.ulid) === true) continue;
      out.push({ ...m, tenant: t.tenant, noCompact: t.noCompact.has(m.ulid) });
    }
  }
  return out;
}

/**
 * Duplicates to mark for deletion: those the planner found, and those the fetcher's duplicate
 * filter already hid (Thanos' GarbageCollect marks the filter's DuplicateIDs). The latter are the
 * sources of an output uploaded by a compaction that died before marking them; hidden but never
 * marked they would stay in the bucket forever, their samples visible twice to every reader.
 * A block whose block-level mark exists without its tenant copy (a crash between the two writes)
 * is among them too: marking it again repairs the copy.
 */
export function duplicatesToMark(sync: SyncResult, planned: readonly DuplicateBlock[]): DuplicateToMark[] {
  const out: DuplicateToMark[] = planned.map((d) => ({
    tenant: d.tenant,
    ulid: d.block.ulid,
    details: `duplicate of ${d.coveredBy}`,
  }));
  const seen = new Set(out.map((d) => `${d.tenant}\u0000${d.ulid}`));
  for (const t of sync.tenants.values()) {
    for (const [id, state] of t.excluded) {
      if (state !== 'duplicate' || t.deletionMarks.has(id) || seen.has(`${t.tenant}\u0000${id}`)) continue;
      out.push({
        tenant: t.tenant,
        ulid: id,
        details: 'duplicate: its compaction sources are all in another block of its group',
      });
    }
  }
  return out;
}

/**
 * Marks a block no-compact (block folder and tenant copy) and logs it once; an existing mark is
 * kept. True when this call wrote the mark (for metrics).
 */
export async function markBadBlock(
  d: { bucket: Bucket; layout: Layout; logger: Logger; now: () => number },
  tenant: string,
  id: string,
  reason: NoCompactReason,
  details: string,
): Promise<boolean> {
  const outcome = await markNoCompact(d.bucket, d.layout, tenant, id, reason, details, d.now(), {
    logger: d.logger,
  });
  if (outcome !== 'written') return false;
  d.logger.warn('block marked no-compact; its group goes on without it', {
    tenant,
    block: id,
    reason,
    details,
  });
  return true;
}
