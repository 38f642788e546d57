/**
 * Time summary of a stored chunk for verification. Aggregated chunks (encoding 0xff) are
 * accepted only in downsampled blocks (meta resolution > 0), where they are the norm; in a raw
 * block they stay an undecodable encoding (ERR_TSDB_UNKNOWN_ENCODING), as everywhere else.
 */
import type { StoredChunk } from '../chunkenc/chunk.js';
import { chunkFirstTime, scanChunkTimes } from '../chunkenc/chunk.js';
import { newChunkTimeSummary, type ChunkTimeSummary } from '../chunkenc/codec.js';
import { ENC_THANOS_AGGR } from '../chunkenc/encoding.js';
import { scanAggrTimes } from '../downsample/aggr-chunk.js';
import type { BlockMeta } from '../meta.js';

/** True when the block's meta says it holds downsampled (aggregated) data. */
export function isDownsampled(meta: BlockMeta): boolean {
  return (meta.thanos?.downsample.resolution ?? 0) > 0;
}

export function scanStoredChunk(
  c: StoredChunk,
  out: ChunkTimeSummary,
  file: string,
  downsampled: boolean,
): void {
  if (downsampled && c.encoding === ENC_THANOS_AGGR) scanAggrTimes(c.data, out, file, c.dataOffset);
  else scanChunkTimes(c, out, file);
}

const aggrSummary = newChunkTimeSummary();

/**
 * The first timestamp of a stored chunk from its head (NaN for an aggregated chunk without
 * samples). Aggregated chunks are scanned whole: their first count sample is not at the head.
 */
export function storedChunkFirstTime(c: StoredChunk, file: string, downsampled: boolean): number {
  if (!(downsampled && c.encoding === ENC_THANOS_AGGR)) return chunkFirstTime(c, file);
  scanAggrTimes(c.data, aggrSummary, file, c.dataOffset);
  return aggrSummary.samples > 0 ? aggrSummary.first : NaN;
}
