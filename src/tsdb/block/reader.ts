/**
 * BlockReader: one block directory opened for positional reads. Holds the meta, the index reader
 * (TOC, symbols and postings table in memory), the chunk segment reader and the tombstones.
 */
import { join } from 'node:path';
import { IndexReader } from '../index/reader.js';
import { LeanIndex } from '../index/lean.js';
import { SegmentReader } from '../chunks/reader.js';
import { readMetaFile, type BlockMeta } from '../meta.js';
import { readTombstones, type Tombstones } from '../tombstones/tombstones.js';
import { CHUNKS_DIR, INDEX_FILENAME } from './files.js';

export class BlockReader {
  private constructor(
    readonly dir: string,
    readonly meta: BlockMeta,
    readonly index: IndexReader,
    readonly chunks: SegmentReader,
    readonly tombstones: Tombstones,
  ) {}

  static async open(dir: string): Promise<BlockReader> {
    const tombstones = await readTombstones(dir);
    const { meta, index, chunks } = await openParts(dir, (p) => IndexReader.open(p));
    return new BlockReader(dir, meta, index, chunks, tombstones);
  }

  get ulid(): string {
    return this.meta.ulid;
  }

  async close(): Promise<void> {
    await Promise.all([this.index.close(), this.chunks.close()]);
  }
}

/** Opens several blocks; closes those already open if one fails. */
/**
 * A block opened for one streaming pass over its series (downsampling): the index read lean, so
 * nothing per symbol or label value is held; no tombstones.
 */
export class LeanBlock {
  private constructor(
    readonly dir: string,
    readonly meta: BlockMeta,
    readonly index: LeanIndex,
    readonly chunks: SegmentReader,
  ) {}

  static async open(dir: string): Promise<LeanBlock> {
    const { meta, index, chunks } = await openParts(dir, (p) => LeanIndex.open(p));
    return new LeanBlock(dir, meta, index, chunks);
  }

  get ulid(): string {
    return this.meta.ulid;
  }

  async close(): Promise<void> {
    await Promise.all([this.index.close(), this.chunks.close()]);
  }
}

/** meta.json, the index (opened by `openIndex`) and the chunk segments of the block in `dir`. */
async function openParts<I extends { close(): Promise<void> }>(
  dir: string,
  openIndex: (path: string) => Promise<I>,
): Promise<{ meta: BlockMeta; index: I; chunks: SegmentReader }> {
  const meta = await readMetaFile(dir);
  const index = await openIndex(join(dir, INDEX_FILENAME));
  try {
    return { meta, index, chunks: await SegmentReader.open(join(dir, CHUNKS_DIR)) };
  } catch (err) {
    await index.close();
    throw err;
  }
}

export async function openBlocks(dirs: readonly string[]): Promise<BlockReader[]> {
  const out: BlockReader[] = [];
  try {
    for (const d of dirs) out.push(await BlockReader.open(d));
    return out;
  } catch (err) {
    await closeBlocks(out);
    throw err;
  }
}

export async function closeBlocks(blocks: readonly BlockReader[]): Promise<void> {
  await Promise.all(blocks.map((b) => b.close().catch(() => undefined)));
}
