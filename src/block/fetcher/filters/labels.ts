/**
 * Keeps blocks whose external labels (thanos.labels) satisfy every matcher, with Prometheus
 * semantics: a missing label matches as the empty string. Matchers come from
 * tsdb/index/matchers (newMatcher or parseSelector), so regexes follow RE2.
 */
import type { Matcher } from '../../../tsdb/index/matchers.js';
import type { BlockMeta } from '../../../tsdb/meta.js';
import type { FilterState, MetaFilter } from '../types.js';
import { perBlockIncremental } from './incremental.js';

export function labelMatcherFilter(matchers: readonly Matcher[]): MetaFilter {
  const hides = (m: BlockMeta): FilterState | undefined => {
    const labels = m.thanos?.labels ?? {};
    for (const mt of matchers) if (!mt.matches(labels[mt.name] ?? '')) return 'label-excluded';
    return undefined;
  };
  return {
    name: 'label-matchers',
    apply(metas, ctx) {
      if (matchers.length === 0) return;
      metas.forEach((m, id) => {
        const st = hides(m);
        if (st !== undefined) ctx.exclude(id, st);
      });
    },
    incremental: () => perBlockIncremental(hides),
  };
}
