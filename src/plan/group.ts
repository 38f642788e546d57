/**
 * Compaction groups (keyed by block/group-key.ts): the blocks of a bucket split by tenant and
 * group, each group sorted for planning.
 */
import { compareStrings } from '../tsdb/labels.js';
import { blockLabels, blockResolution, groupKey, groupLabels, labelString } from '../tsdb/group-key.js';
import type { Group, PlanBlock } from './types.js';
import { InvalidArgumentError } from '../util/errors.js';

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
