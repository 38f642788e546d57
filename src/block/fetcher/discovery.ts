/**
 * Listing for the fetcher: tenants at the top level, block folders of one tenant (optionally
 * after a key, S3 StartAfter), and marker files. Keys that are none of the layout's are reported
 * as garbage instead of failing the listing.
 */
import type { Bucket } from '../../objstore/bucket.js';
import { isUlid } from '../../tsdb/ulid.js';
import { META_FILENAME } from '../../tsdb/meta.js';
import {
  BUCKET_INDEX_FILENAME,
  TENANT_MARKERS_DIR,
  isReservedTopLevelName,
  isValidTenantId,
  type Layout,
} from '../layout.js';
import { markerKindOfFilename, type MarkerKind } from '../../tsdb/markers.js';

/** Names under a tenant (or the single-tenant root) that are expected and are not blocks. */
const MARKERS_FOLDER = `${TENANT_MARKERS_DIR}/`;
const NON_BLOCK_NAMES: ReadonlySet<string> = new Set([
  MARKERS_FOLDER,
  BUCKET_INDEX_FILENAME,
  'bucket-index-sync-status.json', // Mimir
  'debug/', // Thanos bucket tools
]);

export interface TenantListing {
  readonly tenants: string[];
  readonly garbage: string[];
}

/** Tenants of a multi-tenant bucket (sorted), and top-level keys that are not tenants. */
export async function discoverTenants(bucket: Bucket, layout: Layout): Promise<TenantListing> {
  if (layout.tenancy === 'single') return { tenants: [''], garbage: [] };
  const tenants: string[] = [];
  const garbage: string[] = [];
  for await (const e of bucket.iter('')) {
    const isDir = e.key.endsWith('/');
    const name = isDir ? e.key.slice(0, -1) : e.key;
    if (isDir && isReservedTopLevelName(name)) continue;
    if (isDir && isValidTenantId(name)) tenants.push(name);
    else garbage.push(e.key);
  }
  return { tenants, garbage };
}

/** A block folder seen by a listing. */
export interface ListedBlock {
  readonly id: string;
  /**
   * Whether meta.json was among the listed objects; only known from a recursive listing, which
   * saves a GET for folders without one.
   */
  readonly hasMeta?: boolean;
}

/** A marker file found in a block folder by a recursive listing. */
export interface ListedMarker {
  readonly id: string;
  readonly kind: MarkerKind;
  readonly key: string;
  readonly lastModified?: Date;
}

export interface ListBlocksOptions {
  /** List only blocks whose ID sorts after this one (an ID or an ID-shaped bound). */
  readonly afterId?: string;
  /** Recursive listing: reports meta.json presence and block-level markers (single-tenant). */
  readonly recursive?: boolean;
  readonly onGarbage: (key: string) => void;
  readonly onMarker?: (m: ListedMarker) => void;
  /** Non-recursive: the tenant's `markers/` folder was listed (it holds an object). */
  readonly onMarkersFolder?: () => void;
}

/**
 * Block folders of a tenant in ID order. Non-recursive: one entry per folder, a page per 1000
 * folders. Recursive: every object, grouped back into folders.
 */
export async function* listBlocks(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
  options: ListBlocksOptions,
): AsyncGenerator<ListedBlock> {
  const prefix = layout.tenantPrefix(tenant);
  const startAfter = options.afterId === undefined ? undefined : `${prefix}${options.afterId}/`;
  const iterOpts = {
    recursive: options.recursive ?? false,
    ...(startAfter !== undefined ? { startAfter } : {}),
  };
  if (!iterOpts.recursive) {
    for await (const e of bucket.iter(prefix, iterOpts)) {
      const rel = e.key.slice(prefix.length);
      if (rel.endsWith('/') && rel.length === 27 && isUlid(rel.slice(0, 26))) {
        const id = rel.slice(0, 26);
        // Some stores return the StartAfter folder itself; it is not after the bound.
        if (options.afterId !== undefined && id <= options.afterId) continue;
        yield { id };
      } else if (rel === MARKERS_FOLDER) {
        options.onMarkersFolder?.();
      } else if (!NON_BLOCK_NAMES.has(rel)) {
        options.onGarbage(e.key);
      }
    }
    return;
  }
  let current: string | undefined;
  let hasMeta = false;
  let lastGarbageHead: string | undefined;
  for await (const e of bucket.iter(prefix, iterOpts)) {
    const rel = e.key.slice(prefix.length);
    const slash = rel.indexOf('/');
    const head = slash < 0 ? rel : rel.slice(0, slash);
    if (slash === 26 && isUlid(head)) {
      if (options.afterId !== undefined && head <= options.afterId) continue;
      if (head !== current) {
        if (current !== undefined) yield { id: current, hasMeta };
        current = head;
        hasMeta = false;
      }
      const file = rel.slice(27);
      if (file === META_FILENAME) hasMeta = true;
      const kind = markerKindOfFilename(file);
      if (kind !== undefined && options.onMarker) {
        options.onMarker({
          id: head,
          kind,
          key: e.key,
          ...(e.lastModified ? { lastModified: e.lastModified } : {}),
        });
      }
    } else if (!NON_BLOCK_NAMES.has(slash < 0 ? rel : `${head}/`) && head !== lastGarbageHead) {
      // One report per object would flood on a big stray folder: report its first key only.
      lastGarbageHead = head;
      options.onGarbage(e.key);
    }
  }
  if (current !== undefined) yield { id: current, hasMeta };
}

/** Cortex's tenant deletion mark, kept in the same folder as the block marker copies. */
const TENANT_DELETION_MARK = 'tenant-deletion-mark.json';

/** Marker copies in `<tenant>/markers/` (multi-tenant); other names are reported as garbage. */
export async function listTenantMarkerFiles(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
  onGarbage: (key: string) => void,
): Promise<ListedMarker[]> {
  const prefix = layout.tenantMarkersPrefix(tenant);
  if (prefix === undefined) return [];
  const out: ListedMarker[] = [];
  for await (const e of bucket.iter(prefix, { recursive: true })) {
    const p = layout.parseKey(e.key);
    if (p?.kind === 'tenant-marker' && p.tenant === tenant) {
      out.push({
        id: p.id,
        kind: p.marker,
        key: e.key,
        ...(e.lastModified ? { lastModified: e.lastModified } : {}),
      });
    } else if (e.key !== prefix + TENANT_DELETION_MARK) {
      onGarbage(e.key);
    }
  }
  return out;
}
