/**
 * Hides duplicate blocks (Thanos DefaultDeduplicateFilter) within each compaction group: the
 * detector is tsdb/duplicates.ts, the group key tsdb/group-key.ts, both shared with the planner.
 */
import type { BlockMeta } from '../../../tsdb/meta.js';
import { findDuplicates, isOwnSource } from '../../../tsdb/duplicates.js';
import { groupKey, groupLabels } from '../../../tsdb/group-key.js';
import type { FilterContext, MetaFilter } from '../types.js';
import { PackedMeta } from '../packed-meta.js';

export interface DuplicateFilterOptions {
  /** External labels ignored for grouping (Thanos --deduplication.replica-label). */
  readonly replicaLabels?: readonly string[];
}

export function duplicateFilter(options: DuplicateFilterOptions = {}): MetaFilter {
  const replicaLabels = options.replicaLabels ?? [];
  // Keyed by the labels object: the fetcher shares one object per distinct label set, so this
  // hashes each label set once instead of once per block.
  const keys = new WeakMap<object, Map<number, string>>();
  // A packed meta's shape (labels, resolution and more, shared by many blocks): one lookup and
  // no thanos section built per block.
  const byShape = new WeakMap<object, string>();
  const keyOf = (m: BlockMeta): string => {
    if (m instanceof PackedMeta) {
      const shape = m.shape();
      let k = byShape.get(shape);
      if (k === undefined) byShape.set(shape, (k = keyOfParts(shape.labels, shape.downsample.resolution)));
      return k;
    }
    const thanos = m.thanos;
    return keyOfParts(thanos?.labels ?? NO_LABELS, thanos?.downsample.resolution ?? 0);
  };
  const keyOfParts = (labels: Record<string, string>, resolution: number): string => {
    let byRes = keys.get(labels);
    if (byRes === undefined) {
      byRes = new Map();
      keys.set(labels, byRes);
    }
    let k = byRes.get(resolution);
    if (k === undefined) {
      k = groupKey(resolution, groupLabels(labels, replicaLabels));
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
        if (g.length < 2 || g.every(ownSourceOnly)) continue;
        for (const id of findDuplicates(g).keys()) ctx.exclude(id, 'duplicate');
      }
    },
    incremental() {
      // Groups are kept between syncs; only groups that gained or lost a block are re-checked.
      // Members are the blocks' own metas (no copy) in an array: 8 bytes a block where a map
      // entry costs ~44, and a group that lost members is filtered once, in the same pass over
      // the group that re-checks it.
      const groups = new Map<string, BlockMeta[]>();
      const dups = new Map<string, readonly string[]>();
      const recheck = (k: string, gone: ReadonlySet<BlockMeta> | undefined): void => {
        let g = groups.get(k);
        if (g !== undefined && gone !== undefined) {
          g = g.filter((m) => !gone.has(m));
          groups.set(k, g);
        }
        if (g === undefined || g.length === 0) {
          groups.delete(k);
          dups.delete(k);
          return;
        }
        const found = g.length < 2 || g.every(ownSourceOnly) ? [] : [...findDuplicates(g).keys()];
        if (found.length > 0) dups.set(k, found);
        else dups.delete(k);
      };
      const emit = (ctx: FilterContext): void => {
        for (const ids of dups.values()) for (const id of ids) ctx.exclude(id, 'duplicate');
      };
      const add = (m: BlockMeta): string => {
        const k = keyOf(m);
        const g = groups.get(k);
        if (g === undefined) groups.set(k, [m]);
        else g.push(m);
        return k;
      };
      return {
        apply(metas, ctx) {
          groups.clear();
          dups.clear();
          metas.forEach((m) => add(m));
          for (const k of groups.keys()) recheck(k, undefined);
          emit(ctx);
        },
        update(metas, ctx, changes) {
          // Removed metas are the very objects the groups hold (changes.metaOf gives them back).
          const gone = new Map<string, Set<BlockMeta>>();
          const dirty = new Set<string>();
          for (const id of changes.removed) {
            const m = changes.metaOf(id);
            if (m === undefined) continue;
            const k = keyOf(m);
            let s = gone.get(k);
            if (s === undefined) gone.set(k, (s = new Set()));
            s.add(m);
            dirty.add(k);
          }
          // Added IDs are new since the last run (MetaChanges: a replaced meta makes a whole run).
          for (const id of changes.added) {
            const m = metas.get(id);
            if (m !== undefined) dirty.add(add(m));
          }
          for (const k of dirty) recheck(k, gone.get(k));
          emit(ctx);
        },
      };
    },
  };
}

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Blocks whose only source is themselves cannot be duplicates among themselves (findDuplicates'
 * own first check), and a packed meta says so without building its sources.
 */
function ownSourceOnly(m: BlockMeta): boolean {
  return m instanceof PackedMeta ? m.hasOwnSourceOnly() || isOwnSource(m) : isOwnSource(m);
}
