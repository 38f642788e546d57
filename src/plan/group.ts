/**
 * Compaction groups: blocks of one tenant with the same downsampling resolution and the same
 * external labels once replica labels are removed (Thanos DefaultGrouper after its
 * ReplicaLabelRemover filter). Only blocks of one group are ever compacted together.
 */
import { compareStrings, formatLabels, type Label } from '../tsdb/labels.js';
import { labelsHash } from './hash.js';
import type { Group, PlanBlock } from './types.js';
import { InvalidArgumentError } from '../util/errors.js';

/** Value Thanos gives the first replica label when removing replica labels leaves none. */
export const DEDUPED_LABEL_VALUE = 'deduped';

export function blockResolution(b: PlanBlock): number {
  return b.thanos?.downsample.resolution ?? 0;
}

export function blockLabels(b: PlanBlock): Readonly<Record<string, string>> {
  return b.thanos?.labels ?? {};
}

/**
 * External labels without the replica labels. Like Thanos, a block left with no labels at all
 * gets `<first replica label>="deduped"`, so deduplicated output never has an empty label set.
 */
export function groupLabels(
  labels: Readonly<Record<string, string>>,
  replicaLabels: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(labels).sort(compareStrings)) {
    if (!replicaLabels.includes(name)) out[name] = labels[name]!;
  }
  if (replicaLabels.length > 0 && Object.keys(out).length === 0) out[replicaLabels[0]!] = DEDUPED_LABEL_VALUE;
  return out;
}

function sortedPairs(labels: Readonly<Record<string, string>>): string[] {
  const pairs: string[] = [];
  for (const name of Object.keys(labels).sort(compareStrings)) pairs.push(name, labels[name]!);
  return pairs;
}

/**
 * Thanos' group key, `<resolution>@<hash>`, where hash is Prometheus' labels.Hash(): XXH64 over
 * `name 0xFF value 0xFF` for each label sorted by name, printed as a decimal uint64. Stable across
 * processes and versions, and identical to the key `thanos compact` logs and uses for its work
 * directories, so operators can correlate the two. Empty label values are kept (as
 * labels.FromMap does).
 */
export function groupKey(resolution: number, labels: Readonly<Record<string, string>>): string {
  return `${resolution}@${labelsHash(sortedPairs(labels))}`;
}

/** `{a="b", c="d"}` for logs; empty values printed too, to match the group key input. */
function labelString(labels: Readonly<Record<string, string>>): string {
  const pairs = sortedPairs(labels);
  const ls: Label[] = [];
  for (let i = 0; i < pairs.length; i += 2) ls.push({ name: pairs[i]!, value: pairs[i + 1]! });
  return formatLabels(ls);
}

export function compareBlocks(a: PlanBlock, b: PlanBlock): number {
  return a.minTime - b.minTime || compareStrings(a.ulid, b.ulid);
}

interface GroupBuilder {
  tenant: string;
  key: string;
  resolution: number;
  labels: Record<string, string>;
  labelString: string;
  blocks: PlanBlock[];
}

/**
 * Splits blocks into groups, sorted by tenant then group key (Thanos sorts by key). Each group's
 * blocks are sorted by minTime then ULID. A ULID seen twice in one tenant is a caller bug.
 */
export function groupBlocks(blocks: readonly PlanBlock[], replicaLabels: readonly string[]): Group[] {
  const groups = new Map<string, GroupBuilder>();
  // Many blocks share one label set; hash each distinct (resolution, labels) once.
  const keyCache = new Map<string, { key: string; labels: Record<string, string>; labelString: string }>();
  const seen = new Set<string>();
  for (const b of blocks) {
    const id = `${b.tenant}\u0000${b.ulid}`;
    if (seen.has(id)) throw new InvalidArgumentError(`block ${b.ulid} listed twice for tenant "${b.tenant}"`);
    seen.add(id);
    const resolution = blockResolution(b);
    const raw = blockLabels(b);
    const names = Object.keys(raw).sort(compareStrings);
    let canon = `${resolution}`;
    for (const n of names) canon += `\u0000${n}\u0000${raw[n]!}`;
    let info = keyCache.get(canon);
    if (info === undefined) {
      const labels = groupLabels(raw, replicaLabels);
      info = { key: groupKey(resolution, labels), labels, labelString: labelString(labels) };
      keyCache.set(canon, info);
    }
    const gid = `${b.tenant}\u0000${info.key}`;
    let g = groups.get(gid);
    if (g === undefined) {
      g = {
        tenant: b.tenant,
        key: info.key,
        resolution,
        labels: info.labels,
        labelString: info.labelString,
        blocks: [],
      };
      groups.set(gid, g);
    }
    g.blocks.push(b);
  }
  const out: Group[] = [];
  for (const g of groups.values()) {
    g.blocks.sort(compareBlocks);
    out.push(g);
  }
  out.sort((a, b) => compareStrings(a.tenant, b.tenant) || compareStrings(a.key, b.key));
  return out;
}
