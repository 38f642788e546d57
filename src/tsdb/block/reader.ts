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
    const meta = await readMetaFile(dir);
    const tombstones = await readTombstones(dir);
    const index = await IndexReader.open(join(dir, INDEX_FILENAME));
    try {
      const chunks = await SegmentReader.open(join(dir, CHUNKS_DIR));
      return new BlockReader(dir, meta, index, chunks, tombstones);
    } catch (err) {
      await index.close();
      throw err;
    }
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
    const meta = await readMetaFile(dir);
    const index = await LeanIndex.open(join(dir, INDEX_FILENAME));
    try {
      const chunks = await SegmentReader.open(join(dir, CHUNKS_DIR));
      return new LeanBlock(dir, meta, index, chunks);
    } catch (err) {
      await index.close();
      throw err;
    }
  }

  get ulid(): string {
    return this.meta.ulid;
  }

  async close(): Promise<void> {
    await Promise.all([this.index.close(), this.chunks.close()]);
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
