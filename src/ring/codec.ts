/**
 * The value under a Cortex ring key: a `ring.Desc` in protobuf, then compressed with snappy's
 * block format (not the framing format), as Cortex's `codec.Proto` does with golang/snappy.
 *
 * Decoding keeps fields this schema does not know (protobuf-es stores them on each message and
 * writes them back), so a descriptor from a newer Cortex survives Strata's read-modify-write.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { DescSchema, type Desc } from '../../gen/cortex/ring/ring_pb.js';
import { StrataError, errorMessage } from '../util/errors.js';
import { snappyCompress, snappyUncompress } from '../util/snappy.js';

/**
 * Refuse to inflate more than this: a garbage header could claim up to 4 GiB. A ring of 1,000
 * instances with 512 tokens is about 2.5 MB.
 */
export const MAX_RING_DESC_BYTES = 64 * 1024 * 1024;

/** A value codec of a key-value store (bytes ↔ T). `key` only names the key in errors. */
export interface ValueCodec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array, key: string): T;
}

export function newRingDesc(): Desc {
  return create(DescSchema);
}

export function encodeRingDesc(desc: Desc): Uint8Array {
  return snappyCompress(toBinary(DescSchema, desc));
}

/** ERR_RING_CORRUPT, naming the key, when the bytes are not snappy or not a ring.Desc. */
export function decodeRingDesc(bytes: Uint8Array, key: string): Desc {
  let raw: Uint8Array;
  try {
    raw = snappyUncompress(bytes, MAX_RING_DESC_BYTES);
  } catch (err) {
    throw corrupt(key, bytes, `not snappy block data (${errorMessage(err)})`, err);
  }
  try {
    return fromBinary(DescSchema, raw);
  } catch (err) {
    throw corrupt(key, bytes, `not a ring.Desc protobuf (${errorMessage(err)})`, err);
  }
}

export const ringDescCodec: ValueCodec<Desc> = { encode: encodeRingDesc, decode: decodeRingDesc };

function corrupt(key: string, bytes: Uint8Array, what: string, cause: unknown): StrataError {
  const head = Buffer.from(bytes.subarray(0, 16)).toString('hex');
  return new StrataError(
    'ERR_RING_CORRUPT',
    `ring key "${key}": value of ${bytes.length} bytes is ${what}; first bytes ${head}`,
    { cause },
  );
}
