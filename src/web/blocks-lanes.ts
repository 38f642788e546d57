/**
 * Timeline geometry, computed once per refresh: blocks of one (resolution, level) group go into
 * sub-lanes where no two blocks overlap (like Thanos' block viewer), and blocks that overlap another
 * block of their compaction group (same resolution and external labels) are flagged.
 */

/** Half-open ranges [min, max): touching blocks do not overlap. */
export interface Ranges {
  readonly minT: ArrayLike<number>;
  readonly maxT: ArrayLike<number>;
}

/**
 * Assigns each block of `order` (positions sorted by minT) a sub-lane: the free lane that ended
 * first, else a new one. Greedy by start time uses the fewest lanes an interval set allows.
 * Writes lanes into `out` and returns how many lanes were used.
 */
export function assignSubLanes(r: Ranges, order: ArrayLike<number>, out: Int32Array): number {
  // A binary min-heap of (end, lane), ties by lane index so the result is deterministic.
  const ends: number[] = [];
  const lanes: number[] = [];
  const less = (a: number, b: number): boolean =>
    ends[a]! < ends[b]! || (ends[a] === ends[b] && lanes[a]! < lanes[b]!);
  const swap = (a: number, b: number): void => {
    const e = ends[a]!;
    ends[a] = ends[b]!;
    ends[b] = e;
    const l = lanes[a]!;
    lanes[a] = lanes[b]!;
    lanes[b] = l;
  };
  const push = (end: number, lane: number): void => {
    ends.push(end);
    lanes.push(lane);
    let i = ends.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(i, p)) break;
      swap(i, p);
      i = p;
    }
  };
  const pop = (): number => {
    const lane = lanes[0]!;
    const lastEnd = ends.pop()!;
    const lastLane = lanes.pop()!;
    if (ends.length > 0) {
      ends[0] = lastEnd;
      lanes[0] = lastLane;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const rr = l + 1;
        let m = i;
        if (l < ends.length && less(l, m)) m = l;
        if (rr < ends.length && less(rr, m)) m = rr;
        if (m === i) break;
        swap(i, m);
        i = m;
      }
    }
    return lane;
  };
  let used = 0;
  for (let k = 0; k < order.length; k++) {
    const p = order[k]!;
    const lane = ends.length > 0 && ends[0]! <= r.minT[p]! ? pop() : used++;
    out[p] = lane;
    push(r.maxT[p]!, lane);
  }
  return used;
}

/**
 * Marks in `out` (true) every block of `order` (one compaction group, sorted by minT) that
 * overlaps another block of it: a block overlaps an earlier one when it starts before the latest
 * end so far, and a later one when the next block starts before it ends.
 */
export function flagOverlaps(r: Ranges, order: ArrayLike<number>, out: Uint8Array, bit: number): void {
  let maxEnd = -Infinity;
  for (let k = 0; k < order.length; k++) {
    const p = order[k]!;
    const next = k + 1 < order.length ? order[k + 1]! : -1;
    const empty = r.maxT[p]! <= r.minT[p]!;
    if (
      !empty &&
      (r.minT[p]! < maxEnd || (next >= 0 && r.minT[next]! < r.maxT[p]! && r.maxT[next]! > r.minT[next]!))
    )
      out[p] = (out[p] ?? 0) | bit;
    if (!empty && r.maxT[p]! > maxEnd) maxEnd = r.maxT[p]!;
  }
}
