/**
 * Directories a user names (`--out`, `--data-dir`, a download target): created one level at a
 * time and probed with a temporary subdirectory before any work starts. Node's recursive mkdir
 * loops forever where mkdir answers ENOENT under a parent that exists (/proc, some FUSE mounts);
 * this fails fast instead, and every later recursive mkdir below the directory is safe.
 */
import type { Stats } from 'node:fs';
import { mkdir, mkdtemp, rmdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { StrataError, errorCode } from './errors.js';
import { findSystemError, systemErrorText } from './system-errors.js';

function dirError(err: unknown, what: string, path: string, doing: string): StrataError {
  const sys = findSystemError(err);
  const text = sys !== undefined ? systemErrorText(sys) : String(err);
  return new StrataError('ERR_IO', `${what} ${path}: ${doing}: ${text}`, { cause: err });
}

/**
 * Makes `path` (and missing parents) a writable directory; returns its absolute path. Throws
 * ERR_IO naming `what` (the flag or argument) and the path.
 */
export async function prepareDir(path: string, what: string): Promise<string> {
  const abs = resolve(path);
  const missing: string[] = [];
  for (let p = abs; ; p = dirname(p)) {
    let st: Stats | undefined;
    try {
      st = await stat(p);
    } catch (err) {
      // ENOTDIR: some parent is a file; the walk up finds it and says so.
      const code = errorCode(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw dirError(err, what, path, `cannot use ${p}`);
    }
    if (st !== undefined) {
      if (!st.isDirectory()) throw new StrataError('ERR_IO', `${what} ${path}: ${p} is not a directory`);
      break;
    }
    missing.push(p);
    if (dirname(p) === p) break;
  }
  for (const d of missing.reverse()) {
    try {
      await mkdir(d);
    } catch (err) {
      if (errorCode(err) !== 'EEXIST') throw dirError(err, what, path, `cannot create directory ${d}`);
    }
  }
  let probe: string;
  try {
    probe = await mkdtemp(join(abs, '.strata-probe-'));
  } catch (err) {
    throw dirError(err, what, path, 'cannot write in it');
  }
  await rmdir(probe);
  return abs;
}
