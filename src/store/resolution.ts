/**
 * Which blocks answer a Series request, by resolution, as Thanos' bucket store picks them
 * (bucketBlockSet.getFor in pkg/store/bucket.go): blocks are grouped by their external label set;
 * within a group the coarsest resolution not above the request's max_resolution_window is used
 * where it has blocks, and the time left uncovered before, between and after those blocks is
 * filled from the next finer resolution, recursively down to raw. A request with window 0 (the
 * default) reads raw blocks only. Label names and values read every block of every resolution,
 * as Thanos does.
 */
import type { Labels } from '../tsdb/labels.js';
import { RES_1H, RES_5M, RES_RAW } from '../tsdb/downsample/index.js';

/** What the choice reads of a block (StoreBlock has it). */
export interface ResolutionBlock {
  readonly meta: { readonly minTime: number; readonly maxTime: number };
  /** Downsampling resolution in ms (0: raw). */
  readonly resolution: number;
  /** External labels, sorted by name. */
  readonly extLabels: Labels;
}

/** The resolutions a store serves, coarsest first (Thanos' fixed levels). */
export const RESOLUTIONS: readonly number[] = [RES_1H, RES_5M, RES_RAW];

/** True for the resolutions a store can serve; blocks of any other are skipped. */
export function servedResolution(ms: number): boolean {
  return RESOLUTIONS.includes(ms);
}

/** One external label set's blocks, per resolution (index into RESOLUTIONS), by min then max time. */
type LevelBlocks<B> = B[][];

function byMinThenMax(a: ResolutionBlock, b: ResolutionBlock): number {
  return a.meta.minTime - b.meta.minTime || a.meta.maxTime - b.meta.maxTime;
}

/** Blocks grouped by external label set, each group split by resolution. */
function groups<B extends ResolutionBlock>(blocks: readonly B[]): LevelBlocks<B>[] {
  const out = new Map<string, LevelBlocks<B>>();
  for (const b of blocks) {
    const level = RESOLUTIONS.indexOf(b.resolution);
    if (level < 0) continue;
    const key = JSON.stringify(b.extLabels);
    let g = out.get(key);
    if (g === undefined) {
      g = RESOLUTIONS.map(() => []);
      out.set(key, g);
    }
    g[level]!.push(b);
  }
  for (const g of out.values()) for (const l of g) l.sort(byMinThenMax);
  return [...out.values()];
}

/**
 * Thanos' getFor on one group: blocks covering [mint, maxt] (inclusive; block max times are
 * exclusive) at the coarsest resolution ≤ maxRes, gaps filled from finer levels.
 */
function getFor<B extends ResolutionBlock>(
  g: LevelBlocks<B>,
  mint: number,
  maxt: number,
  maxRes: number,
  into: B[],
): void {
  if (mint > maxt) return;
  let i = 0;
  while (i < RESOLUTIONS.length && RESOLUTIONS[i]! > maxRes) i++;
  if (i >= RESOLUTIONS.length) return;
  const finer = RESOLUTIONS[i + 1];
  let start = mint;
  for (const b of g[i]!) {
    if (b.meta.maxTime <= mint) continue;
    if (b.meta.minTime > maxt) break;
    if (finer !== undefined) getFor(g, start, b.meta.minTime - 1, finer, into);
    into.push(b);
    start = b.meta.maxTime;
  }
  if (finer !== undefined) getFor(g, start, maxt, finer, into);
}

/**
 * The blocks of a Series request: per external label set, Thanos' choice of resolution for
 * [mint, maxt] and `maxResolutionWindow` (ms; 0 = raw only). ±Infinity bounds are allowed.
 */
export function blocksForResolution<B extends ResolutionBlock>(
  blocks: readonly B[],
  mint: number,
  maxt: number,
  maxResolutionWindow: number,
): B[] {
  const out: B[] = [];
  for (const g of groups(blocks)) getFor(g, mint, maxt, maxResolutionWindow, out);
  return out;
}
