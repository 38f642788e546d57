/** Pure logic of the querier: group kinds and keys, store selection, the hedge order, merge pass-through. */
import { describe, expect, it } from 'vitest';
import { PeerType } from '../../gen/thanos/info/infopb/rpc_pb.js';
import {
  groupKey,
  groupKind,
  groupMatches,
  groupName,
  hedgeOrder,
  type EndpointInfo,
} from '../../src/query/groups.js';
import { mergeSeriesLists, type QSeries } from '../../src/query/merge.js';
import { newMatcher } from '../../src/tsdb/index/matchers.js';
import { labelsFromRecord } from '../../src/tsdb/labels.js';

const info = (o: Partial<EndpointInfo>): EndpointInfo => ({
  labelSets: [],
  minTime: 0,
  maxTime: 100,
  componentType: 'store',
  groupId: '',
  peerType: PeerType.UNSPECIFIED,
  ...o,
});

describe('groups', () => {
  it('no group id or peer type SOURCE/unspecified is a source; STORE and QUERY are replica groups', () => {
    expect(groupKind(info({ peerType: PeerType.STORE }))).toBe('source');
    expect(groupKind(info({ groupId: 'g', peerType: PeerType.STORE }))).toBe('replica');
    expect(groupKind(info({ groupId: 'g', peerType: PeerType.QUERY }))).toBe('replica');
    expect(groupKind(info({ groupId: 'g', peerType: PeerType.SOURCE }))).toBe('source');
    expect(groupKind(info({ groupId: 'g' }))).toBe('source');
  });

  it('keys ignore label set order; names show the id and label sets', () => {
    const a = info({ groupId: 'g', labelSets: [labelsFromRecord({ a: '1' }), labelsFromRecord({ a: '2' })] });
    const b = info({ groupId: 'g', labelSets: [labelsFromRecord({ a: '2' }), labelsFromRecord({ a: '1' })] });
    expect(groupKey(a)).toBe(groupKey(b));
    expect(groupKey(a)).not.toBe(groupKey({ ...a, groupId: 'h' }));
    expect(groupName(b)).toBe('g {a="1"},{a="2"}');
    expect(groupName(info({}))).toBe('source {}');
  });

  it('selects by time overlap and by matchers on external labels', () => {
    const g = { labelSets: [labelsFromRecord({ cluster: 'x' })], minTime: 10, maxTime: 20 };
    expect(groupMatches(g, 0, 9, [])).toBe(false);
    expect(groupMatches(g, 21, 30, [])).toBe(false);
    expect(groupMatches(g, 20, 30, [])).toBe(true);
    expect(groupMatches(g, 0, 30, [newMatcher('=', 'cluster', 'y')])).toBe(false);
    expect(groupMatches(g, 0, 30, [newMatcher('=~', 'cluster', 'x|y')])).toBe(true);
    expect(groupMatches(g, 0, 30, [newMatcher('=', 'job', 'a')])).toBe(true);
    expect(groupMatches({ ...g, labelSets: [] }, 0, 30, [newMatcher('=', 'cluster', 'y')])).toBe(true);
  });

  it('hedge order: two random healthy members first (lower latency first), unhealthy last', () => {
    const m = (
      id: string,
      healthy: boolean,
      latencyMs?: number,
    ): { id: string; healthy: boolean; latencyMs: number | undefined } => ({
      id,
      healthy,
      latencyMs,
    });
    const members = [m('sick', false), m('a', true, 50), m('b', true, 5), m('c', true, 1)];
    // A fixed sequence of random numbers: every pair of healthy members comes up over many draws.
    let seed = 1;
    const random = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const firsts = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const o = hedgeOrder(members, random);
      expect(o).toHaveLength(4);
      expect(o[3]!.id).toBe('sick');
      expect(o[0]!.latencyMs!).toBeLessThanOrEqual(o[1]!.latencyMs!);
      firsts.add(`${o[0]!.id}${o[1]!.id}`);
    }
    expect([...firsts].sort()).toEqual(['ba', 'ca', 'cb']);
    // With fewer than two healthy members, unhealthy ones fill the pair.
    expect(hedgeOrder([m('x', false), m('y', true)], Math.random).map((x) => x.id)).toEqual(['y', 'x']);
  });
});

describe('merge', () => {
  it('passes a series from one answer through untouched and re-sorts after replica label removal', () => {
    const chunk = { minTime: 1, maxTime: 2, type: 0, data: Uint8Array.of(0, 0) };
    const s = (r: Record<string, string>): QSeries => ({ labels: labelsFromRecord(r), chunks: [chunk] });
    const out = mergeSeriesLists(
      [[s({ a: '1', replica: 'x', z: '1' }), s({ a: '1', replica: 'y', z: '0' })]],
      { replicaLabels: ['replica'], func: 'penalty' },
    );
    expect(out.map((x) => x.labels.map((l) => l.value).join())).toEqual(['1,0', '1,1']);
    expect(out[0]!.chunks[0]).toBe(chunk);
  });
});
