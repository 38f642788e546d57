/**
 * Where the Blocks APIs get blocks from: the metadata sync a command already runs (compact,
 * planner, bucket web), never a listing per request. A holder keeps the latest snapshot; its
 * view (and each tenant's index) is built once per refresh, on first use.
 */
import type { SyncResult, TenantSync } from '../block/fetcher/types.js';
import type { PartialInfo } from './blocks-types.js';
import { BlocksView, type BlockSnapshot, type TenantBlocks } from './blocks-index.js';

export interface BlockSource {
  readonly multiTenant: boolean;
  /** The latest view; undefined until the first refresh is done. */
  view(): BlocksView | undefined;
}

export class BlockSourceHolder implements BlockSource {
  #view: BlocksView | undefined;

  constructor(readonly multiTenant: boolean) {}

  view(): BlocksView | undefined {
    return this.#view;
  }

  set(snapshot: BlockSnapshot): void {
    this.#view = new BlocksView(snapshot);
  }

  /** Takes a sync's result: every synced tenant (a tenant that failed keeps its previous blocks). */
  updateFromSync(result: SyncResult, nowMs: number): void {
    const tenants = new Map<string, TenantBlocks>();
    const errors: string[] = [];
    for (const [name, t] of result.tenants) {
      tenants.set(name, tenantFromSync(t));
      if (t.error !== undefined)
        errors.push(`${name === '' ? 'bucket' : `tenant ${name}`}: ${t.error.message}`);
    }
    this.set({
      multiTenant: this.multiTenant,
      refreshedAtMs: nowMs,
      tenants,
      ...(errors.length > 0 ? { error: errors.join('; ') } : {}),
    });
  }

  /** A refresh that failed as a whole: the blocks stay, the error is shown. */
  noteError(message: string): void {
    const v = this.#view;
    if (v !== undefined) this.set({ ...v.snapshot, error: message });
  }
}

export function tenantFromSync(t: TenantSync): TenantBlocks {
  const partial: PartialInfo[] = [...t.partial.values()].map((p) => ({
    id: p.id,
    reason: p.reason,
    detail: p.detail,
    firstSeen: new Date(p.firstSeenMs).toISOString(),
  }));
  return {
    // Walked when the page indexes the tenant, not in the sync that hands the result over.
    metas: { [Symbol.iterator]: () => t.metas.values() },
    deletion: t.deletionMarks,
    noCompact: t.noCompactMarks,
    partial,
  };
}
