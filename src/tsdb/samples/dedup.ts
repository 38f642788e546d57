/**
 * Merging the overlapping samples of one series from several inputs.
 *
 * exact: one sample per timestamp. When inputs disagree at a timestamp, the input with the
 *   highest priority wins; compactBlocks gives the newest block (largest ULID) the highest
 *   priority, so a re-uploaded or backfilled block overrides older data deterministically.
 * penalty: Thanos' replica deduplication. Replicas are folded pairwise; the merger stays on one
 *   replica and only switches across a gap larger than about twice the scrape interval, so
 *   samples of different replicas never interleave.
 */
import { SampleBuf } from './sample-buf.js';

/** How overlapping samples of one series are merged (see above). */
export type DedupMode = 'exact' | 'penalty';

/** Merges streams sorted by time. `streams[i]` has priority i (later wins ties). */
export function mergeExact(streams: readonly SampleBuf[], out: SampleBuf): void {
  out.reset();
  const k = streams.length;
  if (k === 0) return;
  if (k === 1) {
    out.pushRange(streams[0]!, 0, streams[0]!.len);
    return;
  }
  const pos = new Int32Array(k);
  for (;;) {
    // Smallest current timestamp; among equals, the highest priority (largest index).
    let best = -1;
    let bestT = Infinity;
    for (let i = 0; i < k; i++) {
      const s = streams[i]!;
      const p = pos[i]!;
      if (p >= s.len) continue;
      const t = s.ts[p]!;
      if (t <= bestT) {
        best = i;
        bestT = t;
      }
    }
    if (best < 0) return;
    const s = streams[best]!;
    out.push(bestT, s.hi[pos[best]!]!, s.lo[pos[best]!]!);
    // Skip this timestamp (and any duplicates of it) in every stream.
    for (let i = 0; i < k; i++) {
      const si = streams[i]!;
      let p = pos[i]!;
      while (p < si.len && si.ts[p]! <= bestT) p++;
      pos[i] = p;
    }
  }
}

const INITIAL_PENALTY = 5000;

/** First index >= from whose timestamp is >= t, or len. */
function seek(s: SampleBuf, from: number, t: number): number {
  let p = from;
  while (p < s.len && s.ts[p]! < t) p++;
  return p;
}

/** Thanos' penalty deduplication of two replicas. */
export function mergePenaltyPair(a: SampleBuf, b: SampleBuf, out: SampleBuf): void {
  out.reset();
  let ia = 0;
  let ib = 0;
  let lastT = -Infinity;
  let penA = 0;
  let penB = 0;
  let first = true;
  for (;;) {
    if (!first) {
      ia = seek(a, ia, lastT + 1 + penA);
      ib = seek(b, ib, lastT + 1 + penB);
    }
    first = false;
    const aOk = ia < a.len;
    const bOk = ib < b.len;
    if (!aOk && !bOk) return;
    if (!aOk) {
      lastT = b.ts[ib]!;
      penB = 0;
      out.push(lastT, b.hi[ib]!, b.lo[ib]!);
      continue;
    }
    if (!bOk) {
      lastT = a.ts[ia]!;
      penA = 0;
      out.push(lastT, a.hi[ia]!, a.lo[ia]!);
      continue;
    }
    const ta = a.ts[ia]!;
    const tb = b.ts[ib]!;
    if (ta <= tb) {
      penB = lastT === -Infinity ? INITIAL_PENALTY : 2 * (ta - lastT);
      penA = 0;
      lastT = ta;
      out.push(ta, a.hi[ia]!, a.lo[ia]!);
    } else {
      penA = lastT === -Infinity ? INITIAL_PENALTY : 2 * (tb - lastT);
      penB = 0;
      lastT = tb;
      out.push(tb, b.hi[ib]!, b.lo[ib]!);
    }
  }
}

/**
 * Folds replicas pairwise: ((r0 ⊕ r1) ⊕ r2) ⊕ ... Two replicas (the common HA pair) merge straight
 * into `out`; more fold through `scratch` (two reusable buffers, grown as needed).
 */
export function mergePenalty(
  replicas: readonly SampleBuf[],
  out: SampleBuf,
  scratch: [SampleBuf, SampleBuf] = [new SampleBuf(), new SampleBuf()],
): void {
  out.reset();
  const n = replicas.length;
  if (n === 0) return;
  if (n === 1) {
    out.pushRange(replicas[0]!, 0, replicas[0]!.len);
    return;
  }
  let acc = replicas[0]!;
  for (let i = 1; i < n; i++) {
    const into = i === n - 1 ? out : scratch[i & 1]!;
    mergePenaltyPair(acc, replicas[i]!, into);
    acc = into;
  }
}
/**
 * The compactor's and the querier's replica dedup: exact merge of the streams of each replica
 * (`replicaOf[i]` names stream i's replica), then penalty merge across replicas in order of first
 * appearance. `scratch` holds reusable per-replica buffers (grown as needed).
 */
export function mergeReplicas(
  streams: readonly SampleBuf[],
  replicaOf: readonly number[],
  out: SampleBuf,
  scratch: SampleBuf[] = [],
): void {
  const order: number[] = [];
  for (let i = 0; i < streams.length; i++) if (!order.includes(replicaOf[i]!)) order.push(replicaOf[i]!);
  // One buffer per replica, then two for the fold.
  while (scratch.length < order.length + 2) scratch.push(new SampleBuf());
  const perReplica = order.map((r, j) => {
    const own = streams.filter((_, k) => replicaOf[k] === r);
    if (own.length === 1) return own[0]!;
    const buf = scratch[j]!;
    mergeExact(own, buf);
    return buf;
  });
  mergePenalty(perReplica, out, [scratch[order.length]!, scratch[order.length + 1]!]);
}
