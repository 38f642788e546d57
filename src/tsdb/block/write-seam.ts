/**
 * A seam into the block writer path, for fault-injection tests: each hook sees (and may change)
 * what is about to be written, after it was produced and before the writer's own checks run.
 * Production code passes none. Hooks must be synchronous and may mutate their arguments in place.
 */
import type { Labels } from '../labels.js';
import type { ChunkMeta } from '../index/format.js';
import type { EncodedChunk } from '../chunkenc/encode.js';

export interface WriteSeam {
  /** A series about to be indexed: may change its chunk metas in place; returns the labels to use. */
  series?(labels: Labels, chunks: ChunkMeta[]): Labels;
  /** The on-disk bytes (len, encoding, data, CRC) of a chunk about to be copied. */
  copiedChunk?(bytes: Uint8Array): void;
  /** A re-encoded chunk about to be checked against its samples and written. */
  encodedChunk?(c: EncodedChunk): void;
  /** A postings list (series IDs) about to be encoded into the index. */
  postings?(ids: Uint32Array): void;
}
