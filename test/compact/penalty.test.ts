/**
 * Penalty dedup (Thanos replica deduplication) on promtool blocks of two HA replicas:
 *
 *   window     W0            W1                         W2
 *   r1         ████████████  ███████░░gap░░████████████
 *   r2                       ██████████████████████████  ████████████
 *
 * r2 scrapes the same targets 3 s after r1. The output must never interleave the replicas (no
 * two samples closer than half the scrape interval), fill r1's gap from r2, keep everything
 * outside the overlap, and carry the external labels without the replica label.
 *
 * Like Thanos' compactor (pkg/dedup dedupChunksIterator), the penalty merge runs once per group of
 * (transitively) overlapping chunks, so its state starts afresh at each group: the reference below
 * is applied group by group.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactBlocks, type CompactResult } from '../../src/tsdb/compact/compact.js';
import { readMetaFile } from '../../src/tsdb/meta.js';
import { verifyBlock } from '../../src/tsdb/verify/verify.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { generateSamples } from '../support/openmetrics.js';
import { parseDumpLine, type Sample } from '../support/dump.js';
import { promtoolDump, type CreatedBlock } from '../services/prometheus.js';
import {
  SCRAPE_MS,
  TWO_HOURS,
  W0,
  promtoolBlocks,
  readBlockChunks,
  setThanos,
  tempRoot,
  type TempRoot,
} from './helpers.js';

const W1 = W0 + TWO_HOURS;
const W2 = W1 + TWO_HOURS;
const W3 = W2 + TWO_HOURS;
const OFFSET_MS = 3000;
const GAP_FROM = W1 + 40 * 60_000;
const GAP_TO = W1 + 46 * 60_000;

interface Point {
  t: number;
  /** The value as promtool prints it. */
  v: string;
}

let root: TempRoot;
let r1Blocks: CreatedBlock[];
let r2Blocks: CreatedBlock[];
let res: CompactResult;
/** labels → points, for each replica's input and for the output. */
let r1: Map<string, Point[]>;
let r2: Map<string, Point[]>;
let out: Map<string, Point[]>;
/** labels → [mint, maxt] of every input chunk in W1 (both replicas). */
let w1Chunks: Map<string, [number, number][]>;

function bySeries(lines: readonly string[]): Map<string, Point[]> {
  const m = new Map<string, Point[]>();
  for (const l of lines) {
    const p = parseDumpLine(l);
    const list = m.get(p.labels) ?? [];
    list.push({ t: p.t, v: p.value });
    m.set(p.labels, list);
  }
  return m;
}

function replicaSamples(seed: number, from: number, to: number, shift: number, only: string): Sample[] {
  const shared = generateSamples({ seed, series: 8, startMs: from, durationMs: to - from, offsets: false });
  const own = generateSamples({
    seed: seed + 1,
    series: 1,
    metricNames: [only],
    startMs: from,
    durationMs: to - from,
    offsets: false,
  });
  return [...shared, ...own].map((s) => ({ ...s, t: s.t + shift }));
}

/** Thanos' penalty merge of two replicas, as docs/tsdb-format.md §9 states it. */
function penaltyReference(a: readonly Point[], b: readonly Point[]): Point[] {
  const out: Point[] = [];
  let ia = 0;
  let ib = 0;
  let lastT: number | undefined;
  let penA = 0;
  let penB = 0;
  for (;;) {
    if (lastT !== undefined) {
      while (ia < a.length && a[ia]!.t < lastT + 1 + penA) ia++;
      while (ib < b.length && b[ib]!.t < lastT + 1 + penB) ib++;
    }
    const pa = a[ia];
    const pb = b[ib];
    if (!pa && !pb) return out;
    const takeA = pa !== undefined && (pb === undefined || pa.t <= pb.t);
    const chosen = takeA ? pa! : pb!;
    const other = lastT === undefined ? 5000 : 2 * (chosen.t - lastT);
    if (takeA) {
      if (pb) penB = other;
      penA = 0;
    } else {
      if (pa) penA = other;
      penB = 0;
    }
    lastT = chosen.t;
    out.push(chosen);
  }
}

beforeAll(async () => {
  root = await tempRoot('strata-compact-p-');
  const s1 = replicaSamples(303, W0, W2, 0, 'strata_only_r1').filter((s) => s.t < GAP_FROM || s.t >= GAP_TO);
  const s2 = replicaSamples(404, W1, W3, OFFSET_MS, 'strata_only_r2').filter((s) => s.t < W3);
  r1Blocks = await promtoolBlocks(s1, root.fresh('r1'));
  r2Blocks = await promtoolBlocks(s2, root.fresh('r2'));
  expect(r1Blocks.map((b) => Math.floor(b.minTime / TWO_HOURS) * TWO_HOURS)).toEqual([W0, W1]);
  expect(r2Blocks.map((b) => Math.floor(b.minTime / TWO_HOURS) * TWO_HOURS)).toEqual([W1, W2]);
  for (const b of r1Blocks) await setThanos(b.dir, { cluster: 'a', replica: 'r1' });
  for (const b of r2Blocks) await setThanos(b.dir, { cluster: 'a', replica: 'r2' });
  r1 = bySeries([...(await promtoolDump(r1Blocks[0]!.dir)), ...(await promtoolDump(r1Blocks[1]!.dir))]);
  r2 = bySeries([...(await promtoolDump(r2Blocks[0]!.dir)), ...(await promtoolDump(r2Blocks[1]!.dir))]);
  res = await compactBlocks(
    [...r1Blocks, ...r2Blocks].map((b) => b.dir),
    root.fresh('out'),
    { dedup: 'penalty', replicaLabels: ['replica'] },
  );
  out = bySeries(await promtoolDump(res.dir!));
  w1Chunks = new Map();
  for (const b of [r1Blocks[1]!, r2Blocks[0]!]) {
    for (const series of await readBlockChunks(b.dir)) {
      const list = w1Chunks.get(series.labels) ?? [];
      list.push(...series.chunks.map((c): [number, number] => [c.mint, c.maxt]));
      w1Chunks.set(series.labels, list);
    }
  }
});

/** Groups of transitively overlapping chunks: [first mint, last maxt] each, in time order. */
function chunkGroups(labels: string): [number, number][] {
  const ivs = [...(w1Chunks.get(labels) ?? [])].sort((a, b) => a[0] - b[0]);
  const groups: [number, number][] = [];
  for (const [lo, hi] of ivs) {
    const last = groups.at(-1);
    if (last && lo <= last[1]) last[1] = Math.max(last[1], hi);
    else groups.push([lo, hi]);
  }
  return groups;
}

afterAll(async () => {
  await root.cleanup();
  await assertNoLeakedProcesses();
});

const shared = (): string[] => [...r1.keys()].filter((k) => r2.has(k));

function replicaOf(labels: string, p: Point): 'r1' | 'r2' {
  const in1 = r1.get(labels)?.find((q) => q.t === p.t);
  const in2 = r2.get(labels)?.find((q) => q.t === p.t);
  if (in1 && in1.v === p.v) return 'r1';
  if (in2 && in2.v === p.v) return 'r2';
  throw new Error(`${labels} ${p.t} ${p.v}: in neither replica`);
}

describe('penalty dedup of two HA replicas', () => {
  it('writes a valid block whose external labels lack the replica label', async () => {
    const meta = await readMetaFile(res.dir!);
    expect(meta.thanos?.labels).toEqual({ cluster: 'a' });
    expect(meta.minTime).toBe(W0);
    expect((await verifyBlock(res.dir!)).problems).toEqual([]);
    expect(shared()).toHaveLength(8);
    expect([...out.keys()].sort()).toEqual([...new Set([...r1.keys(), ...r2.keys()])].sort());
  });

  it('never interleaves the replicas: samples at least half an interval apart, no flip-flop', () => {
    for (const k of shared()) {
      const pts = out.get(k)!;
      const reps = pts.map((p) => replicaOf(k, p));
      let switches = 0;
      for (let i = 1; i < pts.length; i++) {
        const d = pts[i]!.t - pts[i - 1]!.t;
        if (d < SCRAPE_MS / 2) throw new Error(`${k}: samples at ${pts[i - 1]!.t} and ${pts[i]!.t}`);
        if (reps[i] !== reps[i - 1]) {
          switches++;
          if (i >= 2 && reps[i - 2] === reps[i])
            throw new Error(`${k}: flip-flop ${reps.slice(i - 2, i + 1).join(',')} at ${pts[i]!.t}`);
        }
      }
      // At most one switch per group of overlapping chunks (the choice restarts at each group).
      expect(switches, k).toBeGreaterThanOrEqual(1);
      expect(switches, k).toBeLessThanOrEqual(chunkGroups(k).length);
    }
  });

  it("fills r1's gap from r2 within about two scrape intervals", () => {
    for (const k of shared()) {
      const pts = out.get(k)!;
      const inGap = pts.filter((p) => p.t >= GAP_FROM && p.t < GAP_TO);
      expect(inGap.length).toBeGreaterThanOrEqual((GAP_TO - GAP_FROM) / SCRAPE_MS - 3);
      for (const p of inGap) expect(replicaOf(k, p)).toBe('r2');
      const w1 = pts.filter((p) => p.t >= W1 && p.t < W2);
      let widest = 0;
      for (let i = 1; i < w1.length; i++) widest = Math.max(widest, w1[i]!.t - w1[i - 1]!.t);
      expect(widest).toBeLessThanOrEqual(2 * SCRAPE_MS + OFFSET_MS);
    }
  });

  it('matches the penalty algorithm (per chunk group) in the overlap and drops nothing outside it', () => {
    for (const [k, pts] of out) {
      const a = r1.get(k) ?? [];
      const b = r2.get(k) ?? [];
      const part = (list: readonly Point[], from: number, to: number): Point[] =>
        list.filter((p) => p.t >= from && p.t < to);
      expect(part(pts, W0, W1)).toEqual(part(a, W0, W1));
      expect(part(pts, W2, W3)).toEqual(part(b, W2, W3));
      const groups = chunkGroups(k);
      const ref = groups.flatMap(([lo, hi]) => penaltyReference(part(a, lo, hi + 1), part(b, lo, hi + 1)));
      expect(part(pts, W1, W2)).toEqual(ref);
      // A series only one replica has is kept whole.
      if (a.length === 0) expect(pts).toEqual(b);
      if (b.length === 0) expect(pts).toEqual(a);
    }
  });
});
