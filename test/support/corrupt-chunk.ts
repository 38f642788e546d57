/** Damage a block on disk in a controlled way (bad-input tests). */
import { readFile, writeFile } from 'node:fs/promises';
import { crc32c } from '../../src/tsdb/encoding/crc32c.js';

/**
 * Rewrites the encoding byte of the first chunk of a segment file, with a valid CRC (so only the
 * encoding is wrong). Returns the byte's offset in the file.
 */
export async function setFirstChunkEncoding(segmentPath: string, encoding: number): Promise<number> {
  const seg = await readFile(segmentPath);
  // The first chunk starts after the 8-byte segment header: uvarint len, encoding, data, CRC.
  let q = 8;
  let len = 0;
  let mul = 1;
  for (;;) {
    const b = seg[q++]!;
    len += (b & 0x7f) * mul;
    if (b < 0x80) break;
    mul *= 128;
  }
  seg[q] = encoding;
  seg.writeUInt32BE(crc32c(seg.subarray(q, q + 1 + len)), q + 1 + len);
  await writeFile(segmentPath, seg);
  return q;
}
