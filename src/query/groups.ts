/**
 * Store groups, pure logic: which endpoints form a group (sorted external label sets and
 * store_group_id), how a group is asked (replica groups: two random members, first full answer;
 * SOURCE groups: all members), whether a group can hold data for a request, and the member order
 * of a hedged request.
 */
import { PeerType } from '../../gen/thanos/info/infopb/rpc_pb.js';
import { compareLabels, formatLabels, type Labels } from '../tsdb/labels.js';
import type { Matcher } from '../tsdb/index/matchers.js';

/** What an endpoint's last Info call said. */
export interface EndpointInfo {
  readonly labelSets: readonly Labels[];
  readonly minTime: number;
  readonly maxTime: number;
  readonly componentType: string;
  readonly groupId: string;
  readonly peerType: PeerType;
}

/** replica: any one member's full answer is the answer; source: every member is asked. */
export type GroupKind = 'replica' | 'source';

export function groupKind(info: Pick<EndpointInfo, 'groupId' | 'peerType'>): GroupKind {
  // No group id: an older Thanos component, a source as the HA proposal says.
  if (info.groupId === '') return 'source';
  return info.peerType === PeerType.STORE || info.peerType === PeerType.QUERY ? 'replica' : 'source';
}

export function sortLabelSets(sets: readonly Labels[]): Labels[] {
  return [...sets].sort(compareLabels);
}

/** `{a="1"},{a="2"}`, or `{}` for none. */
export function formatLabelSets(sets: readonly Labels[]): string {
  return sets.length === 0 ? '{}' : sets.map(formatLabels).join(',');
}

/** The grouping key: kind, group id and the sorted label sets. */
export function groupKey(info: EndpointInfo): string {
  return JSON.stringify([groupKind(info), info.groupId, sortLabelSets(info.labelSets)]);
}

/** How a group is named in warnings, errors, metrics and the status page. */
export function groupName(info: EndpointInfo): string {
  const sets = formatLabelSets(sortLabelSets(info.labelSets));
  return info.groupId === '' ? `source ${sets}` : `${info.groupId} ${sets}`;
}

/**
 * Whether a label set can hold series matching all matchers: a matcher on a label the set has
 * must accept the set's value; matchers on other labels say nothing about the set.
 */
function labelSetMatches(set: Labels, matchers: readonly Matcher[]): boolean {
  for (const m of matchers) {
    const l = set.find((x) => x.name === m.name);
    if (l !== undefined && !m.matches(l.value)) return false;
  }
  return true;
}

/** A group may hold data for [minTime, maxTime] and the matchers (Thanos' store selection). */
export function groupMatches(
  g: { readonly labelSets: readonly Labels[]; readonly minTime: number; readonly maxTime: number },
  minTime: number,
  maxTime: number,
  matchers: readonly Matcher[],
): boolean {
  if (g.maxTime < minTime || g.minTime > maxTime) return false;
  if (g.labelSets.length === 0) return true;
  return g.labelSets.some((s) => labelSetMatches(s, matchers));
}

export interface Candidate {
  readonly healthy: boolean;
  /** EWMA latency in ms, undefined before the first call. */
  readonly latencyMs: number | undefined;
}

/** Healthy members in random order, then the unhealthy ones in random order. */
export function randomOrder<T extends Candidate>(members: readonly T[], random: () => number): T[] {
  const shuffle = (xs: T[]): T[] => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  };
  return [...shuffle(members.filter((m) => m.healthy)), ...shuffle(members.filter((m) => !m.healthy))];
}

/**
 * The order in which a replica group's members are asked: two random healthy members first (the
 * two random choices; the one with the lower latency first), then the other healthy members in
 * random order, then the unhealthy ones. Index 0 and 1 are asked at once.
 */
export function hedgeOrder<T extends Candidate>(members: readonly T[], random: () => number): T[] {
  const all = randomOrder(members, random);
  if (all.length >= 2) {
    const a = all[0]!;
    const b = all[1]!;
    if (a.healthy === b.healthy && (b.latencyMs ?? Infinity) < (a.latencyMs ?? Infinity)) {
      all[0] = b;
      all[1] = a;
    }
  }
  return all;
}
