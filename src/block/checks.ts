/**
 * Bucket-level consistency checks over complete blocks (`strata bucket verify`, like Thanos'
 * `tools bucket verify` overlap and duplicate-compaction issues). Pure: metas in, issues out.
 *
 * Groups are (tenant, resolution, external labels), as the compactor groups them without replica
 * labels configured, so HA replicas with distinct replica labels never count as overlapping.
 */
import type { BlockMeta } from '../tsdb/meta.js';

export type IssueSeverity = 'error' | 'warning';

export interface BlockIssue {
  severity: IssueSeverity;
  /**
   * partial-block: folder without meta.json (an upload in progress or aborted);
   * bad-meta: meta.json present but unusable;
   * overlap: time ranges overlap inside one group (normal before vertical compaction);
   * duplicate-sources: a block whose sources are all inside another block's (the duplicate filter
   *   hides it; normal until the compactor marks it);
   * conflicting-sources: two blocks sharing some but not all sources (a broken compaction);
   * bad-marker: unparsable marker file; block-check: --full index/chunk verification failure.
   */
  kind:
    | 'partial-block'
    | 'bad-meta'
    | 'overlap'
    | 'duplicate-sources'
    | 'conflicting-sources'
    | 'bad-marker'
    | 'block-check';
  tenant: string;
  /** Blocks involved (ULIDs), first the one the issue is about. */
  blocks: string[];
  message: string;
}

export interface CheckedBlock {
  tenant: string;
  id: string;
  meta: BlockMeta;
}

function groupOf(b: CheckedBlock): string {
  const labels = b.meta.thanos?.labels ?? {};
  const pairs = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return `${b.tenant}\u0000${b.meta.thanos?.downsample.resolution ?? 0}\u0000${pairs.join(',')}`;
}

function sourcesOf(b: CheckedBlock): string[] {
  return b.meta.compaction.sources.length > 0 ? b.meta.compaction.sources : [b.id];
}

/** Overlap and source issues among complete blocks. */
export function findGroupIssues(blocks: readonly CheckedBlock[]): BlockIssue[] {
  const groups = new Map<string, CheckedBlock[]>();
  for (const b of blocks) {
    const k = groupOf(b);
    const g = groups.get(k);
    if (g) g.push(b);
    else groups.set(k, [b]);
  }
  const issues: BlockIssue[] = [];
  for (const g of groups.values()) {
    g.sort((a, b) => a.meta.minTime - b.meta.minTime || (a.id < b.id ? -1 : 1));
    // Overlaps: compare with the block reaching furthest so far (each overlap reported once per block).
    let reach: CheckedBlock | undefined;
    for (const b of g) {
      if (reach && b.meta.minTime < reach.meta.maxTime) {
        issues.push({
          severity: 'warning',
          kind: 'overlap',
          tenant: b.tenant,
          blocks: [b.id, reach.id],
          message: `time range overlaps block ${reach.id} in the same group`,
        });
      }
      if (!reach || b.meta.maxTime > reach.meta.maxTime) reach = b;
    }
    // Sources: index blocks by source ULID, then compare each pair that shares one.
    const bySource = new Map<string, CheckedBlock[]>();
    for (const b of g) {
      for (const s of sourcesOf(b)) {
        const l = bySource.get(s);
        if (l) l.push(b);
        else bySource.set(s, [b]);
      }
    }
    const seen = new Set<string>();
    for (const list of bySource.values()) {
      for (let i = 0; i < list.length; i++) {
        for (let j = i + 1; j < list.length; j++) {
          const a = list[i]!;
          const b = list[j]!;
          const pair = a.id < b.id ? `${a.id}${b.id}` : `${b.id}${a.id}`;
          if (seen.has(pair)) continue;
          seen.add(pair);
          const sa = new Set(sourcesOf(a));
          const sb = new Set(sourcesOf(b));
          const aInB = [...sa].every((s) => sb.has(s));
          const bInA = [...sb].every((s) => sa.has(s));
          if (aInB || bInA) {
            // The smaller (or, for equal sets, the newer) block is the duplicate.
            const [dup, keep] = aInB && (!bInA || a.id > b.id) ? [a, b] : [b, a];
            issues.push({
              severity: 'warning',
              kind: 'duplicate-sources',
              tenant: dup.tenant,
              blocks: [dup.id, keep.id],
              message: `all sources are also in block ${keep.id}`,
            });
          } else {
            issues.push({
              severity: 'error',
              kind: 'conflicting-sources',
              tenant: a.tenant,
              blocks: [a.id, b.id],
              message: `shares some but not all sources with block ${b.id}`,
            });
          }
        }
      }
    }
  }
  return issues;
}
