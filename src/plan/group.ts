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

interface KeyInfo {
  key: string;
  labels: Record<string, string>;
  labelString: string;
}

/** Label sets seen so far, as a trie over name, value, name, value... in the object's key order. */
interface LabelTrie {
  readonly next: Map<string, LabelTrie>;
  info?: KeyInfo;
}

function child(node: LabelTrie, step: string): LabelTrie {
  let n = node.next.get(step);
  if (n === undefined) {
    n = { next: new Map() };
    node.next.set(step, n);
  }
  return n;
}

/**
 * Splits blocks into groups, sorted by tenant then group key (Thanos sorts by key). Each group's
 * blocks are sorted by minTime then ULID. A ULID listed twice in one group is a caller bug.
 */
export function groupBlocks(blocks: readonly PlanBlock[], replicaLabels: readonly string[]): Group[] {
  const byTenant = new Map<string, Map<string, GroupBuilder>>();
  // Many blocks share one label set: hash each distinct (resolution, labels) once. Walking a trie
  // allocates nothing per block; the same set in another key order just takes a second path.
  const roots = new Map<number, LabelTrie>();
  let lastTenant: string | undefined;
  let tenantGroups: Map<string, GroupBuilder> | undefined;
  for (const b of blocks) {
    const resolution = blockResolution(b);
    const raw = blockLabels(b);
    let node = roots.get(resolution);
    if (node === undefined) {
      node = { next: new Map() };
      roots.set(resolution, node);
    }
    for (const name in raw) node = child(child(node, name), raw[name]!);
    let info = node.info;
    if (info === undefined) {
      const labels = groupLabels(raw, replicaLabels);
      info = { key: groupKey(resolution, labels), labels, labelString: labelString(labels) };
      node.info = info;
    }
    if (b.tenant !== lastTenant || tenantGroups === undefined) {
      lastTenant = b.tenant;
      tenantGroups = byTenant.get(b.tenant);
      if (tenantGroups === undefined) {
        tenantGroups = new Map();
        byTenant.set(b.tenant, tenantGroups);
      }
    }
    let g = tenantGroups.get(info.key);
    if (g === undefined) {
      g = {
        tenant: b.tenant,
        key: info.key,
        resolution,
        labels: info.labels,
        labelString: info.labelString,
        blocks: [],
      };
      tenantGroups.set(info.key, g);
    }
    g.blocks.push(b);
  }
  const out: Group[] = [];
  for (const groups of byTenant.values()) {
    for (const g of groups.values()) {
      g.blocks.sort(compareBlocks);
      for (let i = 1; i < g.blocks.length; i++) {
        // Two copies of one meta sort next to each other.
        if (g.blocks[i]!.ulid === g.blocks[i - 1]!.ulid) {
          throw new InvalidArgumentError(`block ${g.blocks[i]!.ulid} listed twice for tenant "${g.tenant}"`);
        }
      }
      out.push(g);
    }
  }
  out.sort((a, b) => compareStrings(a.tenant, b.tenant) || compareStrings(a.key, b.key));
  return out;
}
