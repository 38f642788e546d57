/** Runs a filter chain over one tenant's metas and collects what each filter hid or flagged. */
import type { BlockMeta } from '../../../tsdb/meta.js';
import type { DeletionMark, NoCompactMark } from '../../../tsdb/markers.js';
import type { FilterContext, FilterState, MetaFilter } from '../types.js';
import { FilteredMetas } from './view.js';

export interface FilterInput {
  readonly tenant: string;
  readonly nowMs: number;
  readonly deletionMarks: ReadonlyMap<string, DeletionMark>;
  readonly noCompactMarks: ReadonlyMap<string, NoCompactMark>;
}

export interface FilterOutput {
  /** The visible blocks: a view of the input minus `excluded` (the input is never modified). */
  readonly metas: ReadonlyMap<string, BlockMeta>;
  readonly excluded: Map<string, FilterState>;
  readonly noCompact: Set<string>;
}

/**
 * The input map must not change while the output is in use: the fetcher hands out maps it no
 * longer modifies (it copies before the next change).
 */
export function applyFilters(
  metas: ReadonlyMap<string, BlockMeta>,
  filters: readonly MetaFilter[],
  input: FilterInput,
): FilterOutput {
  const excluded = new Map<string, FilterState>();
  const out = new FilteredMetas(metas, excluded);
  const noCompact = new Set<string>();
  const ctx: FilterContext = {
    tenant: input.tenant,
    nowMs: input.nowMs,
    deletionMarks: input.deletionMarks,
    noCompactMarks: input.noCompactMarks,
    exclude(id, state) {
      if (out.has(id)) excluded.set(id, state);
    },
    flagNoCompact(id) {
      if (out.has(id)) noCompact.add(id);
    },
  };
  for (const f of filters) f.apply(out, ctx);
  // A block flagged before a later filter hid it is not visible, so not flagged either.
  for (const id of noCompact) if (!out.has(id)) noCompact.delete(id);
  return { metas: out, excluded, noCompact };
}
