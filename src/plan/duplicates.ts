/**
 * Duplicate blocks within one group (Thanos DefaultDeduplicateFilter): a block whose
 * compaction.sources are a subset of another block's sources holds no data of its own. They appear
 * when a compaction uploaded its output but crashed before marking the sources, or when a
 * block was uploaded twice.
 */
import { compareStrings } from '../tsdb/labels.js';
import type { PlanBlock } from './types.js';

export interface DuplicateSplit {
  /** Blocks to plan with, in input order. */
  readonly kept: PlanBlock[];
  readonly duplicates: { readonly block: PlanBlock; readonly coveredBy: string }[];
}

/**
 * Thanos' choice: walk blocks by descending number of sources, ties by ascending ULID, and keep a
 * block only if no block kept so far covers its sources. So of two blocks with equal source sets
 * the smaller ULID (the older upload) is kept.
 *
 * Deliberate difference: a block with an empty sources list counts as its own single source.
 * Thanos treats the empty set as a subset of anything and would delete such a block.
 */
export function findDuplicates(blocks: readonly PlanBlock[]): DuplicateSplit {
  if (blocks.length < 2) return { kept: [...blocks], duplicates: [] };
  const sourcesOf = (b: PlanBlock): readonly string[] =>
    b.compaction.sources.length > 0 ? b.compaction.sources : [b.ulid];
  // A duplicate shares its sources with its cover: if no source occurs twice there is none.
  const seen = new Set<string>();
  let shared = false;
  for (const b of blocks) {
    for (const s of sourcesOf(b)) {
      if (seen.has(s)) shared = true;
      seen.add(s);
    }
    if (shared) break;
  }
  if (!shared) return { kept: [...blocks], duplicates: [] };
  const order = [...blocks].sort(
    (a, b) => sourcesOf(b).length - sourcesOf(a).length || compareStrings(a.ulid, b.ulid),
  );
  // source ULID → kept blocks (in keep order) whose sources include it, with their source sets.
  const bySource = new Map<string, { ulid: string; sources: Set<string> }[]>();
  const dupOf = new Map<string, string>();
  for (const child of order) {
    const srcs = sourcesOf(child);
    const candidates = bySource.get(srcs[0]!);
    let cover: string | undefined;
    if (candidates !== undefined) {
      for (const c of candidates) {
        if (srcs.every((s) => c.sources.has(s))) {
          cover = c.ulid;
          break;
        }
      }
    }
    if (cover !== undefined) {
      dupOf.set(child.ulid, cover);
      continue;
    }
    const entry = { ulid: child.ulid, sources: new Set(srcs) };
    for (const s of entry.sources) {
      const list = bySource.get(s);
      if (list === undefined) bySource.set(s, [entry]);
      else list.push(entry);
    }
  }
  const kept: PlanBlock[] = [];
  const duplicates: { block: PlanBlock; coveredBy: string }[] = [];
  for (const b of blocks) {
    const cover = dupOf.get(b.ulid);
    if (cover === undefined) kept.push(b);
    else duplicates.push({ block: b, coveredBy: cover });
  }
  return { kept, duplicates };
}
