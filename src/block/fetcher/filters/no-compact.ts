/**
 * Flags blocks with a no-compact mark (Thanos GatherNoCompactionMarkFilter). They stay visible:
 * the planner needs them to know what it must not touch, and queriers still read them.
 */
import type { MetaFilter } from '../types.js';

export function noCompactFilter(): MetaFilter {
  return {
    name: 'no-compact',
    apply(metas, ctx) {
      for (const id of ctx.noCompactMarks.keys()) if (metas.has(id)) ctx.flagNoCompact(id);
    },
  };
}
