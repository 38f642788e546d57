/**
 * Duplicate blocks within one compaction group (Thanos DefaultDeduplicateFilter): a block whose
 * compaction.sources are a subset of another block's sources holds no data of its own. They appear
 * when a compaction uploaded its output and died before marking its sources, or when a block was
 * uploaded twice. The fetcher's duplicate filter hides them and the compactor marks what it hid
 * for deletion (one detector feeding both, as in Thanos); the planner's simulation uses it too.
 *
 * Which one is kept is Thanos' choice: blocks are visited by descending number of sources, ties by
 * ascending ULID, and a block is a duplicate when a block kept before it covers its sources; so of
 * two equal source sets the older ULID stays. One deliberate difference: an empty sources list
 * counts as the block's own ULID (Thanos treats it as a subset of everything and would hide the
 * block).
 */
import { compareStrings } from './labels.js';
import type { BlockMeta } from './meta.js';

/** Sources are exactly [own ULID] (or empty, which counts the same). */
export function isOwnSource(m: BlockMeta): boolean {
  const s = m.compaction.sources;
  return s.length === 0 || (s.length === 1 && s[0] === m.ulid);
}

function sourcesOf(m: BlockMeta): readonly string[] {
  return m.compaction.sources.length > 0 ? m.compaction.sources : [m.ulid];
}

/** The duplicates among `blocks` (one group): duplicate ULID → ULID of the block covering it. */
export function findDuplicates(blocks: readonly BlockMeta[]): Map<string, string> {
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
    (a, b) => sourcesOf(b).length - sourcesOf(a).length || compareStrings(a.ulid, b.ulid),
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
