/**
 * Shared helpers of the compaction tests: promtool-made inputs, Thanos labels on their meta.json,
 * the expected dump of a compaction (exact dedup: the newest block wins a timestamp), and reading
 * the chunks of a block back through Strata's index and chunk readers.
 */
import { cp, mkdir, mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { BlockReader } from '../../src/tsdb/block/reader.js';
import { formatLabels } from '../../src/tsdb/labels.js';
import { readMetaFile, writeMetaFile } from '../../src/tsdb/meta.js';
import { parseDumpLine, sortDumpLines, diffDumps, type Sample } from '../support/dump.js';
import { createBlocksFromSamples, promtoolDump, type CreatedBlock } from '../services/prometheus.js';

/** A 2h boundary (ms): windows [W0 + k·2h, W0 + (k+1)·2h) are one promtool block each. */
export const W0 = 1_699_992_000_000;
export const TWO_HOURS = 2 * 3600_000;
export const SCRAPE_MS = 15_000;

export interface TempRoot {
  dir: string;
  /** A new, not yet existing path under the root. */
  fresh(name?: string): string;
  cleanup(): Promise<void>;
}

export async function tempRoot(prefix: string): Promise<TempRoot> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  let n = 0;
  return {
    dir,
    fresh: (name = 'd') => join(dir, `${name}-${n++}`),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Blocks made by promtool from `samples` in a new dir `dir` (one per 2h window), by minTime. */
export async function promtoolBlocks(samples: readonly Sample[], dir: string): Promise<CreatedBlock[]> {
  await mkdir(dir, { recursive: true });
  const blocks = await createBlocksFromSamples(samples, dir);
  if (blocks.length === 0) throw new Error('promtool made no block');
  return blocks;
}

/** Adds a Thanos section to a block's meta.json (promtool writes none). */
export async function setThanos(
  blockDir: string,
  labels: Record<string, string>,
  resolution = 0,
): Promise<void> {
  const meta = await readMetaFile(blockDir);
  meta.thanos = { labels, downsample: { resolution }, source: 'sidecar' };
  await writeMetaFile(blockDir, meta);
}

/** Copies a block under `parent` with a new ULID (meta.json ulid and sources rewritten). */
export async function copyBlockAs(blockDir: string, parent: string, ulid: string): Promise<string> {
  const dst = join(parent, ulid);
  await mkdir(parent, { recursive: true });
  await cp(blockDir, dst, { recursive: true });
  const meta = await readMetaFile(dst);
  meta.ulid = ulid;
  meta.compaction.sources = [ulid];
  await writeMetaFile(dst, meta);
  return dst;
}

/** Entries of a directory (sorted); [] when it does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}

/** `promtool tsdb dump` of each block on its own, concatenated. */
export async function dumpEach(blockDirs: readonly string[]): Promise<{ ulid: string; lines: string[] }[]> {
  const out: { ulid: string; lines: string[] }[] = [];
  for (const d of blockDirs) out.push({ ulid: basename(d), lines: await promtoolDump(d) });
  return out;
}

/**
 * What an exact-dedup compaction of these blocks must hold, from each input's own promtool dump:
 * every (series, timestamp) once, the value of the block with the largest ULID (the documented
 * rule: the newest block wins), in promtool's order.
 */
export async function expectedExactDump(blockDirs: readonly string[]): Promise<string[]> {
  const dumps = await dumpEach(blockDirs);
  dumps.sort((a, b) => (a.ulid < b.ulid ? -1 : a.ulid > b.ulid ? 1 : 0));
  const byKey = new Map<string, string>();
  for (const d of dumps) {
    for (const line of d.lines) {
      const p = parseDumpLine(line);
      byKey.set(`${p.labels} ${p.t}`, line); // later (newer) blocks overwrite
    }
  }
  return sortDumpLines([...byKey.values()]);
}

/** Throws a readable diff unless the dumps are equal line for line. */
export function assertSameDump(actual: readonly string[], expected: readonly string[], what: string): void {
  const diff = diffDumps(expected, actual);
  if (diff !== undefined) throw new Error(`${what}: ${diff}`);
}

export interface StoredChunkInfo {
  mint: number;
  maxt: number;
  ref: number;
  encoding: number;
  /** Sample count from the chunk header. */
  numSamples: number;
  /** On-disk bytes (len, encoding, data, CRC), copied. */
  raw: Buffer;
}

export interface StoredSeries {
  labels: string;
  chunks: StoredChunkInfo[];
}

/** Every series of a block with its chunks, read with Strata's index and segment readers. */
export async function readBlockChunks(blockDir: string): Promise<StoredSeries[]> {
  const b = await BlockReader.open(blockDir);
  try {
    const out: StoredSeries[] = [];
    const c = b.index.seriesCursor();
    for (;;) {
      while (c.next()) {
        const s = c.series;
        out.push({
          labels: formatLabels(s.labels),
          chunks: s.chunks.map((m) => ({
            mint: m.mint,
            maxt: m.maxt,
            ref: m.ref,
            encoding: 0,
            numSamples: 0,
            raw: Buffer.alloc(0),
          })),
        });
      }
      if (!(await c.load())) break;
    }
    for (const s of out) {
      for (const ch of s.chunks) {
        const r = await b.chunks.readRaw(ch.ref);
        ch.encoding = r.encoding;
        ch.numSamples = (r.data[0]! << 8) | r.data[1]!;
        ch.raw = Buffer.from(r.bytes);
      }
    }
    return out;
  } finally {
    await b.close();
  }
}

/** Samples of `samples` whose time is in [from, to). */
export function inRange(samples: readonly Sample[], from: number, to: number): Sample[] {
  return samples.filter((s) => s.t >= from && s.t < to);
}

/** Flips one bit of the byte at `pos` of `file` (a corruption a CRC catches). */
export async function flipByte(file: string, pos: number): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, pos);
    b[0] = b[0]! ^ 0x10;
    await fh.write(b, 0, 1, pos);
  } finally {
    await fh.close();
  }
}
