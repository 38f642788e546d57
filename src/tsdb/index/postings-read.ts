/**
 * Reading postings lists at known offsets through a PositionalReader: lists closer together than
 * 1 MiB share one read; a list longer than the probe gets a read of its own.
 */
import { FormatError } from '../../util/errors.js';
import type { PositionalReader } from './positional.js';
import { decodePostingsList } from './postings.js';

/** Initial read past the last list's start; longer lists take a second read. */
const PROBE = 4096;
/** Postings lists closer together than this are read with one read. */
const POSTINGS_WINDOW = 1 << 20;

/** The lists at `offsets` (results in the same order), within [sectionStart, limit). */
export async function readPostingsLists(
  src: PositionalReader,
  path: string,
  sectionStart: number,
  limit: number,
  offsets: readonly number[],
): Promise<Uint32Array[]> {
  const n = offsets.length;
  const out = new Array<Uint32Array>(n);
  const order = new Uint32Array(n);
  let sorted = true;
  for (let i = 0; i < n; i++) {
    order[i] = i;
    if (i > 0 && offsets[i]! < offsets[i - 1]!) sorted = false;
  }
  if (!sorted) order.sort((a, b) => offsets[a]! - offsets[b]!);
  let i = 0;
  while (i < n) {
    const start = offsets[order[i]!]!;
    let j = i + 1;
    while (j < n && offsets[order[j]!]! - start < POSTINGS_WINDOW) j++;
    const readEnd = Math.min(offsets[order[j - 1]!]! + PROBE, limit);
    if (start < sectionStart || start + 12 > limit) {
      throw new FormatError(
        'ERR_TSDB_CORRUPT',
        path,
        start,
        'postings list offset outside the postings section',
      );
    }
    const buf = await src.read(start, readEnd - start);
    for (let k = i; k < j; k++) {
      const off = offsets[order[k]!]!;
      const rel = off - start;
      if (off + 12 > limit) {
        throw new FormatError(
          'ERR_TSDB_CORRUPT',
          path,
          off,
          'postings list offset outside the postings section',
        );
      }
      const len = buf.readUInt32BE(rel);
      const size = 4 + len + 4;
      if (off + size > limit) {
        throw new FormatError(
          'ERR_TSDB_CORRUPT',
          path,
          off,
          `postings list of ${len} bytes runs past its section`,
        );
      }
      if (rel + size <= buf.length) {
        out[order[k]!] = decodePostingsList(buf, rel, rel + size, path, start);
      } else {
        const big = await src.read(off, size);
        out[order[k]!] = decodePostingsList(big, 0, size, path, off);
      }
    }
    i = j;
  }
  return out;
}
