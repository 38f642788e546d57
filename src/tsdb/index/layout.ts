/** The fixed frame of an index file: header, version and TOC, with the section bounds checked. */
import { FormatError } from '../../util/errors.js';
import {
  HEADER_LEN,
  INDEX_MAGIC,
  INDEX_VERSION_1,
  INDEX_VERSION_2,
  INDEX_VERSION_3,
  MAX_SERIES_ID,
  SERIES_ALIGN,
  TOC_LEN,
  decodeToc,
  type IndexToc,
} from './format.js';
import type { PositionalReader } from './positional.js';

export interface IndexLayout {
  size: number;
  version: number;
  toc: IndexToc;
  /** File offset of the TOC. */
  tocAt: number;
  /** File offset where the series section ends (the next present section). */
  seriesEnd: number;
}

export async function readIndexLayout(fh: PositionalReader, path: string): Promise<IndexLayout> {
  const size = fh.size;
  if (size < HEADER_LEN + TOC_LEN) {
    throw new FormatError(
      'ERR_TSDB_TRUNCATED',
      path,
      size,
      `index of ${size} bytes is shorter than header + TOC`,
    );
  }
  const head = await fh.read(0, HEADER_LEN);
  const magic = head.readUInt32BE(0);
  if (magic !== INDEX_MAGIC) {
    throw new FormatError(
      'ERR_TSDB_BAD_MAGIC',
      path,
      0,
      `bad index magic 0x${magic.toString(16).padStart(8, '0')}`,
    );
  }
  const version = head[4]!;
  if (version === INDEX_VERSION_1) {
    throw new FormatError(
      'ERR_TSDB_BAD_VERSION',
      path,
      4,
      'index format v1 (Prometheus < 2.0) is not supported',
    );
  }
  if (version !== INDEX_VERSION_2 && version !== INDEX_VERSION_3) {
    throw new FormatError('ERR_TSDB_BAD_VERSION', path, 4, `unknown index format version ${version}`);
  }
  const tocAt = size - TOC_LEN;
  const toc = decodeToc(await fh.read(tocAt, TOC_LEN), path, tocAt);
  const checkOff = (off: number, what: string, field: number): void => {
    if (off < HEADER_LEN || off >= tocAt) {
      throw new FormatError(
        'ERR_TSDB_CORRUPT',
        path,
        tocAt + field * 8,
        `TOC ${what} offset ${off} outside the file`,
      );
    }
  };
  checkOff(toc.symbols, 'symbols', 0);
  checkOff(toc.series, 'series', 1);
  checkOff(toc.postingsTable, 'postings offset table', 5);
  if (toc.series < toc.symbols || toc.postingsTable < toc.series) {
    throw new FormatError('ERR_TSDB_CORRUPT', path, tocAt, 'TOC sections out of order');
  }
  // The series section ends where the next present section starts.
  let seriesEnd = toc.postingsTable;
  for (const off of [toc.labelIndices, toc.postings, toc.labelIndicesTable]) {
    if (off > toc.series && off < seriesEnd) seriesEnd = off;
  }
  return { size, version, toc, tocAt, seriesEnd };
}

/** The body length of the `len body crc` section at `off`, checked to end before `limit`. */
export async function sectionLength(
  fh: PositionalReader,
  path: string,
  off: number,
  limit: number,
  what: string,
): Promise<number> {
  if (off + 8 > limit)
    throw new FormatError('ERR_TSDB_TRUNCATED', path, off, `${what} header runs past the TOC`);
  const len = (await fh.read(off, 4)).readUInt32BE(0);
  if (off + 4 + len + 4 > limit) {
    throw new FormatError(
      'ERR_TSDB_CORRUPT',
      path,
      off,
      `${what} length ${len} runs past the end of the file`,
    );
  }
  return len;
}

/** The file offset of series `id`; a FormatError when it lies outside [seriesStart, seriesEnd). */
export function seriesOffset(id: number, seriesStart: number, seriesEnd: number, path: string): number {
  const off = id * SERIES_ALIGN;
  if (!Number.isInteger(id) || id < 0 || id > MAX_SERIES_ID || off < seriesStart || off >= seriesEnd) {
    throw new FormatError(
      'ERR_TSDB_CORRUPT',
      path,
      Number.isFinite(off) ? off : 0,
      `series ID ${id} outside the series section [${seriesStart}, ${seriesEnd})`,
    );
  }
  return off;
}
