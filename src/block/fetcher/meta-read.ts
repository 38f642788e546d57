/**
 * Turning meta.json bytes into a block or a partial block (the "partial filter": a block without
 * a usable meta.json is never returned as a block), and keeping the parsed metas small: a million
 * of them live in memory, so repeated strings (label names and values, file names, sources) are
 * shared through an interner instead of one copy per block.
 */
import type { BlockCompaction, BlockMeta, ThanosFile, ThanosMeta } from '../../tsdb/meta.js';
import { parseMeta } from '../../tsdb/meta.js';
import { errorMessage, FormatError } from '../../util/errors.js';
import type { PartialReason } from './types.js';

export type MetaOutcome =
  | { readonly kind: 'loaded'; readonly meta: BlockMeta }
  | { readonly kind: 'partial'; readonly reason: PartialReason; readonly detail: string };

/**
 * Shares equal strings and small immutable objects between metas: label sets (most blocks of a
 * source carry the same external labels), segment lists, file entries without sizes. Tables are
 * capped so values unique per block cannot grow them without bound.
 */
export class Interner {
  #strings = new Map<string, string>();
  #downsample = new Map<number, { resolution: number }>();
  #labels = new Map<string, Readonly<Record<string, string>>>();
  #stringLists = new Map<string, readonly string[]>();
  /** Objects this interner returned: handed back in (metas file loads), they need no lookup. */
  readonly #shared = new WeakSet<object>();

  string(s: string): string {
    const hit = this.#strings.get(s);
    if (hit !== undefined) return hit;
    if (this.#strings.size < 100_000) this.#strings.set(s, s);
    return s;
  }

  downsample(resolution: number): { resolution: number } {
    let d = this.#downsample.get(resolution);
    if (d === undefined) {
      d = Object.freeze({ resolution }) as { resolution: number };
      this.#downsample.set(resolution, d);
    }
    return d;
  }

  /** One frozen object per distinct label set. */
  labels(labels: Readonly<Record<string, string>>): Record<string, string> {
    if (this.#shared.has(labels)) return labels as Record<string, string>;
    const names = Object.keys(labels).sort();
    let key = '';
    for (const n of names) key += `${n}\u0000${labels[n]!}\u0000`;
    const hit = this.#labels.get(key);
    if (hit !== undefined) return hit as Record<string, string>;
    const out: Record<string, string> = {};
    for (const n of names) out[this.string(n)] = this.string(labels[n]!);
    Object.freeze(out);
    if (this.#labels.size < 100_000) this.#labels.set(key, out);
    this.#shared.add(out);
    return out;
  }

  /** One frozen array per distinct list of strings (segment file names). */
  stringList(list: readonly string[]): string[] {
    if (this.#shared.has(list)) return list as string[];
    const key = list.join('\u0000');
    const hit = this.#stringLists.get(key);
    if (hit !== undefined) return hit as string[];
    const out = Object.freeze(list.map((x) => this.string(x)));
    if (this.#stringLists.size < 10_000) this.#stringLists.set(key, out);
    this.#shared.add(out);
    return out as string[];
  }
}

/** The one `index_stats: {}` object every compacted meta shares. */
export const EMPTY_INDEX_STATS: Readonly<Record<string, never>> = Object.freeze({});

/**
 * Parses meta.json of block `id` (key `key`). A JSON or schema error is a corrupted meta, an
 * unknown version an unsupported one, and a meta whose ulid is not the folder's is corrupted too
 * (a copied meta.json would otherwise shadow the real block).
 */
export function classifyMeta(
  id: string,
  bytes: Buffer | string,
  key: string,
  interner?: Interner,
): MetaOutcome {
  let meta: BlockMeta;
  try {
    meta = parseMeta(typeof bytes === 'string' ? bytes : bytes.toString('utf8'), key);
  } catch (err) {
    const detail = err instanceof FormatError ? err.detail : errorMessage(err);
    const reason: PartialReason = /^unsupported .*version/.test(detail)
      ? 'unsupported-meta-version'
      : 'corrupted-meta-json';
    return { kind: 'partial', reason, detail: detail.split('\n')[0]!.slice(0, 200) };
  }
  if (meta.ulid !== id) {
    return { kind: 'partial', reason: 'corrupted-meta-json', detail: `ulid ${meta.ulid} in folder ${id}` };
  }
  // meta.ulid is a flat string of its own; `id` is often a slice of a listing key that would keep
  // the whole key alive, so the parsed one becomes the block's ID everywhere (map key included).
  return { kind: 'loaded', meta: interner ? compactMeta(meta, meta.ulid, interner) : meta };
}

/**
 * The same meta with shared strings and objects, built with a fixed property order so every meta
 * has the same object shapes (compact in-object properties instead of dictionaries). Returned
 * metas are shared and frozen where shared: callers must not mutate them (as in Thanos).
 */
export function compactMeta(meta: BlockMeta, id: string, interner: Interner): BlockMeta {
  const c = meta.compaction;
  const compaction: BlockCompaction = {
    level: c.level,
    sources: c.sources.length === 1 && c.sources[0] === id ? [id] : c.sources,
  };
  if (c.deletable !== undefined) compaction.deletable = c.deletable;
  if (c.parents !== undefined) compaction.parents = c.parents;
  if (c.failed !== undefined) compaction.failed = c.failed;
  if (c.hints !== undefined) compaction.hints = c.hints;
  const stats = {
    numSamples: meta.stats.numSamples,
    numSeries: meta.stats.numSeries,
    numChunks: meta.stats.numChunks,
    numTombstones: meta.stats.numTombstones,
  };
  const t = meta.thanos;
  if (t === undefined) {
    return { ulid: id, minTime: meta.minTime, maxTime: meta.maxTime, stats, compaction, version: 1 };
  }
  const labels = interner.labels(t.labels);
  const downsample = interner.downsample(t.downsample.resolution);
  const source = interner.string(t.source);
  const segments = t.segment_files && interner.stringList(t.segment_files);
  const files = t.files?.map((f) => compactFile(f, interner));
  const indexStats =
    t.index_stats && (Object.keys(t.index_stats).length === 0 ? EMPTY_INDEX_STATS : t.index_stats);
  let th: ThanosMeta;
  if (
    segments !== undefined &&
    files !== undefined &&
    indexStats !== undefined &&
    t.upload_time !== undefined &&
    t.version === undefined &&
    t.rewrites === undefined &&
    t.extensions === undefined
  ) {
    // The usual shape, as one literal: properties added one by one after creation would spill
    // into a separate property array (two objects more per block).
    th = {
      labels,
      downsample,
      source,
      segment_files: segments,
      files,
      index_stats: indexStats,
      upload_time: t.upload_time,
    };
  } else {
    th = { labels, downsample, source };
    if (t.version !== undefined) th.version = t.version;
    if (segments !== undefined) th.segment_files = segments;
    if (files !== undefined) th.files = files;
    if (indexStats !== undefined) th.index_stats = indexStats;
    if (t.upload_time !== undefined) th.upload_time = t.upload_time;
    if (t.rewrites !== undefined) th.rewrites = t.rewrites;
    if (t.extensions !== undefined) th.extensions = t.extensions;
  }
  return {
    ulid: id,
    minTime: meta.minTime,
    maxTime: meta.maxTime,
    stats,
    compaction,
    version: 1,
    thanos: th,
  };
}

const SIZELESS_FILES = new Map<string, ThanosFile>();

/** A file entry without a hash; `relPath` must be interned already. */
export function fileEntry(relPath: string, size: number | undefined, interner: Interner): ThanosFile {
  if (size === undefined) {
    // meta.json is listed without a size in every block: one shared entry.
    let shared = SIZELESS_FILES.get(relPath);
    if (shared === undefined) {
      shared = Object.freeze({ rel_path: interner.string(relPath) });
      if (SIZELESS_FILES.size < 1000) SIZELESS_FILES.set(relPath, shared);
    }
    return shared;
  }
  return { rel_path: relPath, size_bytes: size };
}

function compactFile(f: ThanosFile, interner: Interner): ThanosFile {
  if (f.hash === undefined) return fileEntry(interner.string(f.rel_path), f.size_bytes, interner);
  const out: ThanosFile = { rel_path: interner.string(f.rel_path), size_bytes: f.size_bytes ?? 0 };
  if (f.hash !== undefined) out.hash = f.hash;
  return out;
}
