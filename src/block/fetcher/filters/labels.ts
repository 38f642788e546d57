/**
 * Keeps blocks whose external labels (thanos.labels) satisfy every matcher, with Prometheus
 * semantics: a missing label matches as the empty string. Matchers come from
 * tsdb/index/matchers (newMatcher or parseSelector), so regexes follow RE2.
 */
import type { Matcher } from '../../../tsdb/index/matchers.js';
import type { MetaFilter } from '../types.js';

export function labelMatcherFilter(matchers: readonly Matcher[]): MetaFilter {
  return {
    name: 'label-matchers',
    apply(metas, ctx) {
      if (matchers.length === 0) return;
      metas.forEach((m, id) => {
        const labels = m.thanos?.labels ?? {};
        for (const mt of matchers) {
          if (!mt.matches(labels[mt.name] ?? '')) {
            ctx.exclude(id, 'label-excluded');
            return;
          }
        }
      });
    },
  };
}
