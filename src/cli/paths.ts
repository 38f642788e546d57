/** Paths named on the command line, checked before any work so a typo is one clear error. */
import { stat } from 'node:fs/promises';
import { resolveBlockDirs } from '../tsdb/block/files.js';
import { StrataError } from '../util/errors.js';
import { fromSystemError } from '../util/system-errors.js';

/**
 * The block directories of each path (a block, or a directory of blocks), in order. A missing
 * path is ERR_NOT_FOUND, a file ERR_NOT_FOUND too (no directory there), an unreadable one ERR_IO.
 */
export async function blockDirsOf(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) out.push(...(await blockDirsOfOne(p)));
  return out;
}

export async function blockDirsOfOne(path: string): Promise<string[]> {
  try {
    if (!(await stat(path)).isDirectory()) {
      throw new StrataError(
        'ERR_NOT_FOUND',
        `${path}: not a directory (give a block directory or a directory of blocks)`,
      );
    }
    return await resolveBlockDirs(path);
  } catch (err) {
    throw fromSystemError(err);
  }
}
