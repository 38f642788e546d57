import { describe, expect, it } from 'vitest';
import { mkBlock } from '../../test/support/plan-fixtures.js';
import { groupBlocks } from './group.js';
import { groupKey, groupLabels } from '../tsdb/group-key.js';
import { StrataError } from '../util/errors.js';

describe('groupKey', () => {
  // Thanos pkg/compact TestGroupKey.
  it('is Thanos-compatible', () => {
    expect(groupKey(0, {})).toBe('0@17241709254077376921');
    expect(groupKey(0, { foo: 'bar', foo1: 'bar2' })).toBe('0@2124638872457683483');
    expect(groupKey(0, { foo1: 'bar2', foo: 'bar' })).toBe('0@2124638872457683483');
    expect(groupKey(1000, {})).toBe('1000@17241709254077376921');
  });
});

describe('groupLabels', () => {
  it('drops replica labels and keeps the rest sorted', () => {
    expect(groupLabels({ replica: 'a', env: 'prod', cluster: 'eu' }, ['replica'])).toEqual({
      cluster: 'eu',
      env: 'prod',
    });
    expect(Object.keys(groupLabels({ b: '1', a: '2' }, []))).toEqual(['a', 'b']);
  });

  it('gives a label-less result the first replica label = "deduped", like Thanos', () => {
    expect(groupLabels({ replica: 'a' }, ['replica', 'rule_replica'])).toEqual({ replica: 'deduped' });
    expect(groupLabels({}, ['replica'])).toEqual({ replica: 'deduped' });
    expect(groupLabels({}, [])).toEqual({});
  });
});

describe('groupBlocks', () => {
  it('puts two replicas of one source into one group, sorted by time', () => {
    const groups = groupBlocks(
      [
        mkBlock({ id: 3, min: 20, max: 40, labels: { cluster: 'eu', replica: 'b' } }),
        mkBlock({ id: 1, min: 0, max: 20, labels: { cluster: 'eu', replica: 'a' } }),
        mkBlock({ id: 2, min: 0, max: 20, labels: { cluster: 'eu', replica: 'b' } }),
      ],
      ['replica'],
    );
    expect(groups).toHaveLength(1);
    const g = groups[0]!;
    expect(g.labels).toEqual({ cluster: 'eu' });
    expect(g.labelString).toBe('{cluster="eu"}');
    expect(g.key).toBe(groupKey(0, { cluster: 'eu' }));
    expect(g.blocks.map((b) => b.minTime)).toEqual([0, 0, 20]);
    // Same minTime: ordered by ULID.
    expect(g.blocks[0]!.ulid < g.blocks[1]!.ulid).toBe(true);
  });

  it('keeps replicas apart without replica labels', () => {
    const blocks = [
      mkBlock({ id: 1, min: 0, max: 20, labels: { replica: 'a' } }),
      mkBlock({ id: 2, min: 0, max: 20, labels: { replica: 'b' } }),
    ];
    expect(groupBlocks(blocks, [])).toHaveLength(2);
  });

  it('never mixes resolutions or tenants', () => {
    const groups = groupBlocks(
      [
        mkBlock({ id: 1, min: 0, max: 20, tenant: 't1' }),
        mkBlock({ id: 2, min: 0, max: 20, tenant: 't1', resolution: 300_000 }),
        mkBlock({ id: 3, min: 0, max: 20, tenant: 't2' }),
        mkBlock({ id: 4, min: 20, max: 40, tenant: 't1' }),
      ],
      [],
    );
    expect(groups.map((g) => [g.tenant, g.key, g.blocks.length])).toEqual([
      ['t1', '0@17241709254077376921', 2],
      ['t1', '300000@17241709254077376921', 1],
      ['t2', '0@17241709254077376921', 1],
    ]);
  });

  it('treats blocks without a thanos section as raw data with no labels', () => {
    const b = mkBlock({ id: 1, min: 0, max: 20 });
    const { thanos: _drop, ...plain } = b;
    const groups = groupBlocks([plain, mkBlock({ id: 2, min: 20, max: 40 })], []);
    expect(groups).toHaveLength(1);
  });

  it('rejects a ULID listed twice in a group', () => {
    const b = mkBlock({ id: 1, min: 0, max: 20 });
    expect(() => groupBlocks([b, b], [])).toThrow(StrataError);
    expect(() => groupBlocks([b, { ...b, tenant: 'other' }], [])).not.toThrow();
  });
});
