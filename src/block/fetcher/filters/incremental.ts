/**
 * Runs a tenant's filter chain again after a sync from what changed since the previous run: each
 * filter with an incremental state (MetaFilter.incremental) gets the IDs added to and removed
 * from its input, and the chain passes on the difference of what each filter hid. Filters without
 * one run whole on their input. The output equals applyFilters on the same input (tested on
 * random changes in test/block/fetcher/incremental-filters.test.ts).
 */
import type { BlockMeta } from '../../../tsdb/meta.js';
import type { FilterContext, FilterState, IncrementalMetaFilter, MetaFilter } from '../types.js';
import type { FilterInput, FilterOutput } from './apply.js';
import { FilteredMetas } from './view.js';

/** What changed in the metas since the previous run (disjoint sets). */
export interface MetaChanges {
  /** IDs set since then (present now). */
  readonly added: ReadonlySet<string>;
  /** IDs deleted since then, with the meta they had. */
  readonly removed: ReadonlyMap<string, BlockMeta>;
}

export class IncrementalFilters {
  readonly #filters: readonly MetaFilter[];
  readonly #steps: (IncrementalMetaFilter | undefined)[];
  /** Per filter, what it hid in the previous run; undefined before the first complete run. */
  #prevHidden: Map<string, FilterState>[] | undefined;

  constructor(filters: readonly MetaFilter[]) {
    this.#filters = filters;
    this.#steps = filters.map((f) => f.incremental?.());
  }

  /**
   * `changes`: what changed in `metas` since the previous call, or undefined when unknown (every
   * filter then runs whole). The map must not change while the output is in use.
   */
  run(
    metas: ReadonlyMap<string, BlockMeta>,
    input: FilterInput,
    changes: MetaChanges | undefined,
  ): FilterOutput {
    const prev = changes === undefined ? undefined : this.#prevHidden;
    this.#prevHidden = undefined;
    const excluded = new Map<string, FilterState>();
    const out = new FilteredMetas(metas, excluded);
    const noCompact = new Set<string>();
    const hiddenNow: Map<string, FilterState>[] = [];
    let added: Set<string> = new Set(changes?.added ?? []);
    let removed: Set<string> = new Set(changes?.removed.keys() ?? []);
    const metaOf = (id: string): BlockMeta | undefined => changes?.removed.get(id) ?? metas.get(id);
    for (let i = 0; i < this.#filters.length; i++) {
      const hidden = new Map<string, FilterState>();
      const ctx: FilterContext = {
        tenant: input.tenant,
        nowMs: input.nowMs,
        deletionMarks: input.deletionMarks,
        noCompactMarks: input.noCompactMarks,
        exclude(id, state) {
          if (out.has(id)) {
            excluded.set(id, state);
            hidden.set(id, state);
          }
        },
        flagNoCompact(id) {
          if (out.has(id)) noCompact.add(id);
        },
      };
      const step = this.#steps[i];
      if (step === undefined) this.#filters[i]!.apply(out, ctx);
      else if (prev === undefined) step.apply(out, ctx);
      else step.update(out, ctx, { added, removed, metaOf });
      if (prev !== undefined) {
        // The next filter's input is this one's minus what it hid: pass on the difference.
        const before = prev[i]!;
        const nextAdded = new Set<string>();
        const nextRemoved = new Set<string>();
        for (const id of added) if (!hidden.has(id)) nextAdded.add(id);
        for (const id of before.keys()) if (!hidden.has(id) && !removed.has(id)) nextAdded.add(id);
        for (const id of removed) if (!before.has(id)) nextRemoved.add(id);
        for (const id of hidden.keys()) if (!before.has(id) && !added.has(id)) nextRemoved.add(id);
        added = nextAdded;
        removed = nextRemoved;
      }
      hiddenNow.push(hidden);
    }
    // A block flagged before a later filter hid it is not visible, so not flagged either.
    for (const id of noCompact) if (!out.has(id)) noCompact.delete(id);
    this.#prevHidden = hiddenNow;
    return { metas: out, excluded, noCompact };
  }
}

/**
 * The incremental state of a filter that decides each block on its own meta alone (time range,
 * labels): only added blocks are looked at.
 */
export function perBlockIncremental(hides: (m: BlockMeta) => FilterState | undefined): IncrementalMetaFilter {
  const hidden = new Map<string, FilterState>();
  const emit = (ctx: FilterContext): void => {
    for (const [id, st] of hidden) ctx.exclude(id, st);
  };
  return {
    apply(metas, ctx) {
      hidden.clear();
      metas.forEach((m, id) => {
        const st = hides(m);
        if (st !== undefined) hidden.set(id, st);
      });
      emit(ctx);
    },
    update(metas, ctx, changes) {
      for (const id of changes.removed) hidden.delete(id);
      for (const id of changes.added) {
        const m = metas.get(id);
        const st = m === undefined ? undefined : hides(m);
        if (st !== undefined) hidden.set(id, st);
      }
      emit(ctx);
    },
  };
}
