/**
 * Whole-index verification for `strata tsdb verify` and the compactor's output check. Collects
 * typed problems instead of stopping at the first. Chunk time bounds follow Thanos'
 * GatherIndexHealthStats: a chunk is outside when mint < block minTime or maxt > block maxTime
 * (so maxt == maxTime passes there; we add a warning since maxTime is exclusive).
 */
import { compareStrings, formatLabels } from '../labels.js';
import { FormatError, type ErrorCode } from '../../util/errors.js';
import { SERIES_ALIGN, alignUp } from './format.js';
import type { SeriesCursor } from './cursor.js';
import type { NameEntries } from './postings-table.js';
import type { SeriesScratch } from './series.js';
import { findSymbol } from './symbols.js';

export type IndexProblemKind =
  | 'symbols-unsorted'
  | 'symbol-invalid-utf8'
  | 'series-unreadable'
  | 'series-empty-labels'
  | 'labels-out-of-order'
  | 'label-empty'
  | 'series-out-of-order'
  | 'series-no-chunks'
  | 'chunk-inverted'
  | 'chunk-out-of-order'
  | 'chunk-duplicate'
  | 'chunk-outside-block'
  | 'chunk-at-block-end'
  | 'postings-unreadable'
  | 'all-postings-mismatch'
  | 'postings-unknown-symbol'
  | 'postings-bad-series'
  | 'postings-wrong-series'
  | 'postings-incomplete'
  | 'postings-missing';

export interface IndexProblem {
  readonly kind: IndexProblemKind;
  readonly severity: 'error' | 'warning';
  readonly message: string;
  readonly seriesId?: number;
  /** The series in Prometheus notation. */
  readonly labels?: string;
  /** File offset, for problems found while decoding. */
  readonly offset?: number;
  /** The FormatError code for unreadable parts. */
  readonly code?: ErrorCode;
}

export interface IndexHealthStats {
  numSeries: number;
  numChunks: number;
  numSymbols: number;
  numLabelNames: number;
  numPostings: number;
  /** Largest series entry rounded up to 16 bytes (Thanos index_stats.series_max_size). */
  seriesMaxSize: number;
  outOfOrderChunks: number;
  duplicatedChunks: number;
  outsideChunks: number;
  completeOutsideChunks: number;
  /** Chunks starting exactly at the block's maxTime (prometheus/tsdb#347). */
  issue347OutsideChunks: number;
  outOfOrderLabels: number;
}

export interface IndexValidation {
  /** No error-severity problem. */
  readonly ok: boolean;
  readonly problems: IndexProblem[];
  /** Problems beyond maxProblems, counted but not listed. */
  readonly problemsDropped: number;
  readonly stats: IndexHealthStats;
}

export interface ValidateOptions {
  /** Problems listed at most (default 1000). */
  maxProblems?: number;
  /** Cross-check every postings list against the series (default true). */
  checkPostings?: boolean;
}

/** What validation needs from a reader. */
export interface ValidationSource {
  readonly path: string;
  readonly invalidUtf8Symbols: readonly number[];
  readonly numPostings: number;
  symbols(): readonly string[];
  labelNames(): string[];
  postingsNames(): readonly string[];
  postingsEntries(name: string): NameEntries | undefined;
  allPostings(): Promise<Uint32Array>;
  postingsAt(offsets: readonly number[]): Promise<Uint32Array[]>;
  seriesCursor(): SeriesCursor;
}

class Collector {
  readonly problems: IndexProblem[] = [];
  dropped = 0;
  errors = 0;
  constructor(private readonly max: number) {}
  add(p: IndexProblem): void {
    if (p.severity === 'error') this.errors++;
    if (this.problems.length < this.max) this.problems.push(p);
    else this.dropped++;
  }
}

class GrowU32 {
  data = new Uint32Array(1024);
  n = 0;
  push(v: number): void {
    if (this.n === this.data.length) {
      const b = new Uint32Array(this.data.length * 2);
      b.set(this.data);
      this.data = b;
    }
    this.data[this.n++] = v;
  }
  view(): Uint32Array {
    return this.data.subarray(0, this.n);
  }
}

/** Per-series label refs kept for the postings cross-check: 8 bytes per label. */
interface SeriesIndex {
  ids: GrowU32;
  /** Series i's refs are refs[starts[i] .. starts[i+1]). */
  starts: GrowU32;
  refs: GrowU32;
  /** nameRef -> valueRef -> number of series. */
  pairs: Map<number, Map<number, number>>;
}

function seriesProblem(
  c: Collector,
  kind: IndexProblemKind,
  s: SeriesScratch,
  message: string,
  severity: 'error' | 'warning' = 'error',
): void {
  c.add({
    kind,
    severity,
    message,
    seriesId: s.id,
    labels: formatLabels(s.labels),
    offset: s.id * SERIES_ALIGN,
  });
}

export async function validateIndex(
  r: ValidationSource,
  minTime: number,
  maxTime: number,
  options: ValidateOptions = {},
): Promise<IndexValidation> {
  const c = new Collector(options.maxProblems ?? 1000);
  const syms = r.symbols();
  const stats: IndexHealthStats = {
    numSeries: 0,
    numChunks: 0,
    numSymbols: syms.length,
    numLabelNames: r.labelNames().length,
    numPostings: r.numPostings,
    seriesMaxSize: 0,
    outOfOrderChunks: 0,
    duplicatedChunks: 0,
    outsideChunks: 0,
    completeOutsideChunks: 0,
    issue347OutsideChunks: 0,
    outOfOrderLabels: 0,
  };
  for (let i = 1; i < syms.length; i++) {
    if (compareStrings(syms[i - 1]!, syms[i]!) >= 0) {
      c.add({
        kind: 'symbols-unsorted',
        severity: 'error',
        message: `symbol ${i} ${JSON.stringify(syms[i])} does not sort after ${JSON.stringify(syms[i - 1])}`,
      });
    }
  }
  for (const ref of r.invalidUtf8Symbols) {
    c.add({ kind: 'symbol-invalid-utf8', severity: 'error', message: `symbol ${ref} is not valid UTF-8` });
  }

  const idx: SeriesIndex = {
    ids: new GrowU32(),
    starts: new GrowU32(),
    refs: new GrowU32(),
    pairs: new Map(),
  };
  const walked = await walkSeries(r, c, stats, idx, minTime, maxTime);
  if (walked && options.checkPostings !== false) await checkPostings(r, c, idx);
  return { ok: c.errors === 0, problems: c.problems, problemsDropped: c.dropped, stats };
}

async function walkSeries(
  r: ValidationSource,
  c: Collector,
  stats: IndexHealthStats,
  idx: SeriesIndex,
  minTime: number,
  maxTime: number,
): Promise<boolean> {
  const cursor = r.seriesCursor();
  const s = cursor.series;
  let prev = new Uint32Array(64);
  let prevK = -1;
  try {
    for (;;) {
      while (cursor.next()) {
        stats.numSeries++;
        stats.numChunks += s.chunks.length;
        const size = alignUp(s.entrySize, SERIES_ALIGN);
        if (size > stats.seriesMaxSize) stats.seriesMaxSize = size;
        const k = s.labels.length;
        const refs = s.labelRefs;
        idx.ids.push(s.id);
        idx.starts.push(idx.refs.n);
        for (let i = 0; i < 2 * k; i++) idx.refs.push(refs[i]!);
        checkLabels(c, stats, s, idx);
        if (prevK >= 0 && compareRefs(prev, prevK, refs, k) >= 0) {
          seriesProblem(c, 'series-out-of-order', s, 'series does not sort after the previous series');
        }
        if (prev.length < 2 * k) prev = new Uint32Array(2 * k);
        prev.set(refs.subarray(0, 2 * k));
        prevK = k;
        checkChunks(c, stats, s, minTime, maxTime);
      }
      if (!(await cursor.load())) break;
    }
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
    c.add({
      kind: 'series-unreadable',
      severity: 'error',
      message: err.message,
      offset: err.offset,
      code: err.code,
    });
    return false;
  }
  idx.starts.push(idx.refs.n);
  return true;
}

function checkLabels(c: Collector, stats: IndexHealthStats, s: SeriesScratch, idx: SeriesIndex): void {
  const k = s.labels.length;
  if (k === 0) seriesProblem(c, 'series-empty-labels', s, 'series has no labels');
  for (let i = 0; i < k; i++) {
    const l = s.labels[i]!;
    if (l.name === '' || l.value === '')
      seriesProblem(c, 'label-empty', s, 'label with an empty name or value');
    if (i > 0 && compareStrings(s.labels[i - 1]!.name, l.name) >= 0) {
      stats.outOfOrderLabels++;
      seriesProblem(
        c,
        'labels-out-of-order',
        s,
        `label ${JSON.stringify(l.name)} out of order or duplicated`,
      );
    }
    const n = s.labelRefs[2 * i]!;
    const v = s.labelRefs[2 * i + 1]!;
    let byValue = idx.pairs.get(n);
    if (byValue === undefined) {
      byValue = new Map();
      idx.pairs.set(n, byValue);
    }
    byValue.set(v, (byValue.get(v) ?? 0) + 1);
  }
}

function checkChunks(
  c: Collector,
  stats: IndexHealthStats,
  s: SeriesScratch,
  minTime: number,
  maxTime: number,
): void {
  const chunks = s.chunks;
  if (chunks.length === 0) seriesProblem(c, 'series-no-chunks', s, 'series has no chunks');
  for (let i = 0; i < chunks.length; i++) {
    const ch = chunks[i]!;
    if (ch.mint > ch.maxt)
      seriesProblem(c, 'chunk-inverted', s, `${where(i, ch.mint, ch.maxt)}: mint > maxt`);
    if (ch.mint < minTime || ch.maxt > maxTime) {
      stats.outsideChunks++;
      let how = 'partly';
      if (ch.mint > maxTime || ch.maxt < minTime) {
        stats.completeOutsideChunks++;
        how = 'completely';
      } else if (ch.mint === maxTime) {
        stats.issue347OutsideChunks++;
        how = 'starting at maxTime (prometheus/tsdb#347),';
      }
      seriesProblem(
        c,
        'chunk-outside-block',
        s,
        `${where(i, ch.mint, ch.maxt)}: ${how} outside the block range [${minTime}, ${maxTime})`,
      );
    } else if (ch.maxt === maxTime) {
      seriesProblem(
        c,
        'chunk-at-block-end',
        s,
        `${where(i, ch.mint, ch.maxt)}: ends at the block's exclusive maxTime ${maxTime}`,
        'warning',
      );
    }
    if (i === 0) continue;
    const p = chunks[i - 1]!;
    if (ch.mint > p.maxt) continue;
    if (ch.mint === p.mint && ch.maxt === p.maxt) {
      stats.duplicatedChunks++;
      seriesProblem(
        c,
        'chunk-duplicate',
        s,
        `${where(i, ch.mint, ch.maxt)}: same time range as the previous chunk`,
      );
    } else {
      stats.outOfOrderChunks++;
      seriesProblem(
        c,
        'chunk-out-of-order',
        s,
        `${where(i, ch.mint, ch.maxt)}: overlaps or precedes chunk [${p.mint}, ${p.maxt}]`,
      );
    }
  }
}

function where(i: number, mint: number, maxt: number): string {
  return `chunk ${i} [${mint}, ${maxt}]`;
}

function compareRefs(a: Uint32Array, ka: number, b: Uint32Array, kb: number): number {
  const n = Math.min(ka, kb) * 2;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return ka - kb;
}

function indexOf(ids: Uint32Array, id: number): number {
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = ids[mid]!;
    if (v === id) return mid;
    if (v < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

const BATCH = 4096;

async function checkPostings(r: ValidationSource, c: Collector, idx: SeriesIndex): Promise<void> {
  const ids = idx.ids.view();
  const syms = r.symbols();
  try {
    const all = await r.allPostings();
    let same = all.length === ids.length;
    for (let i = 0; same && i < ids.length; i++) same = all[i] === ids[i];
    if (!same) {
      c.add({
        kind: 'all-postings-mismatch',
        severity: 'error',
        message: `all-postings list has ${all.length} IDs, the series section ${ids.length} series`,
      });
    }
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
    c.add({
      kind: 'postings-unreadable',
      severity: 'error',
      message: err.message,
      offset: err.offset,
      code: err.code,
    });
  }

  for (const name of r.postingsNames()) {
    if (name === '') continue;
    const e = r.postingsEntries(name)!;
    const nameRef = findSymbol(syms, name);
    for (let from = 0; from < e.values.length; from += BATCH) {
      const to = Math.min(e.values.length, from + BATCH);
      const lists = await readLists(r, c, name, e, from, to);
      for (let j = from; j < to; j++) {
        const list = lists[j - from];
        if (list === undefined) {
          // Reported as unreadable; it exists, so it is not missing as well.
          forgetPair(idx, nameRef, findSymbol(syms, e.values[j]!));
          continue;
        }
        checkList(c, idx, ids, name, nameRef, e.values[j]!, findSymbol(syms, e.values[j]!), list);
      }
    }
  }
  for (const [n, byValue] of idx.pairs) {
    for (const [v, count] of byValue) {
      c.add({
        kind: 'postings-missing',
        severity: 'error',
        message: `no postings list for ${syms[n]}=${JSON.stringify(syms[v])} (${count} series have it)`,
      });
    }
  }
}

/** Lists [from, to) of one name; unreadable ones are reported and left undefined. */
async function readLists(
  r: ValidationSource,
  c: Collector,
  name: string,
  e: NameEntries,
  from: number,
  to: number,
): Promise<Array<Uint32Array | undefined>> {
  const offsets = e.offsets.slice(from, to);
  try {
    return await r.postingsAt(offsets);
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
  }
  const out: Array<Uint32Array | undefined> = [];
  for (let j = 0; j < offsets.length; j++) {
    try {
      out.push((await r.postingsAt([offsets[j]!]))[0]);
    } catch (err) {
      if (!(err instanceof FormatError)) throw err;
      c.add({
        kind: 'postings-unreadable',
        severity: 'error',
        message: `postings of ${name}=${JSON.stringify(e.values[from + j])}: ${err.message}`,
        offset: err.offset,
        code: err.code,
      });
      out.push(undefined);
    }
  }
  return out;
}

/** Drops a label pair from the ones still expecting a postings list; returns its series count. */
function forgetPair(idx: SeriesIndex, nameRef: number, valueRef: number): number {
  const byValue = idx.pairs.get(nameRef);
  const count = byValue?.get(valueRef) ?? 0;
  byValue?.delete(valueRef);
  if (byValue !== undefined && byValue.size === 0) idx.pairs.delete(nameRef);
  return count;
}

function checkList(
  c: Collector,
  idx: SeriesIndex,
  ids: Uint32Array,
  name: string,
  nameRef: number,
  value: string,
  valueRef: number,
  list: Uint32Array,
): void {
  const pair = `${name}=${JSON.stringify(value)}`;
  if (nameRef < 0 || valueRef < 0) {
    c.add({
      kind: 'postings-unknown-symbol',
      severity: 'error',
      message: `postings for ${pair}: not in the symbol table`,
    });
    return;
  }
  const expected = forgetPair(idx, nameRef, valueRef);
  const starts = idx.starts.data;
  const refs = idx.refs.data;
  let bad = 0;
  for (let i = 0; i < list.length; i++) {
    const id = list[i]!;
    const at = indexOf(ids, id);
    if (at < 0) {
      if (bad++ === 0) {
        c.add({
          kind: 'postings-bad-series',
          severity: 'error',
          message: `postings for ${pair}: ${id} is not a series ID`,
        });
      }
      continue;
    }
    let found = false;
    for (let p = starts[at]!; p < starts[at + 1]!; p += 2) {
      if (refs[p] === nameRef && refs[p + 1] === valueRef) {
        found = true;
        break;
      }
    }
    if (!found && bad++ === 0) {
      c.add({
        kind: 'postings-wrong-series',
        severity: 'error',
        message: `postings for ${pair}: series ${id} does not have this label`,
        seriesId: id,
      });
    }
  }
  if (bad === 0 && list.length !== expected) {
    c.add({
      kind: 'postings-incomplete',
      severity: 'error',
      message: `postings for ${pair} list ${list.length} series, ${expected} series have the label`,
    });
  }
}
