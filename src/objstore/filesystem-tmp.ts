/**
 * Temporary files of the filesystem bucket. A write goes to `.strata-tmp.<uuid>` in the directory
 * of its target and is renamed over it, so the rename never crosses a mount point (a bucket, or a
 * folder in it, may be one) and a leftover of a killed writer is a file next to the object it
 * was writing: inside a tenant or block folder, never a new top-level folder that Cortex or
 * Mimir would take for a tenant, never a folder Thanos would take for a block.
 *
 * Names starting with `.strata-tmp` are reserved: never keys, never listed. `.strata-tmp/` at the
 * bucket root is where older versions staged writes; its leftovers are swept too.
 */
import { randomUUID } from 'node:crypto';
import { lstat, opendir, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errorCode, errorMessage } from '../util/errors.js';
import { ObjstoreError } from './errors.js';

export const TEMPORARY_PREFIX = '.strata-tmp';

/** Whether a file or folder name belongs to the bucket's temporary files (not a key segment). */
const TEMPORARY_DOT = `${TEMPORARY_PREFIX}.`;

export function isTemporaryName(name: string): boolean {
  return name === TEMPORARY_PREFIX || name.startsWith(TEMPORARY_DOT);
}

/** A fresh temporary file name. */
export function temporaryName(): string {
  return `${TEMPORARY_PREFIX}.${randomUUID()}`;
}

export interface SweepOptions {
  /** The bucket directory: the sweep never removes it. */
  root: string;
  olderThanMs: number;
  /** Paths of writes in progress in this process: never removed, whatever their age. */
  inUse: ReadonlySet<string>;
  now: () => number;
}

interface SweepState {
  removed: number;
  failures: string[];
}

const GONE = new Set(['ENOENT', 'ENOTDIR']);

/**
 * Removes temporary files last modified at least olderThanMs ago anywhere under root, and the
 * folders that leaves empty; returns how many files it removed. Symlinks are not followed.
 * Throws one ObjstoreError after the whole sweep when some files could not be removed.
 */
export async function sweepTemporaryFiles(o: SweepOptions): Promise<number> {
  const st: SweepState = { removed: 0, failures: [] };
  await sweepDir(o, st, o.root, false);
  if (st.failures.length > 0) {
    throw new ObjstoreError(
      'ERR_OBJSTORE_TRANSIENT',
      'cleanup_temporary',
      undefined,
      `filesystem:${o.root}: ${st.failures.length} stale temporary files not removed (${st.failures.slice(0, 3).join('; ')})`,
    );
  }
  return st.removed;
}

/** Returns whether it removed anything in `dir` or below. `legacy`: every file is temporary. */
async function sweepDir(o: SweepOptions, st: SweepState, dir: string, legacy: boolean): Promise<boolean> {
  let handle;
  try {
    handle = await opendir(dir);
  } catch (err) {
    if (GONE.has(errorCode(err) ?? '')) return false;
    st.failures.push(`${dir}: ${errorMessage(err)}`);
    return false;
  }
  let changed = false;
  for await (const d of handle) {
    const p = join(dir, d.name);
    if (d.isDirectory()) {
      const inLegacy = legacy || (dir === o.root && d.name === TEMPORARY_PREFIX);
      if (await sweepDir(o, st, p, inLegacy)) changed = true;
    } else if ((legacy || isTemporaryName(d.name)) && (await removeIfStale(o, st, p))) {
      changed = true;
    }
  }
  // Only folders the sweep emptied: a concurrent writer recreates its folder if it loses it.
  if (changed && dir !== o.root) await rmdir(dir).catch(() => {});
  return changed;
}

async function removeIfStale(o: SweepOptions, st: SweepState, p: string): Promise<boolean> {
  if (o.inUse.has(p)) return false;
  try {
    if (o.now() - (await lstat(p)).mtimeMs < o.olderThanMs) return false;
    await unlink(p);
    st.removed++;
    return true;
  } catch (err) {
    if (GONE.has(errorCode(err) ?? '')) return false; // renamed into place or removed meanwhile
    st.failures.push(`${p}: ${errorMessage(err)}`);
    return false;
  }
}
