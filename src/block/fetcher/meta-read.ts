/**
 * Turning meta.json bytes into a block or a partial block (the "partial filter": a block without
 * a usable meta.json is never returned as a block), and keeping the parsed metas small: a million
 * of them live in memory, so repeated strings (label names and values, file names, sources) are
 * shared through an interner instead of one copy per block.
 */
import type { BlockMeta, ThanosFile, ThanosMeta } from '../../tsdb/meta.js';
import { parseMeta } from '../../tsdb/meta.js';
import { errorMessage, FormatError } from '../../util/errors.js';
import type { PartialReason } from './types.js';

export type MetaOutcome =
  | { readonly kind: 'loaded'; readonly meta: BlockMeta }
  | { readonly kind: 'partial'; readonly reason: PartialReason; readonly detail: string };

/** Shares equal strings and small immutable objects between metas. */
export class Interner {
  #strings = new Map<string, string>();
  #downsample = new Map<number, { resolution: number }>();

  string(s: string): string {
    const hit = this.#strings.get(s);
    if (hit !== undefined) return hit;
    // Cap the table: values unique per block (hashes, odd labels) must not grow it forever.
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
}

const EMPTY_INDEX_STATS = Object.freeze({});

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
  return { kind: 'loaded', meta: interner ? compactMeta(meta, id, interner) : meta };
}

/** The same meta with shared strings and objects; `id` (the listing's string) becomes its ulid. */
export function compactMeta(meta: BlockMeta, id: string, interner: Interner): BlockMeta {
  const sources = meta.compaction.sources.map((s) => (s === id ? id : s));
  const out: BlockMeta = {
    ...meta,
    ulid: id,
    compaction: { ...meta.compaction, sources },
  };
  const t = meta.thanos;
  if (t !== undefined) {
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(t.labels)) labels[interner.string(k)] = interner.string(v);
    const th: ThanosMeta = {
      ...t,
      labels,
      downsample: interner.downsample(t.downsample.resolution),
      source: interner.string(t.source),
    };
    if (t.segment_files) th.segment_files = t.segment_files.map((s) => interner.string(s));
    if (t.files) th.files = t.files.map((f) => compactFile(f, interner));
    if (t.index_stats && Object.keys(t.index_stats).length === 0) th.index_stats = EMPTY_INDEX_STATS;
    out.thanos = th;
  }
  return out;
}

function compactFile(f: ThanosFile, interner: Interner): ThanosFile {
  const out: ThanosFile = { rel_path: interner.string(f.rel_path) };
  if (f.size_bytes !== undefined) out.size_bytes = f.size_bytes;
  if (f.hash !== undefined) out.hash = f.hash;
  return out;
}
