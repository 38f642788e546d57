/**
 * Snappy's block format (github.com/google/snappy format_description.txt), the format of
 * golang/snappy's Encode/Decode that Cortex's ring codec uses. Compression is snappyjs'; the
 * decoder is here because snappyjs returns a zero-padded buffer for a block that ends early,
 * where golang/snappy reports corrupt input. This one checks every length and offset.
 */
import { compress } from 'snappyjs';

export function snappyCompress(raw: Uint8Array): Uint8Array {
  return compress(raw);
}

/** Throws an Error describing the first defect; never allocates more than `maxLength` bytes. */
export function snappyUncompress(data: Uint8Array, maxLength: number): Uint8Array {
  if (data.length === 0) throw new Error('empty input');
  let pos = 0;
  // Preamble: the uncompressed length, a little-endian base-128 varint of at most 32 bits.
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= data.length) throw new Error('truncated length preamble');
    if (shift > 28) throw new Error('length preamble longer than 32 bits');
    const b = data[pos++]!;
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  if (length > 0xffff_ffff) throw new Error('length preamble longer than 32 bits');
  if (length > maxLength) throw new Error(`uncompressed length ${length} exceeds ${maxLength}`);

  const out = new Uint8Array(length);
  let d = 0;
  while (pos < data.length) {
    const tag = data[pos++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let n = tag >>> 2;
      if (n >= 60) {
        const bytes = n - 59;
        if (pos + bytes > data.length) throw new Error('truncated literal length');
        n = 0;
        for (let i = 0; i < bytes; i++) n += data[pos + i]! * 2 ** (8 * i);
        pos += bytes;
      }
      n += 1;
      if (pos + n > data.length) throw new Error(`literal of ${n} bytes past the end of the input`);
      if (d + n > length) throw new Error('literal past the uncompressed length');
      out.set(data.subarray(pos, pos + n), d);
      pos += n;
      d += n;
      continue;
    }
    let n: number;
    let offset: number;
    if (kind === 1) {
      if (pos + 1 > data.length) throw new Error('truncated copy');
      n = ((tag >>> 2) & 7) + 4;
      offset = (tag >>> 5) * 256 + data[pos]!;
      pos += 1;
    } else if (kind === 2) {
      if (pos + 2 > data.length) throw new Error('truncated copy');
      n = (tag >>> 2) + 1;
      offset = data[pos]! + data[pos + 1]! * 256;
      pos += 2;
    } else {
      if (pos + 4 > data.length) throw new Error('truncated copy');
      n = (tag >>> 2) + 1;
      offset = data[pos]! + data[pos + 1]! * 2 ** 8 + data[pos + 2]! * 2 ** 16 + data[pos + 3]! * 2 ** 24;
      pos += 4;
    }
    if (offset === 0 || offset > d) throw new Error(`copy offset ${offset} outside the ${d} bytes written`);
    if (d + n > length) throw new Error('copy past the uncompressed length');
    // Byte by byte: a copy may overlap its own output (offset < length repeats a pattern).
    for (let i = 0; i < n; i++, d++) out[d] = out[d - offset]!;
  }
  if (d !== length) throw new Error(`block ends after ${d} of ${length} bytes`);
  return out;
}
