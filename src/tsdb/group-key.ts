/**
 * The compaction group of a block (Thanos DefaultGrouper after its ReplicaLabelRemover filter):
 * same tenant, same downsampling resolution, same external labels once the replica labels are
 * removed. Only blocks of one group are ever compacted together, and duplicates are only looked
 * for within one group; the planner and the fetcher's duplicate filter both key groups here.
 */
import { compareStrings, formatLabels, type Label } from './labels.js';
import { labelsHash } from './labels-hash.js';
import type { BlockMeta } from './meta.js';

/** Value Thanos gives the first replica label when removing replica labels leaves none. */
export const DEDUPED_LABEL_VALUE = 'deduped';

export function blockResolution(b: BlockMeta): number {
  return b.thanos?.downsample.resolution ?? 0;
}

export function blockLabels(b: BlockMeta): Readonly<Record<string, string>> {
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
export function labelString(labels: Readonly<Record<string, string>>): string {
  const pairs = sortedPairs(labels);
  const ls: Label[] = [];
  for (let i = 0; i < pairs.length; i += 2) ls.push({ name: pairs[i]!, value: pairs[i + 1]! });
  return formatLabels(ls);
}
