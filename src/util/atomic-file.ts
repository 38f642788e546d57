/** Files replaced whole or not at all: written to `<path>.tmp`, fsynced, then renamed over `path`. */
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Runs `write` on a fresh `<path>.tmp` (parent directories created), fsyncs and renames it to
 * `path`. On failure the temporary file is removed and `path` is untouched.
 */
export async function writeAtomically<T>(path: string, write: (fh: FileHandle) => Promise<T>): Promise<T> {
  const tmp = `${path}.tmp`;
  await mkdir(dirname(path), { recursive: true });
  const fh = await open(tmp, 'w');
  let result: T;
  try {
    result = await write(fh);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
  return result;
}
