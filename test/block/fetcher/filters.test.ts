import { describe, expect, test } from 'vitest';
import type { DeletionMark, NoCompactMark } from '../../../src/tsdb/markers.js';
import {
  applyFilters,
  consistencyDelayFilter,
  defaultCompactorFilters,
  deletionMarkFilter,
  duplicateFilter,
  labelMatcherFilter,
  noCompactFilter,
  timeRangeFilter,
  type MetaFilter,
} from '../../../src/block/fetcher/index.js';
import { newMatcher, parseSelector } from '../../../src/tsdb/index/matchers.js';
import type { BlockMeta } from '../../../src/tsdb/meta.js';
import { H, T0, mkMeta, ulidAt, type MetaSpec } from './helpers.js';

const NOW = T0 + 1000 * H;

function metas(...ms: BlockMeta[]): Map<string, BlockMeta> {
  return new Map(ms.map((m) => [m.ulid, m]));
}

function block(seq: number, spec: MetaSpec & { at?: number } = {}): BlockMeta {
  return mkMeta(ulidAt(spec.at ?? T0 + seq * H, seq), spec);
}

function run(
  filters: MetaFilter[],
  input: Map<string, BlockMeta>,
  marks: { deletion?: DeletionMark[]; noCompact?: NoCompactMark[] } = {},
): ReturnType<typeof applyFilters> {
  return applyFilters(input, filters, {
    tenant: 't',
    nowMs: NOW,
    deletionMarks: new Map((marks.deletion ?? []).map((m) => [m.id, m])),
    noCompactMarks: new Map((marks.noCompact ?? []).map((m) => [m.id, m])),
  });
}

const delMark = (id: string, ms: number): DeletionMark => ({
  kind: 'deletion',
  id,
  version: 1,
  deletionTime: Math.floor(ms / 1000),
});

describe('deletion-mark filter', () => {
  test('hides blocks marked longer ago than the delay, keeps fresher marks visible', () => {
    const a = block(1);
    const b = block(2);
    const c = block(3);
    const out = run([deletionMarkFilter({ delayMs: 2 * H })], metas(a, b, c), {
      deletion: [
        delMark(a.ulid, NOW - 3 * H),
        delMark(b.ulid, NOW - H),
        delMark('01ARZ3NDEKTSV4RRFFQ69G5FAV', 0),
      ],
    });
    expect([...out.metas.keys()]).toEqual([b.ulid, c.ulid]);
    expect(out.excluded.get(a.ulid)).toBe('marked-for-deletion');
  });

  test('delay 0 hides every marked block', () => {
    const a = block(1);
    const out = run([deletionMarkFilter({ delayMs: 0 })], metas(a), {
      deletion: [delMark(a.ulid, NOW - 1000)],
    });
    expect(out.metas.size).toBe(0);
  });
});

describe('consistency-delay filter', () => {
  const f = consistencyDelayFilter({ delayMs: 30 * 60_000 });

  test('hides blocks minted within the delay (no upload_time)', () => {
    const old = block(1, { at: NOW - H });
    const fresh = block(2, { at: NOW - 10 * 60_000 });
    const out = run([f], metas(old, fresh));
    expect([...out.metas.keys()]).toEqual([old.ulid]);
    expect(out.excluded.get(fresh.ulid)).toBe('too-fresh');
  });

  test('upload_time wins over the ULID time', () => {
    const late = block(1, { at: NOW - 10 * H, uploadTime: new Date(NOW - 5 * 60_000).toISOString() });
    const nano = block(2, { at: NOW - 10 * H, uploadTime: '2023-11-09T00:00:00.123456789Z' });
    const out = run([f], metas(late, nano));
    expect([...out.metas.keys()]).toEqual([nano.ulid]);
  });

  test('compactor and repair outputs are never hidden', () => {
    const ms = ['compactor', 'compactor.repair', 'bucket.repair', 'receive'].map((source, i) =>
      block(i + 1, { at: NOW - 60_000, source }),
    );
    const out = run([f], metas(...ms));
    expect(out.metas.size).toBe(3);
    expect(out.excluded.get(ms[3]!.ulid)).toBe('too-fresh');
  });
});

describe('duplicate filter', () => {
  test('a block whose sources are covered by another block in the group is hidden', () => {
    const a = block(1);
    const b = block(2);
    const c = block(3, { level: 2, sources: [a.ulid, b.ulid] });
    const d = block(4);
    const out = run([duplicateFilter()], metas(a, b, c, d));
    expect([...out.metas.keys()].sort()).toEqual([c.ulid, d.ulid].sort());
    expect(out.excluded.get(a.ulid)).toBe('duplicate');
    expect(out.excluded.get(b.ulid)).toBe('duplicate');
  });

  test('equal source sets keep the older ULID (Thanos choice)', () => {
    const src = ulidAt(T0, 99);
    const older = block(1, { sources: [src] });
    const newer = block(2, { sources: [src] });
    const out = run([duplicateFilter()], metas(newer, older));
    expect([...out.metas.keys()]).toEqual([older.ulid]);
  });

  test('a rewritten copy whose only source is the original block hides the original (older ULID kept)', () => {
    const original = block(1);
    const copy = block(2, { sources: [original.ulid] });
    const out = run([duplicateFilter()], metas(copy, original));
    expect([...out.metas.keys()]).toEqual([original.ulid]);
    expect(out.excluded.get(copy.ulid)).toBe('duplicate');
  });

  test('only within a compaction group; replica labels can be ignored for grouping', () => {
    const a = block(1, { labels: { cluster: 'eu1', replica: 'a' } });
    const c = block(2, { level: 2, sources: [a.ulid], labels: { cluster: 'eu1', replica: 'b' } });
    const other = block(3, { level: 2, sources: [a.ulid], labels: { cluster: 'eu1' }, resolution: 300_000 });
    expect(run([duplicateFilter()], metas(a, c, other)).metas.size).toBe(3);
    const out = run([duplicateFilter({ replicaLabels: ['replica'] })], metas(a, c, other));
    // c and a share sources and the group: c (larger ULID, equal sets) is the duplicate.
    expect([...out.metas.keys()].sort()).toEqual([a.ulid, other.ulid].sort());
  });

  test('an empty sources list is the block itself, not a subset of everything', () => {
    const empty = block(1, { sources: [] });
    const big = block(2, { level: 2, sources: [ulidAt(T0, 7), ulidAt(T0, 8)] });
    expect(run([duplicateFilter()], metas(empty, big)).metas.size).toBe(2);
  });
});

describe('no-compact filter', () => {
  test('flags marked blocks and keeps them visible', () => {
    const a = block(1);
    const b = block(2);
    const mark: NoCompactMark = {
      kind: 'no-compact',
      id: a.ulid,
      version: 1,
      noCompactTime: 1,
      reason: 'manual',
    };
    const out = run([noCompactFilter()], metas(a, b), { noCompact: [mark] });
    expect(out.metas.size).toBe(2);
    expect([...out.noCompact]).toEqual([a.ulid]);
  });

  test('a block hidden by a later filter is not flagged', () => {
    const a = block(1);
    const c = block(2, { level: 2, sources: [a.ulid, ulidAt(T0, 5)] });
    const mark: NoCompactMark = {
      kind: 'no-compact',
      id: a.ulid,
      version: 1,
      noCompactTime: 1,
      reason: 'manual',
    };
    const out = run([noCompactFilter(), duplicateFilter()], metas(a, c), { noCompact: [mark] });
    expect(out.noCompact.size).toBe(0);
  });
});

describe('time-range filter', () => {
  test('keeps blocks overlapping [min, max], inclusive on both ends', () => {
    const a = block(1, { minTime: 0, maxTime: 100 });
    const b = block(2, { minTime: 100, maxTime: 200 });
    const c = block(3, { minTime: 300, maxTime: 400 });
    const d = block(4, { minTime: 201, maxTime: 299 });
    const out = run([timeRangeFilter({ minTime: 100, maxTime: 300 })], metas(a, b, c, d));
    expect([...out.metas.keys()]).toEqual([a.ulid, b.ulid, c.ulid, d.ulid]);
    const out2 = run([timeRangeFilter({ minTime: 101, maxTime: 299 })], metas(a, b, c, d));
    expect([...out2.metas.keys()]).toEqual([b.ulid, d.ulid]);
    expect(out2.excluded.get(a.ulid)).toBe('time-excluded');
  });

  test('rejects an empty range', () => {
    expect(() => timeRangeFilter({ minTime: 2, maxTime: 1 })).toThrow(/minTime/);
  });
});

describe('label matcher filter', () => {
  test('every matcher must hold; a missing label reads as empty', () => {
    const eu = block(1, { labels: { cluster: 'eu1', env: 'prod' } });
    const us = block(2, { labels: { cluster: 'us1', env: 'prod' } });
    const bare = block(3, { labels: { cluster: 'eu2' } });
    const sel = parseSelector('{cluster=~"eu.*", env!="dev"}');
    expect([...run([labelMatcherFilter(sel)], metas(eu, us, bare)).metas.keys()]).toEqual([
      eu.ulid,
      bare.ulid,
    ]);
    const needEnv = [newMatcher('=', 'env', '')];
    const out = run([labelMatcherFilter(needEnv)], metas(eu, us, bare));
    expect([...out.metas.keys()]).toEqual([bare.ulid]);
    expect(out.excluded.get(eu.ulid)).toBe('label-excluded');
  });
});

describe('default compactor chain', () => {
  test('records the first filter that hid each block', () => {
    const fresh = block(1, { at: NOW - 60_000 });
    const marked = block(2, { at: NOW - 10 * H });
    const kept = block(3, { at: NOW - 10 * H });
    const out = run(defaultCompactorFilters({ deletionMarkDelayMs: H }), metas(fresh, marked, kept), {
      deletion: [delMark(marked.ulid, NOW - 2 * H)],
    });
    expect([...out.metas.keys()]).toEqual([kept.ulid]);
    expect(Object.fromEntries(out.excluded)).toEqual({
      [fresh.ulid]: 'too-fresh',
      [marked.ulid]: 'marked-for-deletion',
    });
  });
});
