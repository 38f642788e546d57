import { describe, expect, it } from 'vitest';
import { findDuplicates } from './duplicates.js';
import { mkBlock, ulidOf } from '../../test/support/plan-fixtures.js';

/** Blocks from `{id: sources}`; times do not matter for duplicates. */
function blocks(spec: Record<number, number[]>) {
  return Object.entries(spec).map(([id, sources], i) =>
    mkBlock({ id: Number(id), min: i * 10, max: i * 10 + 10, sources }),
  );
}

function kept(spec: Record<number, number[]>): string[] {
  const bs = blocks(spec);
  const dups = findDuplicates(bs);
  return bs
    .map((b) => b.ulid)
    .filter((u) => !dups.has(u))
    .sort();
}

const ids = (...n: number[]): string[] => n.map((x) => ulidOf(x)).sort();

// Cases from Thanos pkg/block TestDeduplicateFilter_Filter (single resolution).
describe('findDuplicates', () => {
  it('keeps a compacted block over its sources', () => {
    expect(kept({ 1: [1], 2: [2], 3: [3], 4: [1, 2, 3], 6: [6] })).toEqual(ids(4, 6));
    expect(kept({ 6: [6], 4: [1, 3, 2], 5: [5] })).toEqual(ids(4, 5, 6));
  });

  it('keeps the smaller ULID of two blocks with the same sources', () => {
    expect(kept({ 5: [5], 6: [6], 3: [1, 2], 4: [1, 2] })).toEqual(ids(3, 5, 6));
    expect(kept({ 8: [1, 3, 2, 4], 1: [1], 5: [1, 2], 6: [1, 3, 2, 4], 7: [3, 1, 2] })).toEqual(ids(6));
  });

  it('drops blocks whose sources are a subset, keeps partially overlapping ones', () => {
    expect(kept({ 4: [1, 2], 6: [6], 5: [1, 3, 2] })).toEqual(ids(5, 6));
    expect(kept({ 10: [1, 2, 6, 7], 1: [1], 11: [6, 8, 1, 2] })).toEqual(ids(10, 11));
    expect(kept({ 10: [6, 7, 1, 2], 1: [1], 5: [1, 2], 11: [2, 3, 1] })).toEqual(ids(10, 11));
    expect(
      kept({
        10: [1, 2, 3],
        11: [6, 4, 5],
        14: [14],
        1: [1],
        13: [1, 6, 2, 3, 5, 7, 4, 8, 9],
        12: [7, 9, 8],
      }),
    ).toEqual(ids(13, 14));
  });

  it('reports which block covers each duplicate', () => {
    const res = findDuplicates(blocks({ 1: [1], 2: [2], 4: [1, 2] }));
    expect([...res].sort()).toEqual([
      [ulidOf(1), ulidOf(4)],
      [ulidOf(2), ulidOf(4)],
    ]);
  });

  it('treats an empty sources list as the block itself (Thanos would delete it)', () => {
    const b = mkBlock({ id: 9, min: 0, max: 10, sources: [] });
    const other = mkBlock({ id: 4, min: 0, max: 10, sources: [1, 2] });
    expect(b.compaction.sources).toEqual([]);
    expect(findDuplicates([b, other]).size).toBe(0);
  });
});
