/**
 * XOR chunks (encoding 1), bit-exact with Prometheus tsdb/chunkenc/xor.go.
 *
 * Layout: uint16 BE sample count; t0 varint + 64 value bits; t1−t0 uvarint + value; then per sample
 * a delta-of-delta bucket and a value. Values are XORed with the previous value and written as the
 * significant bits inside a (leading, trailing) zero window.
 *
 * Values travel as two uint32 halves (hi = sign/exponent word) so NaN payloads, the stale marker
 * and -0 survive decode→encode exactly; a JS number NaN may lose its payload.
 *
 * Timestamps are JS numbers. Every timestamp and every timestamp delta must be an integer within
 * ±(2^53−1): the encoder throws InvalidArgumentError otherwise, the decoder FormatError
 * (ERR_TSDB_CORRUPT). Delta-of-deltas may be larger (the 64-bit bucket payload is exact).
 */
export { XOR_MAX_SAMPLES, XorAppender } from './xor-encode.js';
export { XorIterator, decodeXorInto, scanXorTimes, xorNumSamples } from './xor-decode.js';
