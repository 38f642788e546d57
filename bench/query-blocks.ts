/**
 * Data of bench/query.ts: 24 h of synthetic blocks (strata tsdb synth's writer) in a filesystem
 * bucket, and N block dirs hard-linked from one block (fresh ULIDs,
 * distinct time ranges and compaction sources, so the fetcher's duplicate filter keeps them all).
 */
import { link, mkdir, open, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatMeta, META_FILENAME, type BlockMeta } from '../src/tsdb/meta.js';
import { writeSynthBlocks, type SynthBlock } from '../src/tsdb/synth/write.js';
import { seededRandom, ulidSource } from '../src/tsdb/ulid.js';

export const HOUR = 3_600_000;

/** Writes `series` series × `hours` h of 2 h blocks into `dir` (single-tenant bucket layout). */
export async function synthBucket(
  dir: string,
  series: number,
  hours: number,
  startMs: number,
): Promise<SynthBlock[]> {
  await mkdir(dir, { recursive: true });
  const blocks = await writeSynthBlocks({ outDir: dir, series, hours, seed: 42, startMs });
  return blocks.sort((a, b) => a.meta.minTime - b.meta.minTime);
}

/** The data files of a block (index, chunks/*), relative paths. */
async function dataFiles(blockDir: string): Promise<string[]> {
  const chunks = (await readdir(join(blockDir, 'chunks'))).sort().map((f) => join('chunks', f));
  return ['index', ...chunks];
}

/** Reads every data file of the blocks sequentially (1 MiB reads): bytes and ms. */
export async function sequentialRead(blocks: readonly SynthBlock[]): Promise<{ bytes: number; ms: number }> {
  const buf = Buffer.allocUnsafe(1 << 20);
  let bytes = 0;
  const t0 = performance.now();
  for (const b of blocks) {
    for (const f of await dataFiles(b.dir)) {
      const fh = await open(join(b.dir, f), 'r');
      try {
        for (;;) {
          const { bytesRead } = await fh.read(buf, 0, buf.length, null);
          if (bytesRead === 0) break;
          bytes += bytesRead;
        }
      } finally {
        await fh.close();
      }
    }
  }
  return { bytes, ms: performance.now() - t0 };
}

/** Total size of the blocks' data files. */
export async function dataBytes(blocks: readonly SynthBlock[]): Promise<number> {
  let n = 0;
  for (const b of blocks) for (const f of await dataFiles(b.dir)) n += (await stat(join(b.dir, f))).size;
  return n;
}

/**
 * `n` blocks in `toDir`, each a dir of hard links to `src`'s files and its own meta.json: a new
 * ULID, the source's range shifted back by i × its length, compaction.sources = [its ULID].
 */
export async function linkedBlocks(src: SynthBlock, toDir: string, n: number): Promise<void> {
  await mkdir(toDir, { recursive: true });
  const files = await dataFiles(src.dir);
  const span = src.meta.maxTime - src.meta.minTime;
  const ulids = ulidSource(seededRandom(7));
  for (let i = 0; i < n; i++) {
    const minTime = src.meta.minTime - (n - i) * span;
    const id = ulids(minTime + span);
    const dir = join(toDir, id);
    await mkdir(join(dir, 'chunks'), { recursive: true });
    for (const f of files) await link(join(src.dir, f), join(dir, f));
    const meta: BlockMeta = {
      ...src.meta,
      ulid: id,
      minTime,
      maxTime: minTime + span,
      compaction: { level: 1, sources: [id] },
    };
    await writeFile(join(dir, META_FILENAME), formatMeta(meta));
  }
}
