/**
 * Incremental filtering (warm syncs) must answer exactly what a whole re-filter answers: random
 * blocks added and deleted, the clock moving, marks appearing and going, metas replaced; after
 * every step the incremental chain and applyFilters over the same state are compared.
 */
import { describe, expect, test } from 'vitest';
import {
  applyFilters,
  consistencyDelayFilter,
  deletionMarkFilter,
  duplicateFilter,
  labelMatcherFilter,
  noCompactFilter,
  timeRangeFilter,
  type FilterOutput,
  type MetaFilter,
} from '../../../src/block/fetcher/index.js';
import { IncrementalFilters } from '../../../src/block/fetcher/filters/incremental.js';
import { PackedMeta } from '../../../src/block/fetcher/packed-meta.js';
import { TenantState } from '../../../src/block/fetcher/tenant-state.js';
import { newMatcher } from '../../../src/tsdb/index/matchers.js';
import type { DeletionMark, NoCompactMark } from '../../../src/tsdb/markers.js';
import type { BlockMeta } from '../../../src/tsdb/meta.js';
import { seededRandom } from '../../../src/tsdb/ulid.js';
import { H, T0, mkMeta, ulidAt } from './helpers.js';

function chain(): MetaFilter[] {
  return [
    labelMatcherFilter([newMatcher('!=', 'cluster', 'excluded')]),
    timeRangeFilter({ minTime: T0 - 400 * H }),
    consistencyDelayFilter({ delayMs: 30 * 60_000 }),
    deletionMarkFilter({ delayMs: 2 * H }),
    duplicateFilter({ replicaLabels: ['replica'] }),
    noCompactFilter(),
  ];
}

function answer(o: FilterOutput): { visible: string[]; excluded: [string, string][]; noCompact: string[] } {
  return {
    visible: [...o.metas.keys()].sort(),
    excluded: [...o.excluded].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
    noCompact: [...o.noCompact].sort(),
  };
}

describe('incremental filters', () => {
  test.each([1, 2, 3, 4, 5, 6])('equal a whole re-filter on random changes (seed %i)', (seed) => {
    const rnd = seededRandom(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const filters = chain();
    const st = new TenantState('t');
    const run = new IncrementalFilters(filters);
    const deletion = new Map<string, DeletionMark>();
    const noCompact = new Map<string, NoCompactMark>();
    let now = T0;
    let seq = 0;
    let incrementalRuns = 0;
    const newBlock = (): void => {
      // Minted a little before now, upload times around the consistency delay.
      const id = ulidAt(now - Math.floor(rnd() * 4 * H), ++seq);
      const known = [...st.metas.keys()];
      const compacted = known.length > 3 && rnd() < 0.25;
      const sources = compacted
        ? [...new Set(Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(known)))]
        : undefined;
      const upload = new Date(now - Math.floor(rnd() * 90 * 60_000) + 10 * 60_000).toISOString();
      st.setMeta(
        id,
        mkMeta(id, {
          minTime: now - Math.floor(rnd() * 800) * H,
          ...(sources !== undefined ? { sources, level: 2 } : {}),
          labels: { cluster: pick(['eu1', 'us1', 'excluded']), replica: pick(['a', 'b']) },
          resolution: pick([0, 0, 300_000]),
          source: compacted ? 'compactor' : 'sidecar',
          ...(rnd() < 0.8 ? { uploadTime: upload } : {}),
        }),
      );
    };
    for (let i = 0; i < 60; i++) newBlock();
    for (let step = 0; step < 80; step++) {
      const ids = [...st.metas.keys()];
      const r = rnd();
      if (r < 0.35) for (let i = 0, n = 1 + Math.floor(rnd() * 8); i < n; i++) newBlock();
      else if (r < 0.5 && ids.length > 0)
        for (let i = 0, n = 1 + Math.floor(rnd() * 4); i < n; i++) st.drop(pick(ids));
      else if (r < 0.6 && ids.length > 0) {
        const id = pick(ids);
        deletion.set(id, {
          kind: 'deletion',
          id,
          version: 1,
          deletionTime: Math.floor((now - rnd() * 4 * H) / 1000),
        });
      } else if (r < 0.65 && deletion.size > 0) deletion.delete(pick([...deletion.keys()]));
      else if (r < 0.72 && ids.length > 0) {
        const id = pick(ids);
        noCompact.set(id, { kind: 'no-compact', id, version: 1, noCompactTime: 0, reason: 'manual' });
      } else if (r < 0.75 && noCompact.size > 0) noCompact.delete(pick([...noCompact.keys()]));
      else if (r < 0.78 && ids.length > 0) {
        // The same block with another meta object (and another upload time).
        const id = pick(ids);
        const old = JSON.parse(JSON.stringify(st.metas.get(id)!)) as BlockMeta;
        st.setMeta(id, { ...old, thanos: { ...old.thanos!, upload_time: new Date(now).toISOString() } });
      }
      if (rnd() < 0.6) now += Math.floor(rnd() * 20 * 60_000);
      // A deleted block's marks go with it, as in the fetcher.
      for (const id of deletion.keys()) if (!st.metas.has(id)) deletion.delete(id);
      for (const id of noCompact.keys()) if (!st.metas.has(id)) noCompact.delete(id);
      const input = { tenant: 't', nowMs: now, deletionMarks: deletion, noCompactMarks: noCompact };
      const changes = st.takeChanges();
      if (changes !== undefined) incrementalRuns++;
      const got = run.run(st.shareMetas(), input, changes);
      // The state keeps packed metas (rows of its table), which some filters read without
      // building their sections: the whole re-filter runs on plain copies.
      const plain = new Map([...st.metas].map(([id, m]) => [id, JSON.parse(JSON.stringify(m)) as BlockMeta]));
      const want = applyFilters(plain, filters, input);
      expect(answer(got)).toStrictEqual(answer(want));
    }
    // Most runs took the incremental path (the rest: the first, replaced metas, big changes).
    expect(incrementalRuns).toBeGreaterThan(50);
    expect([...st.metas.values()].every((m) => m instanceof PackedMeta)).toBe(true);
  });
});
