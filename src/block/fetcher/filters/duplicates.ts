/**
 * Hides duplicate blocks (Thanos DefaultDeduplicateFilter): within one compaction group (same
 * resolution and external labels, replica labels removed), a block whose compaction.sources are
 * a subset of another block's sources holds no data of its own. Such pairs appear when a
 * compaction uploaded its output and died before marking its sources.
 *
 * Which one is kept is Thanos' choice: blocks are visited by descending number of sources, ties by
 * ascending ULID, and a block is a duplicate when a block kept before it covers its sources; so of
 * two equal source sets the older ULID stays. One deliberate difference, shared with
 * plan/duplicates.ts: an empty sources list counts as the block's own ULID (Thanos treats it as a
 * subset of everything and would hide the block).
 */
import type { BlockMeta } from '../../../tsdb/meta.js';
import type { MetaFilter } from '../types.js';

export interface DuplicateFilterOptions {
  /** External labels ignored for grouping (Thanos --deduplication.replica-label). */
  readonly replicaLabels?: readonly string[];
}

/** Sources are exactly [own ULID] (or empty, which counts the same). */
function isOwnSource(m: BlockMeta): boolean {
  const s = m.compaction.sources;
  return s.length === 0 || (s.length === 1 && s[0] === m.ulid);
}

function sourcesOf(m: BlockMeta): readonly string[] {
  return m.compaction.sources.length > 0 ? m.compaction.sources : [m.ulid];
}

/** Group key: resolution plus the sorted labels without replica labels (an exact string, no hash). */
export function dedupGroupKey(m: BlockMeta, replicaLabels: readonly string[]): string {
  const labels = m.thanos?.labels ?? {};
  const names = Object.keys(labels)
    .filter((n) => !replicaLabels.includes(n))
    .sort();
  let key = String(m.thanos?.downsample.resolution ?? 0);
  for (const n of names) key += `\u0000${n}\u0000${labels[n]!}`;
  return key;
}

/** IDs of the duplicates among `blocks` (one group), each with the ID of the block covering it. */
export function findGroupDuplicates(blocks: readonly BlockMeta[]): Map<string, string> {
  const dups = new Map<string, string>();
  if (blocks.length < 2) return dups;
  // A duplicate shares a source with its cover. Blocks whose only source is themselves (fresh
  // uploads, most of a big bucket) can share one only with a block that has other sources, so
  // only those go into the set: a group of fresh uploads allocates nothing.
  const seen = new Set<string>();
  let shared = false;
  for (const b of blocks) {
    if (isOwnSource(b)) continue;
    for (const s of sourcesOf(b)) {
      if (seen.has(s)) shared = true;
      seen.add(s);
    }
  }
  if (seen.size === 0) return dups;
  if (!shared) {
    for (const b of blocks) {
      if (isOwnSource(b) && seen.has(b.ulid)) {
        shared = true;
        break;
      }
    }
  }
  if (!shared) return dups;
  const order = [...blocks].sort(
    (a, b) => sourcesOf(b).length - sourcesOf(a).length || (a.ulid < b.ulid ? -1 : a.ulid > b.ulid ? 1 : 0),
  );
  // source → kept blocks containing it, so each candidate only meets covers sharing its first source.
  const keptBySource = new Map<string, { id: string; sources: Set<string> }[]>();
  for (const b of order) {
    const srcs = sourcesOf(b);
    const cover = keptBySource.get(srcs[0]!)?.find((k) => srcs.every((s) => k.sources.has(s)));
    if (cover !== undefined) {
      dups.set(b.ulid, cover.id);
      continue;
    }
    const entry = { id: b.ulid, sources: new Set(srcs) };
    for (const s of entry.sources) {
      const list = keptBySource.get(s);
      if (list === undefined) keptBySource.set(s, [entry]);
      else list.push(entry);
    }
  }
  return dups;
}

export function duplicateFilter(options: DuplicateFilterOptions = {}): MetaFilter {
  const replicaLabels = options.replicaLabels ?? [];
  // Keyed by the labels object: the fetcher shares one object per distinct label set, so this
  // holds one entry per label set instead of one string per block.
  const keys = new WeakMap<object, Map<number, string>>();
  const keyOf = (m: BlockMeta): string => {
    const labels = m.thanos?.labels ?? NO_LABELS;
    const resolution = m.thanos?.downsample.resolution ?? 0;
    let byRes = keys.get(labels);
    if (byRes === undefined) {
      byRes = new Map();
      keys.set(labels, byRes);
    }
    let k = byRes.get(resolution);
    if (k === undefined) {
      k = dedupGroupKey(m, replicaLabels);
      byRes.set(resolution, k);
    }
    return k;
  };
  return {
    name: 'duplicates',
    apply(metas, ctx) {
      const groups = new Map<string, BlockMeta[]>();
      metas.forEach((m) => {
        const k = keyOf(m);
        const g = groups.get(k);
        if (g === undefined) groups.set(k, [m]);
        else g.push(m);
      });
      for (const g of groups.values()) {
        for (const id of findGroupDuplicates(g).keys()) ctx.exclude(id, 'duplicate');
      }
    },
  };
}

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});
