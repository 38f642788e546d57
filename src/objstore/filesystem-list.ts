/**
 * Listing a filesystem bucket: one directory at a time in key byte order, like S3 pages, skipping
 * temporary files and directories without objects (so a listing never shows an empty prefix).
 */
import type { Dir, Dirent } from 'node:fs';
import { opendir, readdir, stat } from 'node:fs/promises';
import { errorCode } from '../util/errors.js';
import { compareKeys, sortsNatively, type IterEntry } from './bucket.js';
import { isTemporaryName } from './filesystem-tmp.js';

/** fs error codes that mean "no such object" for a key. */
export const NOT_FOUND_CODES: ReadonlySet<string> = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

export interface ListContext {
  keyPath(key: string): string;
  fsError(op: string, key: string, err: unknown): Error;
}

interface DirEntry {
  key: string;
  isDir: boolean;
}

/** Entries of `dirKey` (a key ending in '/', or '') whose names start with namePrefix. */
export async function* walkKeys(
  ctx: ListContext,
  dirKey: string,
  namePrefix: string,
  recursive: boolean,
  startAfter: string | undefined,
): AsyncGenerator<IterEntry> {
  const entries = await readDirSorted(ctx, dirKey, namePrefix, startAfter);
  const probes = recursive ? undefined : new FolderProbes(ctx, entries, startAfter);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (!e.isDir) {
      let st;
      try {
        st = await stat(ctx.keyPath(e.key));
      } catch (err) {
        if (NOT_FOUND_CODES.has(errorCode(err) ?? '')) continue; // deleted while listing
        throw ctx.fsError('iter', e.key, err);
      }
      yield { key: e.key, size: st.size, lastModified: st.mtime };
      continue;
    }
    if (probes === undefined) {
      yield* walkKeys(ctx, e.key, '', true, folderStartAfter(e.key, startAfter));
    } else if (await probes.at(i)) {
      yield { key: e.key };
    }
  }
}

/** startAfter as seen inside a folder readDirSorted kept. */
function folderStartAfter(key: string, startAfter: string | undefined): string | undefined {
  const sub = subtreeStartAfter(key, startAfter); // never false: readDirSorted dropped those
  return sub === false ? undefined : sub;
}

/** Folders probed at once ahead of the listing's consumer (each a few file system calls). */
const PROBES_AHEAD = 16;

/**
 * Whether each folder of a non-recursive listing holds an object, probed up to PROBES_AHEAD
 * folders ahead of the consumer (one after the other, a bucket root of a hundred tenants waited
 * on four calls per tenant in turn). A listing of few folders (each may be large, a tenant's)
 * streams them and stops at the first object; one of many (each small, a block's) reads each
 * whole in one call instead of the three a stream takes.
 */
class FolderProbes {
  readonly #ctx: ListContext;
  readonly #entries: readonly DirEntry[];
  readonly #startAfter: string | undefined;
  readonly #probe: typeof hasObject;
  readonly #pending = new Map<number, Promise<boolean>>();
  #next = 0;

  constructor(ctx: ListContext, entries: readonly DirEntry[], startAfter: string | undefined) {
    this.#ctx = ctx;
    this.#entries = entries;
    this.#startAfter = startAfter;
    let folders = 0;
    for (const e of entries) if (e.isDir) folders++;
    this.#probe = folders <= STREAMED_PROBES ? hasObjectStreamed : hasObject;
  }

  /** Whether entry i (a folder) holds an object after startAfter. */
  at(i: number): Promise<boolean> {
    while (this.#next < this.#entries.length && this.#next <= i + PROBES_AHEAD) this.#start(this.#next++);
    const p = this.#pending.get(i) ?? Promise.resolve(false);
    this.#pending.delete(i);
    return p;
  }

  #start(j: number): void {
    const e = this.#entries[j]!;
    if (!e.isDir || e.key === this.#startAfter) return;
    const p = this.#probe(this.#ctx, e.key, folderStartAfter(e.key, this.#startAfter));
    p.catch(() => undefined); // awaited by at(j); a consumer that stops early leaves it unobserved
    this.#pending.set(j, p);
  }
}

/** Listings with at most this many folders probe each by streaming it (walkKeys). */
const STREAMED_PROBES = 256;

/**
 * Whether the directory holds at least one object (after startAfter). The file entries of the
 * directory listing say so; no stat (a listing does not promise the object still exists when it
 * is read, on S3 either). One read of the directory, unsorted (order does not change the answer):
 * its files first, then its directories depth first until one holds an object.
 */
async function hasObject(ctx: ListContext, dirKey: string, startAfter: string | undefined): Promise<boolean> {
  let dirents: Dirent[];
  try {
    dirents = await readdir(ctx.keyPath(dirKey), { withFileTypes: true });
  } catch (err) {
    if (NOT_FOUND_CODES.has(errorCode(err) ?? '')) return false;
    throw ctx.fsError('iter', dirKey, err);
  }
  // Its files first (no call each), then its directories.
  for (const d of dirents) {
    if (d.isFile() && !isTemporaryName(d.name) && follows(dirKey + d.name, startAfter)) return true;
  }
  for (const d of dirents) if (!d.isFile() && (await entryHolds(ctx, dirKey, d, startAfter))) return true;
  return false;
}

/**
 * hasObject, reading the directory as a stream in directory order and stopping at the first
 * object: a tenant's folder of ten thousand blocks answers at its first block without reading,
 * let alone sorting, the rest.
 */
async function hasObjectStreamed(
  ctx: ListContext,
  dirKey: string,
  startAfter: string | undefined,
): Promise<boolean> {
  let dir: Dir;
  try {
    dir = await opendir(ctx.keyPath(dirKey));
  } catch (err) {
    if (NOT_FOUND_CODES.has(errorCode(err) ?? '')) return false;
    throw ctx.fsError('iter', dirKey, err);
  }
  try {
    for (;;) {
      let d: Dirent | null;
      try {
        d = await dir.read();
      } catch (err) {
        if (NOT_FOUND_CODES.has(errorCode(err) ?? '')) return false; // removed while read
        throw ctx.fsError('iter', dirKey, err);
      }
      if (d === null) return false;
      if (await entryHolds(ctx, dirKey, d, startAfter)) return true;
    }
  } finally {
    await dir.close().catch(() => undefined);
  }
}

/** Whether entry `d` of directory dirKey is, or holds, an object after startAfter. */
async function entryHolds(
  ctx: ListContext,
  dirKey: string,
  d: Dirent,
  startAfter: string | undefined,
): Promise<boolean> {
  if (isTemporaryName(d.name)) return false;
  const kind = d.isSymbolicLink() ? await linkKind(ctx, dirKey + d.name) : direntKind(d);
  if (kind === 'file') return follows(dirKey + d.name, startAfter);
  if (kind !== 'dir') return false;
  const sub = subtreeStartAfter(`${dirKey}${d.name}/`, startAfter);
  return sub !== false && hasObject(ctx, `${dirKey}${d.name}/`, sub);
}

function follows(key: string, startAfter: string | undefined): boolean {
  return startAfter === undefined || compareKeys(key, startAfter) > 0;
}

type EntryKind = 'file' | 'dir' | undefined;

function direntKind(d: Dirent): EntryKind {
  return d.isDirectory() ? 'dir' : d.isFile() ? 'file' : undefined;
}

/** What a symbolic link points at; undefined when dangling or neither a file nor a directory. */
async function linkKind(ctx: ListContext, key: string): Promise<EntryKind> {
  try {
    const st = await stat(ctx.keyPath(key));
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Entries of one directory in key byte order ('a/', a directory, sorts as that string would),
 * only those named namePrefix... that can hold keys after startAfter. Filtered before the sort:
 * a tail listing of a large folder then sorts only its new entries.
 */
async function readDirSorted(
  ctx: ListContext,
  dirKey: string,
  namePrefix: string,
  startAfter: string | undefined,
): Promise<DirEntry[]> {
  let dirents;
  try {
    dirents = await readdir(ctx.keyPath(dirKey), { withFileTypes: true });
  } catch (err) {
    if (NOT_FOUND_CODES.has(errorCode(err) ?? '')) return [];
    throw ctx.fsError('iter', dirKey, err);
  }
  // Entries are compared by name with the part of startAfter below this directory: the names are
  // flat strings, where a key built per entry (a rope) made each comparison ~5x slower.
  const rest = startAfter?.startsWith(dirKey) === true ? startAfter.slice(dirKey.length) : undefined;
  // A tail listing compares every name of a large folder with rest: natively when that is exact.
  const after =
    rest === undefined || !sortsNatively(rest)
      ? (name: string): boolean => compareKeys(name, rest!) > 0
      : (name: string): boolean => name > rest;
  const out: DirEntry[] = [];
  for (const d of dirents) {
    // A file's key follows rest only if the directory of that name would: skip the rest first.
    if (rest !== undefined && !dirMayFollow(d.name, rest, after)) continue;
    if (!d.name.startsWith(namePrefix) || isTemporaryName(d.name)) continue;
    const kind = d.isSymbolicLink() ? await linkKind(ctx, dirKey + d.name) : direntKind(d);
    if (kind === 'dir') {
      if (
        rest !== undefined
          ? dirMayFollow(d.name, rest, after)
          : subtreeStartAfter(`${dirKey}${d.name}/`, startAfter) !== false
      )
        out.push({ key: `${dirKey}${d.name}/`, isDir: true });
    } else if (kind === 'file') {
      if (rest !== undefined ? after(d.name) : follows(dirKey + d.name, startAfter))
        out.push({ key: dirKey + d.name, isDir: false });
    }
  }
  return out.sort((a, b) => compareKeys(a.key, b.key));
}

/**
 * Whether directory `name` (key `name/` below the listed directory) can hold a key after `rest`
 * (startAfter below the listed directory): it sorts after rest, or rest lies inside it.
 */
function dirMayFollow(name: string, rest: string, after: (name: string) => boolean): boolean {
  if (!rest.startsWith(name)) return after(name);
  // rest is name itself, or name followed by a char below, equal to or above '/'.
  return rest.length === name.length || rest.charCodeAt(name.length) <= 0x2f;
}

/**
 * How a directory's keys relate to startAfter: false when all are <= it (skip the directory),
 * undefined when all are > it (no filter needed), else startAfter itself (filter inside).
 */
function subtreeStartAfter(dirKey: string, startAfter: string | undefined): string | undefined | false {
  if (startAfter === undefined) return undefined;
  if (startAfter.startsWith(dirKey)) return startAfter === dirKey ? undefined : startAfter;
  return compareKeys(dirKey, startAfter) > 0 ? undefined : false;
}
