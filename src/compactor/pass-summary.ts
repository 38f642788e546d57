/** The all-in-one compactor's pass summary, and how it orders and labels plans. */
import type { Plan } from '../plan/types.js';
import type { Phase } from './execute.js';
import { RES_1H, RES_5M, RES_RAW } from '../tsdb/downsample/block.js';

/** Compactions first, then downsample plans. */
export function kindOrder(p: Plan): number {
  return p.kind === 'downsample' ? 1 : 0;
}

/** `raw`, `5m`, `1h` (or the resolution in ms) for metric labels. */
export function resolutionLabel(resolution: number): string {
  if (resolution === RES_RAW) return 'raw';
  if (resolution === RES_5M) return '5m';
  if (resolution === RES_1H) return '1h';
  return String(resolution);
}

/** A plan's size: the samples of its sources (what its compaction reads). */
export function planSamples(p: Plan): number {
  let n = 0;
  for (const b of p.sources) n += b.stats.numSamples;
  return n;
}

export interface PassSummary {
  iterations: number;
  plansDone: number;
  plansFailed: number;
  blocksMarkedNoCompact: number;
  duplicatesMarked: number;
  deletedMarked: number;
  deletedPartial: number;
  /** Downsample plans completed. */
  downsampled: number;
  /** Blocks marked for deletion by retention. */
  retentionMarked: number;
  /** Blocks past retention held until downsampled (the last planning of the pass). */
  retentionHeld: number;
  /** The whole pass, wall time. */
  passMs: number;
  phaseMs: Record<Phase | 'sync' | 'plan', number>;
}

export function emptyPassSummary(): PassSummary {
  return {
    iterations: 0,
    plansDone: 0,
    plansFailed: 0,
    blocksMarkedNoCompact: 0,
    duplicatesMarked: 0,
    deletedMarked: 0,
    deletedPartial: 0,
    downsampled: 0,
    retentionMarked: 0,
    retentionHeld: 0,
    passMs: 0,
    phaseMs: { sync: 0, plan: 0, download: 0, compact: 0, upload: 0, mark: 0, cleanup: 0 },
  };
}
