/** Names inside a block directory, and listing the blocks of a directory. */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isUlid } from '../ulid.js';
import { META_FILENAME } from '../meta.js';
import { errorCode } from '../../util/errors.js';

export const CHUNKS_DIR = 'chunks';
export const INDEX_FILENAME = 'index';
export const TMP_FOR_CREATION = '.tmp-for-creation';

export function segmentName(i: number): string {
  return String(i + 1).padStart(6, '0');
}

/** True when `dir` looks like a block (has meta.json). */
export async function isBlockDir(dir: string): Promise<boolean> {
  try {
    return (await stat(join(dir, META_FILENAME))).isFile();
  } catch (err) {
    if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') return false;
    throw err;
  }
}

/** Block directories (ULID-named, with meta.json) directly inside `dir`, sorted by ULID. */
export async function listBlockDirs(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter(isUlid).sort();
  const out: string[] = [];
  for (const n of names) if (await isBlockDir(join(dir, n))) out.push(join(dir, n));
  return out;
}

/** A path that is a block, or a directory of blocks → block dirs. */
export async function resolveBlockDirs(path: string): Promise<string[]> {
  if (await isBlockDir(path)) return [path];
  return listBlockDirs(path);
}

export interface FileSize {
  relPath: string;
  size: number;
}

/** Every file in a block dir with its size, sorted by relative path (for thanos.files). */
export async function blockFiles(dir: string): Promise<FileSize[]> {
  const out: FileSize[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else out.push({ relPath: r, size: (await stat(join(dir, r))).size });
    }
  };
  await walk('');
  return out.sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
}
