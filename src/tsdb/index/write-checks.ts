/** Checks and errors of the index writer (see writer.ts). */
import { formatLabels, type Labels } from '../labels.js';
import { StrataError, type ErrorCode } from '../../util/errors.js';
import type { ChunkMeta } from './format.js';

/**
 * Times in [-2^52, 2^52) and refs in [0, 2^52): every (zig-zag) varint and delta the format
 * stores then stays within 2^53 and decodes exactly.
 */
export const MIN_TIME = -(2 ** 52);
export const MAX_TIME = 2 ** 52 - 1;
export const MAX_CHUNK_REF = 2 ** 52 - 1;

/** What the index writer asks of the chunk writer. */
export interface ChunkRefSource {
  /** True when `ref` names a segment and an offset inside what was written so far. */
  holds(ref: number): boolean;
}

/** A series rejected by the writer; `series` is the label set in Prometheus notation. */
export class IndexWriterError extends StrataError {
  readonly series: string;
  constructor(code: ErrorCode, series: string, detail: string) {
    super(code, `index: series ${series}: ${detail}`);
    this.series = series;
  }
}

/** A series in messages: its labels, a description, or a function making one on demand. */
export type SeriesName = Labels | string | (() => string);

/** A label set in Prometheus notation; a string is a description already made. */
export function safeFormat(labels: SeriesName): string {
  if (typeof labels === 'string') return labels;
  if (typeof labels === 'function') return labels();
  try {
    return formatLabels(labels);
  } catch {
    return '<unprintable labels>';
  }
}

/** A postings list must be strictly ascending (readers merge and intersect them as sorted). */
export function checkAscending(
  ids: Uint32Array,
  name: string | Uint8Array,
  value: string | Uint8Array,
): void {
  for (let i = 1; i < ids.length; i++) {
    if (ids[i]! <= ids[i - 1]!) {
      throw new StrataError(
        'ERR_TSDB_OUT_OF_ORDER',
        `index: postings of ${text(name)}=${JSON.stringify(text(value))}: series ${ids[i]} after ${ids[i - 1]}, not ascending`,
      );
    }
  }
}

function text(s: string | Uint8Array): string {
  return typeof s === 'string' ? s : Buffer.from(s.buffer, s.byteOffset, s.byteLength).toString('utf8');
}

/** Label sets compared through their symbol refs: symbol order is string order. */
export function compareRefs(a: Uint32Array, ka: number, b: Uint32Array, kb: number): number {
  const n = Math.min(ka, kb) * 2;
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return ka - kb;
}

/**
 * A series' chunks: non-empty, valid times and refs, mint <= maxt, inside [minTime, maxTime],
 * refs the chunk writer holds, in order and not overlapping.
 */
export function checkChunks(
  labels: SeriesName,
  chunks: readonly ChunkMeta[],
  minTime: number,
  maxTime: number,
  written: ChunkRefSource | undefined,
): void {
  if (chunks.length === 0)
    throw new IndexWriterError('ERR_INVALID_ARGUMENT', safeFormat(labels), 'no chunks');
  let prevMaxt = 0;
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i]!;
    if (!isTime(c.mint) || !isTime(c.maxt)) {
      badChunk(labels, c, i, 'ERR_INVALID_ARGUMENT', 'times must be integers in [-2^52, 2^52)');
    }
    if (!Number.isSafeInteger(c.ref) || c.ref < 0 || c.ref > MAX_CHUNK_REF) {
      badChunk(labels, c, i, 'ERR_INVALID_ARGUMENT', 'ref must be an integer in [0, 2^52)');
    }
    if (c.mint > c.maxt) badChunk(labels, c, i, 'ERR_INVALID_ARGUMENT', 'mint > maxt');
    if (c.mint < minTime || c.maxt > maxTime) {
      badChunk(labels, c, i, 'ERR_TSDB_CORRUPT', `outside the block range [${minTime}, ${maxTime})`);
    }
    if (written !== undefined && !written.holds(c.ref)) {
      badChunk(labels, c, i, 'ERR_TSDB_CORRUPT', 'ref points outside the chunks written');
    }
    if (i > 0 && c.mint <= prevMaxt) {
      badChunk(
        labels,
        c,
        i,
        c.mint < chunks[i - 1]!.mint ? 'ERR_TSDB_OUT_OF_ORDER' : 'ERR_TSDB_OVERLAP',
        `starts at or before the previous chunk's maxt ${prevMaxt}`,
      );
    }
    prevMaxt = c.maxt;
  }
}

function badChunk(labels: SeriesName, c: ChunkMeta, i: number, code: ErrorCode, detail: string): never {
  throw new IndexWriterError(
    code,
    safeFormat(labels),
    `chunk ${i} [${c.mint}, ${c.maxt}] ref ${c.ref}: ${detail}`,
  );
}

function isTime(t: number): boolean {
  return Number.isSafeInteger(t) && t >= MIN_TIME && t <= MAX_TIME;
}

/**
 * Copies the `k` label refs of `src` into `dst`, checking each: in the symbol table, not the
 * empty string, names strictly ascending.
 */
export function copyLabelRefs(
  src: Uint32Array,
  k: number,
  dst: Uint32Array,
  numSymbols: number,
  emptyRef: number,
  who: () => string,
): void {
  for (let i = 0; i < 2 * k; i++) {
    const r = src[i]!;
    const what =
      r >= numSymbols
        ? `symbol ${r} is not in the symbol table (${numSymbols} symbols)`
        : r === emptyRef
          ? 'empty label name or value'
          : i % 2 === 0 && i > 0 && r <= src[i - 2]!
            ? 'labels not sorted by name or duplicated'
            : undefined;
    if (what !== undefined) throw new IndexWriterError('ERR_INVALID_ARGUMENT', who(), what);
    dst[i] = r;
  }
}

/** A series for messages: its labels, or its refs when the writer holds no symbol strings. */
export function describeRefs(refs: Uint32Array, k: number, symbols: readonly string[] | undefined): string {
  if (symbols === undefined) {
    const parts: string[] = [];
    for (let i = 0; i < k; i++) parts.push(`#${refs[2 * i]}=#${refs[2 * i + 1]}`);
    return `{${parts.join(', ')}} (symbol refs)`;
  }
  const ls: Labels = Array.from({ length: k }, (_, i) => ({
    name: symbols[refs[2 * i]!] ?? '?',
    value: symbols[refs[2 * i + 1]!] ?? '?',
  }));
  return safeFormat(ls);
}
