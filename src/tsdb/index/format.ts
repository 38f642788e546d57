/**
 * Index format v2 constants and the table of contents (the last 52 bytes of the file).
 * Layout facts: /work/shared/docs/tsdb-format.md section 4.
 */
import { Decbuf } from '../encoding/decbuf.js';
import { Encbuf } from '../encoding/encbuf.js';
import { crc32c } from '../encoding/crc32c.js';

export const INDEX_MAGIC = 0xbaaad700;
export const INDEX_VERSION_1 = 1;
export const INDEX_VERSION_2 = 2;
/** Prometheus >= 2.55 reads a v3 header exactly like v2 (v3 was reserved for dropping the legacy sections). */
export const INDEX_VERSION_3 = 3;
export const HEADER_LEN = 5;
export const TOC_LEN = 6 * 8 + 4;
export const SERIES_ALIGN = 16;
export const POSTINGS_ALIGN = 4;
/** Series IDs are uint32 offsets / 16. */
export const MAX_SERIES_ID = 0xffff_ffff;
export const MAX_UINT32 = 0xffff_ffff;

/** One chunk of a series: first and last sample time, and segment * 2^32 + offset. */
export interface ChunkMeta {
  mint: number;
  maxt: number;
  ref: number;
}

export interface IndexToc {
  readonly symbols: number;
  readonly series: number;
  readonly labelIndices: number;
  readonly labelIndicesTable: number;
  readonly postings: number;
  readonly postingsTable: number;
}

export function encodeToc(toc: IndexToc): Uint8Array {
  const e = new Encbuf(TOC_LEN);
  e.putBE64(toc.symbols);
  e.putBE64(toc.series);
  e.putBE64(toc.labelIndices);
  e.putBE64(toc.labelIndicesTable);
  e.putBE64(toc.postings);
  e.putBE64(toc.postingsTable);
  e.putBE32(crc32c(e.view()));
  return e.view().slice();
}

/** Decodes the TOC from its 52 bytes, which sit at `fileOffset` in `file`. */
export function decodeToc(bytes: Uint8Array, file: string, fileOffset: number): IndexToc {
  const d = new Decbuf(bytes, 0, bytes.length, file, fileOffset);
  d.need(TOC_LEN, 'index TOC');
  const want = new Decbuf(bytes, TOC_LEN - 4, TOC_LEN, file, fileOffset).be32();
  if (crc32c(bytes.subarray(0, TOC_LEN - 4)) !== want) {
    d.fail('ERR_TSDB_CHECKSUM', 'index TOC checksum mismatch', TOC_LEN - 4);
  }
  return {
    symbols: d.be64(),
    series: d.be64(),
    labelIndices: d.be64(),
    labelIndicesTable: d.be64(),
    postings: d.be64(),
    postingsTable: d.be64(),
  };
}

export function alignUp(pos: number, align: number): number {
  const rem = pos % align;
  return rem === 0 ? pos : pos + (align - rem);
}
