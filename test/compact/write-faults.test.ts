/**
 * Fault injection into the compaction writer path: each fault `strata tsdb verify` detects is
 * injected through the writer's test seam (CompactOptions.seam) while the default, light output
 * check runs, and the compaction must refuse to rename: a coded error, no block and no
 * `*.tmp-for-creation` left in the output directory. Without a fault the same compactions pass
 * and their outputs pass the full verifier. The read-back part of the light check is shown to
 * catch damage done to the files after the writer closed them.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactBlocks, type CompactOptions } from '../../src/tsdb/compact/compact.js';
import type { WriteSeam } from '../../src/tsdb/block/write-seam.js';
import type { WrittenBlock } from '../../src/tsdb/block/writer.js';
import type { ChunkMeta } from '../../src/tsdb/index/format.js';
import type { Labels } from '../../src/tsdb/labels.js';
import { writeSynthBlocks, type SynthBlock } from '../../src/tsdb/synth/write.js';
import { verifyBlock } from '../../src/tsdb/verify/verify.js';
import { readBackBlock } from '../../src/tsdb/verify/light.js';
import { IndexReader } from '../../src/tsdb/index/reader.js';
import { findSymbol } from '../../src/tsdb/index/symbols.js';
import { readMetaFile } from '../../src/tsdb/meta.js';
import { StrataError } from '../../src/util/errors.js';
import { runCompact } from '../../src/cli/tsdb-compact.js';
import { W0, listDir, tempRoot, type TempRoot } from './helpers.js';
import { writeCraftedBlock, type CraftedChunk } from './crafted.js';

let root: TempRoot;
/** Two adjacent 2h blocks of 300 series: horizontal compaction copies every chunk. */
let adjacent: SynthBlock[];
/** Two blocks with one series whose chunks overlap with different values: re-encoded. */
let overlapping: string[];

beforeAll(async () => {
  root = await tempRoot('strata-write-faults-');
  adjacent = await writeSynthBlocks({
    outDir: root.fresh('synth'),
    series: 300,
    hours: 4,
    seed: 13,
    startMs: W0,
    tenants: [],
    replicas: 0,
  });
  expect(adjacent).toHaveLength(2);
  const chunk = (from: number, to: number, add: number): CraftedChunk => {
    const out: [number, number][] = [];
    for (let i = from; i < to; i++) out.push([W0 + 15_000 * i, i + add]);
    return out;
  };
  const labels = { __name__: 'merged', job: 'x' };
  const a = await writeCraftedBlock(root.fresh('a'), [{ labels, chunks: [chunk(0, 200, 0)] }]);
  const b = await writeCraftedBlock(root.fresh('b'), [{ labels, chunks: [chunk(100, 300, 0.5)] }]);
  overlapping = [a.dir, b.dir];
});

afterAll(async () => {
  await root.cleanup();
});

/** Runs a compaction that must fail; checks nothing was left in the output dir. */
async function refused(inputs: readonly string[], opts: CompactOptions): Promise<StrataError> {
  const out = root.fresh('out');
  let caught: unknown;
  try {
    await compactBlocks(inputs, out, opts);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(StrataError);
  expect(await listDir(out)).toEqual([]);
  return caught as StrataError;
}

const copy = (ls: Labels): Labels => ls.map((l) => ({ name: l.name, value: l.value }));

/** A seam changing the `at`-th series handed to the index (0-based). */
function atSeries(at: number, f: (labels: Labels, chunks: ChunkMeta[], seen: Labels[]) => Labels): WriteSeam {
  const seen: Labels[] = [];
  return {
    series(labels, chunks) {
      const out = seen.length === at ? f(labels, chunks, seen) : labels;
      seen.push(copy(labels));
      return out;
    },
  };
}

const dirs = (): string[] => adjacent.map((b) => b.dir);

describe('compaction output checks while writing (light verification)', () => {
  it('without a fault, both kinds of compaction pass and their outputs pass the full verifier', async () => {
    for (const [inputs, reencoded] of [
      [dirs(), false],
      [overlapping, true],
    ] as const) {
      const res = await compactBlocks(inputs, root.fresh('out'));
      expect(res.dir).toBeDefined();
      expect(res.reencodedChunks > 0).toBe(reencoded);
      const v = await verifyBlock(res.dir!);
      expect(v.problems.filter((p) => p.severity === 'error')).toEqual([]);
    }
    const full = await compactBlocks(dirs(), root.fresh('out'), { verify: 'full' });
    expect(full.series).toBe(300);
  });

  it('a series out of order: ERR_TSDB_OUT_OF_ORDER, not renamed', async () => {
    const seam = atSeries(10, (_l, _c, seen) => seen[3]!);
    const err = await refused(dirs(), { seam });
    expect(err.code).toBe('ERR_TSDB_OUT_OF_ORDER');
    expect(err.message).toContain('series out of order');
  });

  it('a duplicate series: ERR_TSDB_OUT_OF_ORDER naming the duplicate, not renamed', async () => {
    const seam = atSeries(10, (_l, _c, seen) => seen[9]!);
    const err = await refused(dirs(), { seam });
    expect(err.code).toBe('ERR_TSDB_OUT_OF_ORDER');
    expect(err.message).toContain('duplicate of the previous series');
  });

  it('a chunk ref outside what the chunk writer wrote: ERR_TSDB_CORRUPT, not renamed', async () => {
    for (const bad of [(r: number) => r + 5 * 2 ** 32, (r: number) => r + 64 * 2 ** 20, () => 3]) {
      const seam = atSeries(20, (l, c) => {
        c[0]!.ref = bad(c[0]!.ref);
        return l;
      });
      const err = await refused(dirs(), { seam });
      expect(err.code).toBe('ERR_TSDB_CORRUPT');
      expect(err.message).toContain('ref points outside the chunks written');
    }
  });

  it('a chunk ref to another chunk that was written: ERR_TSDB_CORRUPT, not renamed', async () => {
    let first = -1;
    const seam: WriteSeam = {
      series(labels, chunks) {
        if (first < 0) first = chunks[0]!.ref;
        else chunks[0]!.ref = first;
        return labels;
      },
    };
    const err = await refused(dirs(), { seam });
    expect(err.code).toBe('ERR_TSDB_CORRUPT');
    expect(err.message).toContain('the chunk writer wrote');
  });

  it('a chunk outside the block range: ERR_TSDB_CORRUPT, not renamed', async () => {
    const meta = adjacent[1]!.meta;
    for (const move of [
      (c: ChunkMeta[]) => (c[c.length - 1]!.maxt = meta.maxTime + 15_000),
      (c: ChunkMeta[]) => (c[0]!.mint = adjacent[0]!.meta.minTime - 1),
    ]) {
      const seam = atSeries(30, (l, c) => {
        move(c);
        return l;
      });
      const err = await refused(dirs(), { seam });
      expect(err.code).toBe('ERR_TSDB_CORRUPT');
      expect(err.message).toContain('outside the block range');
    }
  });

  it('a broken CRC on a copied chunk: ERR_TSDB_CHECKSUM, not renamed', async () => {
    let n = 0;
    const seam: WriteSeam = {
      copiedChunk(bytes) {
        if (n++ === 100) bytes[bytes.length - 6] = bytes[bytes.length - 6]! ^ 0x10;
      },
    };
    const err = await refused(dirs(), { seam });
    expect(err.code).toBe('ERR_TSDB_CHECKSUM');
    expect(err.message).toContain('CRC32C mismatch');
  });

  it('a re-encoded chunk that does not hold its samples: ERR_TSDB_CORRUPT, not renamed', async () => {
    const seam: WriteSeam = {
      encodedChunk(c) {
        c.data[c.data.length - 1] = c.data[c.data.length - 1]! ^ 0x01;
      },
    };
    const err = await refused(overlapping, { seam });
    expect(err.code).toBe('ERR_TSDB_CORRUPT');
    expect(err.message).toContain('re-encoded chunk');
  });

  it('unsorted postings: ERR_TSDB_OUT_OF_ORDER, not renamed', async () => {
    let done = false;
    const seam: WriteSeam = {
      postings(ids) {
        if (done || ids.length < 2) return;
        done = true;
        const t = ids[0]!;
        ids[0] = ids[1]!;
        ids[1] = t;
      },
    };
    const err = await refused(dirs(), { seam });
    expect(err.code).toBe('ERR_TSDB_OUT_OF_ORDER');
    expect(err.message).toContain('not ascending');
  });
});

describe('strata tsdb compact --verify', () => {
  it('takes light or full and refuses anything else', async () => {
    const sink = { write: () => true } as unknown as NodeJS.WritableStream;
    const base = { dedup: 'exact', replicaLabel: [], maxSamplesPerChunk: 120 };
    for (const verify of ['light', 'full']) {
      const out = root.fresh('cli');
      await runCompact(dirs(), { ...base, out, verify }, sink);
      expect(await listDir(out)).toHaveLength(1);
    }
    const out = root.fresh('cli');
    const err = await runCompact(dirs(), { ...base, out, verify: 'none' }, sink).catch((e: unknown) => e);
    expect((err as StrataError).code).toBe('ERR_INVALID_ARGUMENT');
  });
});

describe('light read-back of the finished files', () => {
  /** A compaction's output (no check) and what its writer reports, for readBackBlock. */
  async function written(): Promise<{ dir: string; w: WrittenBlock }> {
    let w: WrittenBlock | undefined;
    const out = root.fresh('out');
    // The full check of an unchanged output: readBackBlock then sees the same files as before the rename.
    const res = await compactBlocks(dirs(), out, { verify: false });
    const meta = await readMetaFile(res.dir!);
    const index = await IndexReader.open(join(res.dir!, 'index'));
    try {
      const ids = await index.allPostings();
      const sample = [];
      for (let i = 0; i < ids.length; i += 64) {
        const s = await index.series(ids[i]!);
        const syms = index.symbols();
        const refs = Uint32Array.from(
          s.labels.flatMap((l) => [findSymbol(syms, l.name), findSymbol(syms, l.value)]),
        );
        sample.push({ id: ids[i]!, refs, chunks: s.chunks });
      }
      w = {
        numSeries: ids.length,
        numSymbols: index.symbols().length,
        numPostings: index.numPostings,
        sample,
      };
    } finally {
      await index.close();
    }
    expect(meta.stats.numSeries).toBe(w.numSeries);
    return { dir: res.dir!, w };
  }

  it('passes an intact output and catches a flipped byte in the TOC, postings table, a sampled series or chunk', async () => {
    const { dir, w } = await written();
    const meta = await readMetaFile(dir);
    await readBackBlock(dir, meta, w);
    const index = join(dir, 'index');
    const orig = await readFile(index);
    const r = await IndexReader.open(index);
    const seriesOff = 16 * w.sample[1]!.id + 3;
    await r.close();
    for (const off of [orig.length - 10, orig.length - 60, seriesOff]) {
      const bad = Buffer.from(orig);
      bad[off] = bad[off]! ^ 0x44;
      await writeFile(index, bad);
      await expect(readBackBlock(dir, meta, w), `offset ${off}`).rejects.toBeInstanceOf(StrataError);
    }
    await writeFile(index, orig);
    const seg = join(dir, 'chunks', (await readdir(join(dir, 'chunks')))[0]!);
    const segBytes = await readFile(seg);
    const ref = w.sample[2]!.chunks[0]!.ref % 2 ** 32;
    segBytes[ref + 4] = segBytes[ref + 4]! ^ 0x20;
    await writeFile(seg, segBytes);
    const err = await readBackBlock(dir, meta, w).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrataError);
    expect((err as StrataError).code).toBe('ERR_TSDB_CHECKSUM');
  });
});
