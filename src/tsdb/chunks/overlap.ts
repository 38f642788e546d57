/**
 * Chained-overlap clusters of one series' chunks: the unit the compactor and the querier merge
 * (and deduplicate) at. A chunk joins the current cluster when it starts at or before the
 * cluster's latest max time; a chunk overlapping nothing is a cluster of its own and passes
 * through untouched. Both callers must cluster alike, or penalty dedup restarts at different
 * places and the querier's answer differs from the compacted block.
 */
export function overlapClusters<T>(
  sorted: readonly T[],
  mint: (x: T) => number,
  maxt: (x: T) => number,
): T[][] {
  const out: T[][] = [];
  if (sorted.length === 0) return out;
  let start = 0;
  let end = maxt(sorted[0]!);
  for (let i = 1; i <= sorted.length; i++) {
    const x = sorted[i];
    if (x !== undefined && mint(x) <= end) {
      const m = maxt(x);
      if (m > end) end = m;
      continue;
    }
    out.push(sorted.slice(start, i));
    if (x !== undefined) {
      start = i;
      end = maxt(x);
    }
  }
  return out;
}
