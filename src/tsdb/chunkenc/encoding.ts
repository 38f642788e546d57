/** Chunk encodings: the byte stored before each chunk's data in a segment file. */

export const ENC_NONE = 0;
/** Gorilla-style XOR float chunk. */
export const ENC_XOR = 1;
/** Native histogram chunks: integer (2) and float (3); see histogram-codec.ts. */
export const ENC_HISTOGRAM = 2;
export const ENC_FLOAT_HISTOGRAM = 3;
/** XOR2 (Prometheus 3.11+, opt-in). Copied through, never decoded. */
export const ENC_XOR2 = 4;
/** Thanos downsampling AggrChunk: five optional sub-chunks (count, sum, min, max, counter). */
export const ENC_THANOS_AGGR = 0xff;

export type ChunkEncoding = number;

const NAMES: ReadonlyMap<number, string> = new Map([
  [ENC_NONE, 'none'],
  [ENC_XOR, 'XOR'],
  [ENC_HISTOGRAM, 'histogram'],
  [ENC_FLOAT_HISTOGRAM, 'floathistogram'],
  [ENC_XOR2, 'XOR2'],
  [ENC_THANOS_AGGR, 'thanos-aggr'],
]);

/** Human-readable name of an encoding byte, e.g. for errors; unknown bytes read `<unknown 0x..>`. */
export function encodingName(enc: number): string {
  return NAMES.get(enc) ?? `<unknown 0x${(enc & 0xff).toString(16).padStart(2, '0')}>`;
}

/** True for encoding bytes some Prometheus-compatible writer is known to produce. */
export function isKnownEncoding(enc: number): boolean {
  return enc !== ENC_NONE && NAMES.has(enc);
}
