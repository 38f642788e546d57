/**
 * The Blocks page on a command's HTTP endpoint: its APIs fed from the metadata sync the command
 * already runs (a syncer wrapper hands each sync's result to the page), and marks written through
 * the bucket's markers.
 */
import type { SyncResult } from '../block/fetcher/types.js';
import type { Layout } from '../block/layout.js';
import { writeMarker } from '../block/markers.js';
import type { Bucket } from '../objstore/bucket.js';
import type { HttpEndpoint } from '../util/http.js';
import type { Logger } from '../util/logger.js';
import type { UiPage } from '../web/api-types.js';
import { mountBlocksApi } from '../web/blocks-api.js';
import type { BlockSource, BlockSourceHolder } from '../web/blocks-source.js';
import type { BlockSnapshot } from '../web/blocks-index.js';
import type { BlockMeta } from '../tsdb/meta.js';
import type { ServedUi } from './web-setup.js';

export const BLOCKS_PAGE: UiPage = { id: 'blocks', title: 'Blocks' };

interface Syncer<O> {
  sync(options?: O): Promise<SyncResult>;
}

/** The same syncer, also handing every sync's result to the Blocks page (no extra listing). */
export function tapSyncer<O>(syncer: Syncer<O>, holder: BlockSourceHolder, now: () => number): Syncer<O> {
  return {
    async sync(options?: O): Promise<SyncResult> {
      const r = await syncer.sync(options);
      holder.updateFromSync(r, now());
      return r;
    },
  };
}

/** A store's Blocks page: the blocks it has loaded (its fetcher hid marked ones; no markers). */
export function loadedBlocks(
  tenant: string,
  multiTenant: boolean,
  metas: readonly BlockMeta[],
): BlockSnapshot {
  const none = new Map<never, never>();
  return {
    multiTenant,
    refreshedAtMs: Date.now(),
    tenants: new Map([[tenant, { metas, deletion: none, noCompact: none, partial: [] }]]),
  };
}

export function mountBlocksPage(
  http: HttpEndpoint,
  ui: ServedUi,
  o: { source: BlockSource; bucket?: Bucket; layout?: Layout; logger: Logger; now?: () => number },
): void {
  const { bucket, layout, logger } = o;
  mountBlocksApi(http, {
    source: o.source,
    csrf: ui.csrf,
    adminOperations: ui.adminOperations,
    logger,
    ...(o.now ? { now: o.now } : {}),
    ...(bucket !== undefined && layout !== undefined
      ? { writeMarker: (tenant, marker) => writeMarker(bucket, layout, tenant, marker, { logger }) }
      : {}),
  });
}
