/**
 * A plain, uncached scan of one tenant's blocks for tools (`strata bucket ...`): every ULID folder,
 * its meta.json read and parsed. The compactor uses the caching metadata fetcher instead.
 */
import type { Bucket } from '../objstore/bucket.js';
import type { BlockMeta } from '../tsdb/meta.js';
import { mapLimit } from './concurrency.js';
import { type Layout, listBlockIds } from './layout.js';
import { readBlockState } from './partial.js';

export interface ScannedBlock {
  tenant: string;
  id: string;
  meta: BlockMeta;
}

export interface ScannedPartial {
  tenant: string;
  id: string;
  reason: 'no-meta' | 'bad-meta';
  error?: string;
}

export interface TenantScan {
  tenant: string;
  /** Complete blocks, in ULID order. */
  blocks: ScannedBlock[];
  /** ULID folders without a usable meta.json, in ULID order. */
  partials: ScannedPartial[];
}

export interface ScanOptions {
  /** Parallel meta.json reads (default 16). */
  concurrency?: number;
  /** Called after each meta.json read (for progress lines). */
  onBlock?: (done: number, total: number) => void;
}

export async function scanTenantBlocks(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
  options: ScanOptions = {},
): Promise<TenantScan> {
  const ids = await listBlockIds(bucket, layout, tenant);
  let done = 0;
  const states = await mapLimit(ids, options.concurrency ?? 16, async (id) => {
    const st = await readBlockState(bucket, layout, tenant, id);
    options.onBlock?.(++done, ids.length);
    return st;
  });
  const out: TenantScan = { tenant, blocks: [], partials: [] };
  states.forEach((st, i) => {
    const id = ids[i]!;
    if (st.state === 'complete') out.blocks.push({ tenant, id, meta: st.meta });
    else
      out.partials.push({
        tenant,
        id,
        reason: st.reason,
        ...(st.reason === 'bad-meta' ? { error: st.error } : {}),
      });
  });
  return out;
}
