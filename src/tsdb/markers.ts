/**
 * Block marker files (Thanos pkg/block/metadata/markers.go, Mimir pkg/storage/tsdb/block/markers.go):
 * deletion-mark.json, no-compact-mark.json and no-downsample-mark.json. Compact JSON, version 1,
 * times in unix seconds, keys in Go struct order, `details` omitted when empty. The format only;
 * reading and writing them in a bucket is block/markers.ts.
 *
 * Unparsable markers are not exceptions: parse functions return a result, and readers report
 * `invalid` so callers log and treat the marker as absent (Thanos ignores them the same way).
 */
import { isUlid } from './ulid.js';
import { StrataError } from '../util/errors.js';

export type MarkerKind = 'deletion' | 'no-compact' | 'no-downsample';

export const DELETION_MARK_FILENAME = 'deletion-mark.json';
export const NO_COMPACT_MARK_FILENAME = 'no-compact-mark.json';
export const NO_DOWNSAMPLE_MARK_FILENAME = 'no-downsample-mark.json';

export const MARKER_KINDS: readonly MarkerKind[] = ['deletion', 'no-compact', 'no-downsample'];

const MARKER_FILENAMES: Readonly<Record<MarkerKind, string>> = {
  deletion: DELETION_MARK_FILENAME,
  'no-compact': NO_COMPACT_MARK_FILENAME,
  'no-downsample': NO_DOWNSAMPLE_MARK_FILENAME,
};

export function markerFilename(kind: MarkerKind): string {
  return MARKER_FILENAMES[kind];
}

/** The marker kind a block-level file name stands for, if any. */
export function markerKindOfFilename(name: string): MarkerKind | undefined {
  for (const k of MARKER_KINDS) if (MARKER_FILENAMES[k] === name) return k;
  return undefined;
}

export const MARKER_VERSION_1 = 1;

/**
 * Reasons for no-compact (and no-downsample) marks. The first four are Thanos'; `critical` is
 * Mimir's reason for blocks with a critical problem (corrupt index or chunks). Strata writes
 * `critical` for corrupt input and `block-index-out-of-order-chunk` for out-of-order chunks, so
 * Mimir and Thanos tools read Strata's marks with their own meaning.
 */
export const NO_COMPACT_REASONS = [
  'manual',
  'index-size-exceeding',
  'block-index-out-of-order-chunk',
  'downsample-vertical-compaction',
  'critical',
] as const;
export type NoCompactReason = (typeof NO_COMPACT_REASONS)[number];

export function isNoCompactReason(s: string): s is NoCompactReason {
  return (NO_COMPACT_REASONS as readonly string[]).includes(s);
}

interface MarkBase {
  /** Block ULID. */
  id: string;
  version: 1;
  /** Free text; omitted from the JSON when empty. */
  details?: string;
}

export interface DeletionMark extends MarkBase {
  kind: 'deletion';
  /** Unix seconds. */
  deletionTime: number;
}

export interface NoCompactMark extends MarkBase {
  kind: 'no-compact';
  /** Unix seconds. */
  noCompactTime: number;
  /** Usually a NoCompactReason; other strings from newer tools are kept as they are. */
  reason: string;
}

export interface NoDownsampleMark extends MarkBase {
  kind: 'no-downsample';
  /** Unix seconds. */
  noDownsampleTime: number;
  reason: string;
}

export type BlockMarker = DeletionMark | NoCompactMark | NoDownsampleMark;
export type MarkerOf<K extends MarkerKind> = Extract<BlockMarker, { kind: K }>;

/** A marker file that could not be used: bad JSON, wrong version, wrong block ID, bad field. */
export class MarkerError extends StrataError {
  readonly key: string;
  readonly detail: string;

  constructor(key: string, detail: string, options?: { cause?: unknown }) {
    super('ERR_BLOCK_BAD_MARKER', `marker ${key}: ${detail}`, options);
    this.key = key;
    this.detail = detail;
  }
}

export type MarkerParseResult<T> = { ok: true; marker: T } | { ok: false; error: MarkerError };

function unixSeconds(nowMs: number): number {
  return Math.floor(nowMs / 1000);
}

function withDetails<T extends object>(m: T, details: string | undefined): T & { details?: string } {
  return details ? { ...m, details } : m;
}

export function newDeletionMark(id: string, nowMs: number, details?: string): DeletionMark {
  return withDetails(
    { kind: 'deletion', id, version: 1, deletionTime: unixSeconds(nowMs) } as const,
    details,
  );
}

export function newNoCompactMark(
  id: string,
  reason: NoCompactReason,
  nowMs: number,
  details?: string,
): NoCompactMark {
  return withDetails(
    { kind: 'no-compact', id, version: 1, noCompactTime: unixSeconds(nowMs), reason } as const,
    details,
  );
}

export function newNoDownsampleMark(
  id: string,
  reason: NoCompactReason,
  nowMs: number,
  details?: string,
): NoDownsampleMark {
  return withDetails(
    { kind: 'no-downsample', id, version: 1, noDownsampleTime: unixSeconds(nowMs), reason } as const,
    details,
  );
}

/** The marker's time in unix seconds, whatever its kind. */
export function markerTime(m: BlockMarker): number {
  switch (m.kind) {
    case 'deletion':
      return m.deletionTime;
    case 'no-compact':
      return m.noCompactTime;
    case 'no-downsample':
      return m.noDownsampleTime;
  }
}

/** Compact JSON in Go struct order, no trailing newline (what Thanos' json.Marshal writes). */
export function formatMarker(m: BlockMarker): string {
  const base: Record<string, unknown> = { id: m.id, version: m.version };
  if (m.details) base['details'] = m.details;
  switch (m.kind) {
    case 'deletion':
      base['deletion_time'] = m.deletionTime;
      break;
    case 'no-compact':
      base['no_compact_time'] = m.noCompactTime;
      base['reason'] = m.reason;
      break;
    case 'no-downsample':
      base['no_downsample_time'] = m.noDownsampleTime;
      base['reason'] = m.reason;
      break;
  }
  return JSON.stringify(base);
}

const TIME_FIELD: Readonly<Record<MarkerKind, string>> = {
  deletion: 'deletion_time',
  'no-compact': 'no_compact_time',
  'no-downsample': 'no_downsample_time',
};

/**
 * Parses a marker file. Like Go's json.Unmarshal, a missing time or reason reads as 0 / ''; the
 * version must be 1. `expectedId`, when given, must equal the marker's id (a copy under the wrong
 * block is not trusted). `key` only names the file in errors; the content is never quoted.
 */
export function parseMarker<K extends MarkerKind>(
  kind: K,
  text: string | Uint8Array,
  key: string,
  expectedId?: string,
): MarkerParseResult<MarkerOf<K>> {
  const fail = (detail: string, cause?: unknown): MarkerParseResult<MarkerOf<K>> => ({
    ok: false,
    error: new MarkerError(key, detail, cause === undefined ? undefined : { cause }),
  });
  let raw: unknown;
  try {
    raw = JSON.parse(typeof text === 'string' ? text : Buffer.from(text).toString('utf8'));
  } catch {
    // V8's message quotes the input; keep file content out of errors and logs.
    return fail('not valid JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('not a JSON object');
  const o = raw as Record<string, unknown>;
  if (o['version'] !== MARKER_VERSION_1)
    return fail(`unsupported ${markerFilename(kind)} version (want ${MARKER_VERSION_1})`);
  const id = o['id'];
  if (typeof id !== 'string' || !isUlid(id)) return fail('id is not a ULID');
  if (expectedId !== undefined && id !== expectedId)
    return fail(`id ${id} does not match block ${expectedId}`);
  const details = o['details'] ?? '';
  if (typeof details !== 'string') return fail('details is not a string');
  const tf = TIME_FIELD[kind];
  const time = o[tf] ?? 0;
  if (typeof time !== 'number' || !Number.isSafeInteger(time)) return fail(`${tf} is not an integer`);
  const reason = o['reason'] ?? '';
  if (kind !== 'deletion' && typeof reason !== 'string') return fail('reason is not a string');
  const base = { id, version: 1 as const, ...(details ? { details } : {}) };
  let m: BlockMarker;
  switch (kind) {
    case 'deletion':
      m = { kind: 'deletion', ...base, deletionTime: time };
      break;
    case 'no-compact':
      m = { kind: 'no-compact', ...base, noCompactTime: time, reason: reason as string };
      break;
    default:
      m = { kind: 'no-downsample', ...base, noDownsampleTime: time, reason: reason as string };
      break;
  }
  return { ok: true, marker: m as MarkerOf<K> };
}

export function parseDeletionMark(
  text: string | Uint8Array,
  key: string,
  expectedId?: string,
): MarkerParseResult<DeletionMark> {
  return parseMarker('deletion', text, key, expectedId);
}

export function parseNoCompactMark(
  text: string | Uint8Array,
  key: string,
  expectedId?: string,
): MarkerParseResult<NoCompactMark> {
  return parseMarker('no-compact', text, key, expectedId);
}

export function parseNoDownsampleMark(
  text: string | Uint8Array,
  key: string,
  expectedId?: string,
): MarkerParseResult<NoDownsampleMark> {
  return parseMarker('no-downsample', text, key, expectedId);
}
