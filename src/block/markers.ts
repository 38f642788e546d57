/**
 * Block markers in a bucket (their format: tsdb/markers.ts).
 *
 * In the multi-tenant layout a deletion or no-compact mark also has a copy in
 * `<tenant>/markers/<ULID>-<file>` (Cortex/Mimir), which lets a tenant's markers be listed with one
 * listing instead of one GET per block. Writes go to the block first, then the copy (Mimir's
 * global-markers bucket order); both are idempotent so a retry repairs a half-written pair.
 */
import type { Bucket } from '../objstore/bucket.js';
import type { Logger } from '../util/logger.js';
import {
  formatMarker,
  markerFilename,
  newNoCompactMark,
  newNoDownsampleMark,
  parseMarker,
  type BlockMarker,
  type DeletionMark,
  type MarkerError,
  type MarkerKind,
  type MarkerOf,
  type NoCompactMark,
  type NoCompactReason,
  type NoDownsampleMark,
} from '../tsdb/markers.js';
import { forEachLimit } from './concurrency.js';
import { type Layout, TENANT_MARKER_KINDS } from './layout.js';

export type ReadMarkerResult<T> =
  { state: 'absent' } | { state: 'present'; marker: T } | { state: 'invalid'; error: MarkerError };

export interface ReadMarkerOptions {
  /** Logs invalid markers at warn (callers then treat them as absent). */
  logger?: Logger;
  /**
   * Where to read: the block's own file (default), or the tenant `markers/` copy with the block file
   * as fallback (what a reader that listed `markers/` wants).
   */
  source?: 'block' | 'tenant-copy';
}

async function getOrUndefined(bucket: Bucket, key: string): Promise<Buffer | undefined> {
  try {
    return await bucket.get(key);
  } catch (err) {
    if (bucket.isNotFound(err)) return undefined;
    throw err;
  }
}

/** Reads one marker. Bucket errors other than not-found are thrown; bad content is `invalid`. */
export async function readMarker<K extends MarkerKind>(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
  id: string,
  kind: K,
  options: ReadMarkerOptions = {},
): Promise<ReadMarkerResult<MarkerOf<K>>> {
  const keys: string[] = [];
  const copyKey = layout.tenantMarkerKey(tenant, id, kind);
  if (options.source === 'tenant-copy' && copyKey !== undefined) keys.push(copyKey);
  keys.push(layout.markerKey(tenant, id, kind));
  for (const key of keys) {
    const body = await getOrUndefined(bucket, key);
    if (body === undefined) continue;
    const r = parseMarker(kind, body, key, id);
    if (r.ok) return { state: 'present', marker: r.marker };
    options.logger?.warn('ignoring unparsable block marker', { key, err: r.error.detail });
    return { state: 'invalid', error: r.error };
  }
  return { state: 'absent' };
}

export type WriteMarkerOutcome = 'written' | 'exists';

export interface WriteMarkerOptions {
  logger?: Logger;
  /** Replace an existing marker (default false: an existing one is kept, like Thanos). */
  overwrite?: boolean;
}

/**
 * Writes the block-level marker, then the tenant copy. An existing block-level marker is kept
 * (Thanos' MarkForDeletion/MarkForNoCompact skip when one exists) and its bytes are used to repair a
 * missing tenant copy, so both places always agree.
 */
export async function writeMarker(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
  marker: BlockMarker,
  options: WriteMarkerOptions = {},
): Promise<WriteMarkerOutcome> {
  const key = layout.markerKey(tenant, marker.id, marker.kind);
  let body: Buffer | undefined = options.overwrite ? undefined : await getOrUndefined(bucket, key);
  let outcome: WriteMarkerOutcome = 'exists';
  if (body === undefined) {
    body = Buffer.from(formatMarker(marker));
    await bucket.upload(key, body);
    outcome = 'written';
  } else {
    options.logger?.info('block marker already exists; keeping it', { key });
  }
  const copyKey = layout.tenantMarkerKey(tenant, marker.id, marker.kind);
  if (copyKey !== undefined && (outcome === 'written' || !(await bucket.exists(copyKey)))) {
    await bucket.upload(copyKey, body);
  }
  return outcome;
}

async function deleteIfExists(bucket: Bucket, key: string): Promise<boolean> {
  try {
    await bucket.delete(key);
    return true;
  } catch (err) {
    if (bucket.isNotFound(err)) return false;
    throw err;
  }
}

/** Removes a marker from the block and the tenant copy (block first). True when anything existed. */
export async function deleteMarker(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
  id: string,
  kind: MarkerKind,
): Promise<boolean> {
  const a = await deleteIfExists(bucket, layout.markerKey(tenant, id, kind));
  const copyKey = layout.tenantMarkerKey(tenant, id, kind);
  const b = copyKey !== undefined && (await deleteIfExists(bucket, copyKey));
  return a || b;
}

/** One file in `<tenant>/markers/`. */
export interface TenantMarkerEntry {
  id: string;
  kind: MarkerKind;
  key: string;
  lastModified?: Date;
}

/**
 * Lists the tenant's `markers/` folder: one listing, no GETs. Empty for the single-tenant layout
 * (Thanos keeps no copies; use listBlockMarkers there). Unknown names in the folder are skipped.
 */
export async function listTenantMarkers(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
): Promise<TenantMarkerEntry[]> {
  const prefix = layout.tenantMarkersPrefix(tenant);
  if (prefix === undefined) return [];
  const out: TenantMarkerEntry[] = [];
  for await (const e of bucket.iter(prefix)) {
    const p = layout.parseKey(e.key);
    if (p?.kind !== 'tenant-marker' || p.tenant !== tenant) continue;
    out.push({
      id: p.id,
      kind: p.marker,
      key: e.key,
      ...(e.lastModified ? { lastModified: e.lastModified } : {}),
    });
  }
  return out;
}

/**
 * Marker files found in block folders by one recursive listing of the tenant (works for every
 * layout and every kind, including no-downsample; costs a listing of every object).
 */
export async function listBlockMarkers(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
): Promise<TenantMarkerEntry[]> {
  const out: TenantMarkerEntry[] = [];
  for await (const e of bucket.iter(layout.tenantPrefix(tenant), { recursive: true })) {
    const p = layout.parseKey(e.key);
    if (p?.kind !== 'block-file' || p.tenant !== tenant) continue;
    for (const kind of [...TENANT_MARKER_KINDS, 'no-downsample'] as const) {
      if (p.file === markerFilename(kind)) {
        out.push({ id: p.id, kind, key: e.key, ...(e.lastModified ? { lastModified: e.lastModified } : {}) });
      }
    }
  }
  return out;
}

/** Markers of a tenant, read and parsed; the unusable ones are listed separately, never thrown. */
export interface LoadedMarkers {
  deletion: Map<string, DeletionMark>;
  noCompact: Map<string, NoCompactMark>;
  noDownsample: Map<string, NoDownsampleMark>;
  invalid: MarkerError[];
}

export interface LoadMarkersOptions {
  logger?: Logger;
  /** Parallel GETs (default 16). */
  concurrency?: number;
  /** Only these kinds (default: all). */
  kinds?: readonly MarkerKind[];
}

/**
 * Reads every marker of a tenant. Multi-tenant: lists `markers/` and reads the copies (falling back
 * to the block file when a copy vanished), and finds no-downsample marks by listing the tenant.
 * Single-tenant: one recursive listing. Unparsable files are logged and returned in `invalid`.
 */
export async function loadTenantMarkers(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
  options: LoadMarkersOptions = {},
): Promise<LoadedMarkers> {
  const kinds = options.kinds ?? (['deletion', 'no-compact', 'no-downsample'] as const);
  let entries: TenantMarkerEntry[];
  if (layout.tenancy === 'multi' && !kinds.includes('no-downsample')) {
    entries = await listTenantMarkers(bucket, layout, tenant);
  } else if (layout.tenancy === 'multi') {
    // The markers folder is cheap; only a no-downsample lookup needs the full listing.
    entries = [
      ...(await listTenantMarkers(bucket, layout, tenant)),
      ...(await listBlockMarkers(bucket, layout, tenant)).filter((e) => e.kind === 'no-downsample'),
    ];
  } else {
    entries = await listBlockMarkers(bucket, layout, tenant);
  }
  entries = entries.filter((e) => kinds.includes(e.kind));
  const out: LoadedMarkers = {
    deletion: new Map(),
    noCompact: new Map(),
    noDownsample: new Map(),
    invalid: [],
  };
  await forEachLimit(entries, options.concurrency ?? 16, async (e) => {
    let body = await getOrUndefined(bucket, e.key);
    let key = e.key;
    if (body === undefined && key !== layout.markerKey(tenant, e.id, e.kind)) {
      key = layout.markerKey(tenant, e.id, e.kind);
      body = await getOrUndefined(bucket, key);
    }
    if (body === undefined) return; // deleted since the listing
    const r = parseMarker(e.kind, body, key, e.id);
    if (!r.ok) {
      options.logger?.warn('ignoring unparsable block marker', { key, err: r.error.detail });
      out.invalid.push(r.error);
      return;
    }
    const m = r.marker;
    if (m.kind === 'deletion') out.deletion.set(m.id, m);
    else if (m.kind === 'no-compact') out.noCompact.set(m.id, m);
    else out.noDownsample.set(m.id, m);
  });
  return out;
}

/** Writes no-compact-mark.json (and its tenant copy); an existing mark is kept (Thanos). */
export async function markNoCompact(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
  id: string,
  reason: NoCompactReason,
  details: string,
  nowMs: number,
  options: WriteMarkerOptions = {},
): Promise<WriteMarkerOutcome> {
  return writeMarker(bucket, layout, tenant, newNoCompactMark(id, reason, nowMs, details), options);
}

/** Writes no-downsample-mark.json (block-level only: Cortex/Mimir keep no copy of it). */
export async function markNoDownsample(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
  id: string,
  reason: NoCompactReason,
  details: string,
  nowMs: number,
  options: WriteMarkerOptions = {},
): Promise<WriteMarkerOutcome> {
  return writeMarker(bucket, layout, tenant, newNoDownsampleMark(id, reason, nowMs, details), options);
}
