/**
 * Keeps blocks overlapping [minTime, maxTime] (Thanos TimePartitionMetaFilter, same inclusive
 * comparison on both ends).
 */
import { InvalidArgumentError } from '../../../util/errors.js';
import type { BlockMeta } from '../../../tsdb/meta.js';
import type { FilterState, MetaFilter } from '../types.js';
import { perBlockIncremental } from './incremental.js';

export interface TimeRangeFilterOptions {
  /** ms since the epoch; default: no lower bound. */
  readonly minTime?: number;
  /** ms since the epoch; default: no upper bound. */
  readonly maxTime?: number;
}

export function timeRangeFilter(options: TimeRangeFilterOptions): MetaFilter {
  const min = options.minTime ?? -Infinity;
  const max = options.maxTime ?? Infinity;
  if (min > max) throw new InvalidArgumentError(`time range filter: minTime ${min} > maxTime ${max}`);
  const hides = (m: BlockMeta): FilterState | undefined =>
    m.maxTime >= min && m.minTime <= max ? undefined : 'time-excluded';
  return {
    name: 'time-range',
    apply(metas, ctx) {
      metas.forEach((m, id) => {
        const st = hides(m);
        if (st !== undefined) ctx.exclude(id, st);
      });
    },
    incremental: () => perBlockIncremental(hides),
  };
}
