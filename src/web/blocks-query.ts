/**
 * The query parameters of the Blocks APIs, parsed and checked: a bad value becomes an
 * InvalidArgumentError whose message names the parameter (the API answers 400 bad_data with it).
 */
import { InvalidArgumentError } from '../util/errors.js';

export const SORT_KEYS = ['min_time', 'max_time', 'level', 'ulid'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export const DEFAULT_LIMIT = 500;
export const MAX_LIMIT = 5000;
export const DEFAULT_TIMELINE_LIMIT = 20_000;
export const MAX_TIMELINE_LIMIT = 200_000;

/** Filters shared by the blocks list and the timeline. */
export interface BlockFilter {
  level?: number;
  /** Downsampling resolution in ms (0 = raw). */
  resolution?: number;
  /** Blocks overlapping [minTime, maxTime) (ms). */
  minTime?: number;
  maxTime?: number;
  /** External labels every matching block has (name, value). */
  labels: readonly (readonly [string, string])[];
  /** ULID or ULID prefix, upper case. */
  idPrefix?: string;
}

export interface BlockQuery extends BlockFilter {
  sort: SortKey;
  descending: boolean;
  offset: number;
  limit: number;
}

// Crockford base32 as ULIDs use it (no I, L, O, U).
const ULID_PREFIX = /^[0-9A-HJKMNP-TV-Z]{1,26}$/;
const INT = /^-?\d+$/;

function bad(param: string, detail: string): InvalidArgumentError {
  return new InvalidArgumentError(`parameter ${param}: ${detail}`);
}

function one(p: URLSearchParams, name: string): string | undefined {
  const all = p.getAll(name);
  if (all.length > 1) throw bad(name, 'given more than once');
  const v = all[0];
  return v === undefined || v === '' ? undefined : v;
}

function int(p: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const v = one(p, name);
  if (v === undefined) return undefined;
  const n = INT.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw bad(name, `${JSON.stringify(v.slice(0, 40))} is not an integer`);
  if (n < min || n > max) throw bad(name, `${n} is out of range [${min}, ${max}]`);
  return n;
}

export function parseFilter(p: URLSearchParams): BlockFilter {
  const f: BlockFilter = { labels: [] };
  const level = int(p, 'level', 1, 1_000_000);
  if (level !== undefined) f.level = level;
  const resolution = int(p, 'resolution', 0, Number.MAX_SAFE_INTEGER);
  if (resolution !== undefined) f.resolution = resolution;
  const minTime = int(p, 'min_time', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const maxTime = int(p, 'max_time', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  if (minTime !== undefined && maxTime !== undefined && minTime > maxTime)
    throw bad('min_time', `${minTime} is after max_time ${maxTime}`);
  if (minTime !== undefined) f.minTime = minTime;
  if (maxTime !== undefined) f.maxTime = maxTime;
  const labels: [string, string][] = [];
  for (const l of p.getAll('label')) {
    const eq = l.indexOf('=');
    if (eq <= 0) throw bad('label', `${JSON.stringify(l.slice(0, 80))} is not name=value`);
    labels.push([l.slice(0, eq), l.slice(eq + 1)]);
  }
  f.labels = labels;
  const q = one(p, 'q');
  if (q !== undefined) {
    const up = q.trim().toUpperCase();
    if (!ULID_PREFIX.test(up))
      throw bad(
        'q',
        `${JSON.stringify(q.slice(0, 40))} is not a ULID or ULID prefix (Crockford base32, at most 26 characters)`,
      );
    f.idPrefix = up;
  }
  return f;
}

export function parseBlockQuery(p: URLSearchParams): BlockQuery {
  const f = parseFilter(p);
  const sortText = one(p, 'sort') ?? 'min_time';
  const descending = sortText.startsWith('-');
  const sort = descending ? sortText.slice(1) : sortText;
  if (!(SORT_KEYS as readonly string[]).includes(sort))
    throw bad(
      'sort',
      `${JSON.stringify(sortText.slice(0, 40))} is not one of ${SORT_KEYS.join(', ')} (prefix - for descending)`,
    );
  return {
    ...f,
    sort: sort as SortKey,
    descending,
    offset: int(p, 'offset', 0, Number.MAX_SAFE_INTEGER) ?? 0,
    limit: int(p, 'limit', 1, MAX_LIMIT) ?? DEFAULT_LIMIT,
  };
}

export function parseTimelineLimit(p: URLSearchParams): number {
  return int(p, 'limit', 1, MAX_TIMELINE_LIMIT) ?? DEFAULT_TIMELINE_LIMIT;
}
