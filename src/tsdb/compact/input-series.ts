/** One input's part of an output series, and the checks every merge path relies on. */
import type { BlockReader } from '../block/reader.js';
import type { ChunkMeta } from '../index/format.js';
import type { Interval } from '../tombstones/tombstones.js';
import { CompactionInputError } from './errors.js';

export interface InputSeries {
  /** Priority: inputs are sorted oldest block first; a later input wins timestamp ties. */
  input: number;
  /** Replica group of the input (penalty dedup). */
  replica: number;
  block: BlockReader;
  chunks: readonly ChunkMeta[];
  deleted: readonly Interval[] | undefined;
}

/** One chunk of one input. */
export interface Entry {
  s: InputSeries;
  c: ChunkMeta;
}

export const entryMint = (e: Entry): number => e.c.mint;
export const entryMaxt = (e: Entry): number => e.c.maxt;

/** True when a tombstone interval overlaps [mint, maxt]. */
export function hits(deleted: readonly Interval[] | undefined, mint: number, maxt: number): boolean {
  if (!deleted) return false;
  for (const iv of deleted) if (iv.mint <= maxt && iv.maxt >= mint) return true;
  return false;
}

export function byFirstMint(a: InputSeries, b: InputSeries): number {
  return a.chunks[0]!.mint - b.chunks[0]!.mint;
}

/** An input series' own chunks must be in order and must not overlap. */
export function checkOrder(s: InputSeries, seriesName: () => string): void {
  const cs = s.chunks;
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i]!;
    if (c.maxt < c.mint) {
      throw new CompactionInputError(
        'ERR_TSDB_CORRUPT',
        s.block.ulid,
        seriesName(),
        `chunk [${c.mint}, ${c.maxt}] has maxt < mint`,
      );
    }
    if (i === 0) continue;
    const p = cs[i - 1]!;
    if (c.mint < p.mint) {
      throw new CompactionInputError(
        'ERR_TSDB_OUT_OF_ORDER',
        s.block.ulid,
        seriesName(),
        `chunk [${c.mint}, ${c.maxt}] comes after chunk [${p.mint}, ${p.maxt}]: chunks out of order`,
      );
    }
    if (c.mint <= p.maxt) {
      throw new CompactionInputError(
        'ERR_TSDB_OVERLAP',
        s.block.ulid,
        seriesName(),
        `chunk [${c.mint}, ${c.maxt}] overlaps chunk [${p.mint}, ${p.maxt}] in the same series`,
      );
    }
  }
}
