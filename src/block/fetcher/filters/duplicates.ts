/**
 * Hides duplicate blocks (Thanos DefaultDeduplicateFilter) within each compaction group: the
 * detector is tsdb/duplicates.ts, the group key tsdb/group-key.ts, both shared with the planner.
 */
import type { BlockMeta } from '../../../tsdb/meta.js';
import { findDuplicates } from '../../../tsdb/duplicates.js';
import { groupKey, groupLabels } from '../../../tsdb/group-key.js';
import type { MetaFilter } from '../types.js';

export interface DuplicateFilterOptions {
  /** External labels ignored for grouping (Thanos --deduplication.replica-label). */
  readonly replicaLabels?: readonly string[];
}

export function duplicateFilter(options: DuplicateFilterOptions = {}): MetaFilter {
  const replicaLabels = options.replicaLabels ?? [];
  // Keyed by the labels object: the fetcher shares one object per distinct label set, so this
  // hashes each label set once instead of once per block.
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
        for (const id of findDuplicates(g).keys()) ctx.exclude(id, 'duplicate');
      }
    },
  };
}

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});
