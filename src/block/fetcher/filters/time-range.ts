/**
 * Keeps blocks overlapping [minTime, maxTime] (Thanos TimePartitionMetaFilter, same inclusive
 * comparison on both ends).
 */
import { InvalidArgumentError } from '../../../util/errors.js';
import type { MetaFilter } from '../types.js';

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
  return {
    name: 'time-range',
    apply(metas, ctx) {
      metas.forEach((m, id) => {
        if (!(m.maxTime >= min && m.minTime <= max)) ctx.exclude(id, 'time-excluded');
      });
    },
  };
}
