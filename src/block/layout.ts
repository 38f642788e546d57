/**
 * Where blocks and their markers live in a bucket.
 *
 * - single-tenant (Thanos): `<ULID>/meta.json`, `<ULID>/deletion-mark.json`, ... at the bucket root.
 *   The tenant is always '' (SINGLE_TENANT).
 * - multi-tenant (Cortex/Mimir): `<tenant>/<ULID>/...`, plus the tenant's marker folder
 *   `<tenant>/markers/<ULID>-deletion-mark.json` / `<ULID>-no-compact-mark.json` (Mimir
 *   global_markers.go names) and `<tenant>/bucket-index.json.gz`.
 *
 * Key builders are pure; the listing helpers take the Bucket as an argument.
 */
import type { Bucket, IterEntry } from '../objstore/bucket.js';
import { META_FILENAME } from '../tsdb/meta.js';
import { CHUNKS_DIR, INDEX_FILENAME } from '../tsdb/block/files.js';
import { isUlid } from '../tsdb/ulid.js';
import { markerFilename, markerKindOfFilename, type MarkerKind } from '../tsdb/markers.js';
import { InvalidArgumentError } from '../util/errors.js';

export type Tenancy = 'single' | 'multi';

export const SINGLE_TENANT = '';
export const TOMBSTONES_FILENAME = 'tombstones';
export const TENANT_MARKERS_DIR = 'markers';
export const BUCKET_INDEX_FILENAME = 'bucket-index.json.gz';
/** Cortex's bucket-wide marker folder (tenant deletion marks); never a tenant. */
export const GLOBAL_MARKERS_DIR = '__markers__';

/** Marker kinds Cortex/Mimir copy into `<tenant>/markers/` (they have no no-downsample copy). */
export const TENANT_MARKER_KINDS: readonly MarkerKind[] = ['deletion', 'no-compact'];

/** Chunk segment file name for a 1-based segment number (`000001`). */
export function segmentFilename(n: number): string {
  return String(n).padStart(6, '0');
}

/**
 * Cortex/Mimir tenant ID rules (tenant.ValidTenantID): 1-150 chars from [A-Za-z0-9!-_.*'()], not
 * '.' or '..'. Names like `__markers__` pass this check, so listTenants skips reserved names itself.
 */
export function isValidTenantId(name: string): boolean {
  if (name.length === 0 || name.length > 150 || name === '.' || name === '..') return false;
  return /^[A-Za-z0-9!\-_.*'()]+$/.test(name);
}

/** Top-level names that are never tenants: Cortex's `__markers__` and other `__x__` reserved folders. */
export function isReservedTopLevelName(name: string): boolean {
  return name === GLOBAL_MARKERS_DIR || (name.length > 4 && name.startsWith('__') && name.endsWith('__'));
}

/** What a bucket key is, from the layout's point of view. */
export type ParsedKey =
  | { kind: 'block-file'; tenant: string; id: string; file: string }
  | { kind: 'tenant-marker'; tenant: string; id: string; marker: MarkerKind }
  | { kind: 'bucket-index'; tenant: string };

export interface Layout {
  readonly tenancy: Tenancy;
  /** '' (single) or `<tenant>/`; throws InvalidArgumentError when the tenant does not fit the layout. */
  tenantPrefix(tenant: string): string;
  /** `<prefix><ULID>/` (with the trailing slash, ready for listing). */
  blockPrefix(tenant: string, id: string): string;
  /** Any file of a block by its path relative to the block dir ('index', 'chunks/000001'). */
  blockFile(tenant: string, id: string, relPath: string): string;
  metaKey(tenant: string, id: string): string;
  indexKey(tenant: string, id: string): string;
  chunksPrefix(tenant: string, id: string): string;
  /** Segment key for a 1-based segment number. */
  chunkKey(tenant: string, id: string, segment: number): string;
  markerKey(tenant: string, id: string, kind: MarkerKind): string;
  deletionMarkKey(tenant: string, id: string): string;
  noCompactMarkKey(tenant: string, id: string): string;
  noDownsampleMarkKey(tenant: string, id: string): string;
  /** `<tenant>/markers/`; undefined in the single-tenant layout (Thanos keeps no copies). */
  tenantMarkersPrefix(tenant: string): string | undefined;
  /** `<tenant>/markers/<ULID>-<kind>-mark.json`; undefined when the layout keeps no copy of this kind. */
  tenantMarkerKey(tenant: string, id: string, kind: MarkerKind): string | undefined;
  bucketIndexKey(tenant: string): string;
  /** Inverse of the builders; undefined for keys that are none of ours. */
  parseKey(key: string): ParsedKey | undefined;
}

function checkId(id: string): void {
  if (!isUlid(id)) throw new InvalidArgumentError(`not a block ULID: ${JSON.stringify(id)}`);
}

function parseTenantMarkerName(name: string): { id: string; marker: MarkerKind } | undefined {
  const dash = name.indexOf('-');
  if (dash < 0) return undefined;
  const id = name.slice(0, dash);
  const rest = name.slice(dash + 1);
  if (!isUlid(id)) return undefined;
  const marker = markerKindOfFilename(rest);
  if (marker === undefined || !TENANT_MARKER_KINDS.includes(marker)) return undefined;
  return { id, marker };
}

function makeLayout(tenancy: Tenancy): Layout {
  const tenantPrefix = (tenant: string): string => {
    if (tenancy === 'single') {
      if (tenant !== SINGLE_TENANT)
        throw new InvalidArgumentError(`single-tenant layout has no tenant ${JSON.stringify(tenant)}`);
      return '';
    }
    if (!isValidTenantId(tenant))
      throw new InvalidArgumentError(`invalid tenant ID ${JSON.stringify(tenant)}`);
    return `${tenant}/`;
  };
  const blockPrefix = (tenant: string, id: string): string => {
    checkId(id);
    return `${tenantPrefix(tenant)}${id}/`;
  };
  const blockFile = (tenant: string, id: string, relPath: string): string =>
    blockPrefix(tenant, id) + relPath;
  const markerKey = (tenant: string, id: string, kind: MarkerKind): string =>
    blockFile(tenant, id, markerFilename(kind));
  const tenantMarkersPrefix = (tenant: string): string | undefined =>
    tenancy === 'multi' ? `${tenantPrefix(tenant)}${TENANT_MARKERS_DIR}/` : undefined;

  const parseKey = (key: string): ParsedKey | undefined => {
    const parts = key.split('/');
    let tenant = SINGLE_TENANT;
    if (tenancy === 'multi') {
      const t = parts.shift();
      if (t === undefined || !isValidTenantId(t) || isReservedTopLevelName(t)) return undefined;
      tenant = t;
    }
    if (parts.length === 1 && parts[0] === BUCKET_INDEX_FILENAME) return { kind: 'bucket-index', tenant };
    if (tenancy === 'multi' && parts.length === 2 && parts[0] === TENANT_MARKERS_DIR) {
      const m = parseTenantMarkerName(parts[1]!);
      return m && { kind: 'tenant-marker', tenant, ...m };
    }
    if (parts.length < 2) return undefined;
    const id = parts[0]!;
    const file = parts.slice(1).join('/');
    if (!isUlid(id) || file === '') return undefined;
    return { kind: 'block-file', tenant, id, file };
  };

  return {
    tenancy,
    tenantPrefix,
    blockPrefix,
    blockFile,
    metaKey: (t, id) => blockFile(t, id, META_FILENAME),
    indexKey: (t, id) => blockFile(t, id, INDEX_FILENAME),
    chunksPrefix: (t, id) => blockFile(t, id, `${CHUNKS_DIR}/`),
    chunkKey: (t, id, segment) => blockFile(t, id, `${CHUNKS_DIR}/${segmentFilename(segment)}`),
    markerKey,
    deletionMarkKey: (t, id) => markerKey(t, id, 'deletion'),
    noCompactMarkKey: (t, id) => markerKey(t, id, 'no-compact'),
    noDownsampleMarkKey: (t, id) => markerKey(t, id, 'no-downsample'),
    tenantMarkersPrefix,
    tenantMarkerKey: (t, id, kind) => {
      checkId(id);
      const p = tenantMarkersPrefix(t);
      if (p === undefined || !TENANT_MARKER_KINDS.includes(kind)) return undefined;
      return `${p}${id}-${markerFilename(kind)}`;
    },
    bucketIndexKey: (t) => `${tenantPrefix(t)}${BUCKET_INDEX_FILENAME}`,
    parseKey,
  };
}

const SINGLE = makeLayout('single');
const MULTI = makeLayout('multi');

export function singleTenantLayout(): Layout {
  return SINGLE;
}

export function multiTenantLayout(): Layout {
  return MULTI;
}

export function layoutFor(tenancy: Tenancy): Layout {
  return tenancy === 'single' ? SINGLE : MULTI;
}

export function parseTenancy(value: string): Tenancy {
  if (value === 'single' || value === 'multi') return value;
  throw new InvalidArgumentError(`tenancy must be "single" or "multi", got ${JSON.stringify(value)}`);
}

/**
 * Tenants of the bucket: [SINGLE_TENANT] for the single-tenant layout; otherwise every top-level
 * folder that is a valid tenant ID and not reserved (Cortex's users scanner skips `__markers__`).
 * Sorted in key (byte) order.
 */
export async function listTenants(bucket: Bucket, layout: Layout): Promise<string[]> {
  if (layout.tenancy === 'single') return [SINGLE_TENANT];
  const out: string[] = [];
  for await (const e of bucket.iter('')) {
    if (!e.key.endsWith('/')) continue;
    const name = e.key.slice(0, -1);
    if (isValidTenantId(name) && !isReservedTopLevelName(name)) out.push(name);
  }
  return out;
}

/** Block IDs of a tenant (every ULID-named folder, complete or partial), in ULID order. */
export async function* iterBlockIds(bucket: Bucket, layout: Layout, tenant: string): AsyncIterable<string> {
  const prefix = layout.tenantPrefix(tenant);
  for await (const e of bucket.iter(prefix)) {
    if (!e.key.endsWith('/')) continue;
    const name = e.key.slice(prefix.length, -1);
    if (isUlid(name)) yield name;
  }
}

export async function listBlockIds(bucket: Bucket, layout: Layout, tenant: string): Promise<string[]> {
  const out: string[] = [];
  for await (const id of iterBlockIds(bucket, layout, tenant)) out.push(id);
  return out;
}

/** One object of a block, with its path relative to the block dir. */
export interface BlockObject extends IterEntry {
  relPath: string;
}

/** Every object under a block's folder (recursive), with relative paths. */
export async function listBlockObjects(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
  id: string,
): Promise<BlockObject[]> {
  const prefix = layout.blockPrefix(tenant, id);
  const out: BlockObject[] = [];
  for await (const e of bucket.iter(prefix, { recursive: true })) {
    out.push({ ...e, relPath: e.key.slice(prefix.length) });
  }
  return out;
}
