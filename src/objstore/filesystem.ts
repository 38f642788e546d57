/**
 * A Bucket on a local directory: the embedded default. Key 'a/b/c' is the file <root>/a/b/c.
 *
 * - Writes go to a temp file under <root>/.strata-tmp and are renamed into place, so readers see
 *   the old object or the new one, never a partial one. That directory is reserved: no key may
 *   start with it, and listings skip it. A process killed mid-write leaves its temp file behind:
 *   each new bucket removes, in the background, temp files older than tmpMaxAgeMs (another live
 *   process may be writing into the same directory, hence the age threshold).
 * - Deletes remove directories they leave empty; listings also skip empty directories (a crash
 *   between unlink and rmdir), so a listing never shows a prefix without objects.
 * - Unlike S3, a key cannot be both an object and a prefix ('a' and 'a/b'): such writes fail
 *   with ERR_OBJSTORE_PERMANENT.
 */
import { randomUUID } from 'node:crypto';
import {
  copyFile,
  lstat,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
  type FileHandle,
} from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { errorCode, errorMessage, InvalidArgumentError } from '../util/errors.js';
import { nopLogger, type Logger } from '../util/logger.js';
import {
  compareKeys,
  type Bucket,
  type IterEntry,
  type IterOptions,
  type ObjectAttributes,
  type UploadBody,
} from './bucket.js';
import { isObjstoreNotFound, localFileError, notFoundError, ObjstoreError } from './errors.js';
import { checkRange, checkSize } from './validate.js';

export interface FilesystemBucketOptions {
  directory: string;
  /** fsync each object before it becomes visible (default true): a crash never exposes a torn file. */
  fsync?: boolean;
  /** Parallel unlinks in deleteMany (default 16). */
  deleteConcurrency?: number;
  /**
   * Temp files under <root>/.strata-tmp last modified longer ago than this are left over from a
   * killed writer and removed when the bucket is created (default 1 hour). Keep it well above the
   * longest upload: another process may be writing into the same directory. This bucket's own
   * writes in progress are never removed, whatever the age.
   */
  tmpMaxAgeMs?: number;
  /** For the temp-file cleanup: what it removed, and why it failed (debug). */
  logger?: Logger;
}

/** Default of FilesystemBucketOptions.tmpMaxAgeMs. */
export const FILESYSTEM_TMP_MAX_AGE_MS = 60 * 60 * 1000;

export const FILESYSTEM_TMP_DIR = '.strata-tmp';

const NOT_FOUND_CODES = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);
const TRANSIENT_CODES = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'EINTR']);

interface DirEntry {
  name: string;
  key: string;
  isDir: boolean;
}

export class FilesystemBucket implements Bucket {
  readonly name: string;
  readonly directory: string;
  private readonly fsync: boolean;
  private readonly deleteConcurrency: number;
  private readonly logger: Logger;
  /** Names (in the temp directory) of this bucket's writes in progress. */
  private readonly writing = new Set<string>();
  /** The background removal of stale temp files; never rejects. */
  private readonly tmpCleanup: Promise<void>;

  constructor(options: FilesystemBucketOptions) {
    if (!options.directory) throw new InvalidArgumentError('filesystem bucket: directory must not be empty');
    this.directory = resolve(options.directory);
    this.name = `filesystem:${this.directory}`;
    this.fsync = options.fsync ?? true;
    this.deleteConcurrency = Math.max(1, options.deleteConcurrency ?? 16);
    this.logger = options.logger ?? nopLogger;
    const maxAgeMs = Math.max(0, options.tmpMaxAgeMs ?? FILESYSTEM_TMP_MAX_AGE_MS);
    this.tmpCleanup = this.removeStaleTempFiles(maxAgeMs).catch((err: unknown) => {
      this.logger.debug('filesystem bucket: removing stale temp files failed', {
        bucket: this.name,
        err: errorMessage(err),
      });
    });
  }

  async get(key: string): Promise<Buffer> {
    const fh = await this.openObject('get', key);
    try {
      return await fh.readFile();
    } catch (err) {
      throw this.fsError('get', key, err);
    } finally {
      await fh.close();
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer> {
    checkRange(offset, length);
    const fh = await this.openObject('get_range', key);
    try {
      const { size } = await fh.stat();
      const want = Math.max(0, Math.min(length, size - offset));
      const buf = Buffer.allocUnsafe(want);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await fh.read(buf, got, want - got, offset + got);
        if (bytesRead === 0) break; // truncated underneath us
        got += bytesRead;
      }
      return got === want ? buf : buf.subarray(0, got);
    } catch (err) {
      throw this.fsError('get_range', key, err);
    } finally {
      await fh.close();
    }
  }

  async getStream(key: string): Promise<Readable> {
    const fh = await this.openObject('get_stream', key);
    // The stream owns the handle and closes it on end, error or destroy.
    return fh.createReadStream();
  }

  async upload(key: string, body: UploadBody, size?: number): Promise<void> {
    this.path('upload', key);
    checkSize(body, size);
    await this.writeAtomically('upload', key, async (tmp) => {
      if (body instanceof Uint8Array) {
        const fh = await open(tmp, 'w');
        try {
          await fh.writeFile(body);
        } finally {
          await fh.close();
        }
        return;
      }
      let written = 0;
      const count = new Transform({
        transform(chunk: Buffer, _enc, done) {
          written += chunk.length;
          done(null, chunk);
        },
      });
      await pipeline(body, count, createWriteStream(tmp));
      if (size !== undefined && written !== size) {
        throw new InvalidArgumentError(`upload ${key}: stream had ${written} bytes, expected ${size}`);
      }
    });
  }

  async uploadFile(key: string, localPath: string): Promise<void> {
    this.path('upload_file', key);
    await this.writeAtomically('upload_file', key, async (tmp) => {
      try {
        await copyFile(localPath, tmp);
      } catch (err) {
        throw localFileError('upload_file', key, localPath, err);
      }
    });
  }

  async downloadFile(key: string, localPath: string): Promise<void> {
    const src = this.path('download_file', key);
    await this.statObject('download_file', key);
    try {
      await copyFile(src, localPath);
    } catch (err) {
      if (!(await this.exists(key))) throw notFoundError(this.name, 'download_file', key);
      throw localFileError('download_file', key, localPath, err);
    }
  }

  async delete(key: string): Promise<void> {
    const p = this.path('delete', key);
    try {
      await unlink(p);
    } catch (err) {
      // EISDIR/EPERM: a directory is a prefix, not an object.
      if (NOT_FOUND_CODES.has(errorCode(err) ?? '') || errorCode(err) === 'EPERM') {
        throw notFoundError(this.name, 'delete', key);
      }
      throw this.fsError('delete', key, err);
    }
    await this.pruneEmptyParents(key);
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.path('delete_many', k);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < keys.length) {
        const key = keys[next++] as string;
        try {
          await this.delete(key);
        } catch (err) {
          if (!isObjstoreNotFound(err)) throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.deleteConcurrency, keys.length) }, worker));
  }

  async exists(key: string): Promise<boolean> {
    const p = this.path('exists', key);
    try {
      return (await stat(p)).isFile();
    } catch (err) {
      if (NOT_FOUND_CODES.has(errorCode(err) ?? '')) return false;
      throw this.fsError('exists', key, err);
    }
  }

  async attributes(key: string): Promise<ObjectAttributes> {
    const st = await this.statObject('attributes', key);
    return { size: st.size, lastModified: st.mtime };
  }

  async *iter(prefix: string, options: IterOptions = {}): AsyncGenerator<IterEntry> {
    if (prefix.startsWith('/'))
      throw new InvalidArgumentError(`iter: prefix must not start with '/': ${prefix}`);
    const slash = prefix.lastIndexOf('/');
    const dirKey = prefix.slice(0, slash + 1);
    // Keys never contain '.', '..' or empty segments, so such a prefix matches nothing.
    if (dirKey !== '' && !validKey(dirKey.slice(0, -1))) return;
    yield* this.walk(dirKey, prefix.slice(slash + 1), options.recursive ?? false, options.startAfter);
  }

  isNotFound(err: unknown): boolean {
    return isObjstoreNotFound(err);
  }

  /** Nothing is held open between calls; waits for the stale temp-file cleanup to finish. */
  async close(): Promise<void> {
    await this.tmpCleanup;
  }

  /**
   * Removes files in the temp directory last modified at least maxAgeMs ago, except this bucket's
   * own writes in progress (a name is in `writing` before its file exists, and names are UUIDs, so
   * any other name is another writer's, live or dead, or a finished write of ours).
   */
  private async removeStaleTempFiles(maxAgeMs: number): Promise<void> {
    // Let the constructor return first: the cleanup runs in the background.
    await Promise.resolve();
    const tmpDir = join(this.directory, FILESYSTEM_TMP_DIR);
    let names: string[];
    try {
      names = await readdir(tmpDir);
    } catch (err) {
      if (NOT_FOUND_CODES.has(errorCode(err) ?? '')) return;
      throw err;
    }
    let removed = 0;
    let failed = 0;
    for (const name of names) {
      const p = join(tmpDir, name);
      try {
        const st = await lstat(p);
        if (st.isDirectory() || Date.now() - st.mtimeMs < maxAgeMs || this.writing.has(name)) continue;
        await unlink(p);
        removed++;
      } catch (err) {
        if (NOT_FOUND_CODES.has(errorCode(err) ?? '')) continue; // renamed or removed meanwhile
        failed++;
        this.logger.debug('filesystem bucket: removing a stale temp file failed', {
          bucket: this.name,
          file: p,
          err: errorMessage(err),
        });
      }
    }
    if (removed > 0 || failed > 0) {
      this.logger.debug('filesystem bucket: removed stale temp files', {
        bucket: this.name,
        removed,
        failed,
        maxAgeMs,
      });
    }
  }

  private async *walk(
    dirKey: string,
    namePrefix: string,
    recursive: boolean,
    startAfter: string | undefined,
  ): AsyncGenerator<IterEntry> {
    for (const e of await this.readDirSorted(dirKey)) {
      if (!e.name.startsWith(namePrefix)) continue;
      if (!e.isDir) {
        if (startAfter !== undefined && compareKeys(e.key, startAfter) <= 0) continue;
        let st;
        try {
          st = await stat(this.keyPath(e.key));
        } catch (err) {
          if (NOT_FOUND_CODES.has(errorCode(err) ?? '')) continue; // deleted while listing
          throw this.fsError('iter', e.key, err);
        }
        yield { key: e.key, size: st.size, lastModified: st.mtime };
        continue;
      }
      const within = subtreeStartAfter(e.key, startAfter);
      if (within === false) continue;
      if (recursive) {
        yield* this.walk(e.key, '', true, within);
      } else if (e.key !== startAfter && (await this.hasObject(e.key, within))) {
        yield { key: e.key };
      }
    }
  }

  /** Whether the directory holds at least one object (after startAfter). */
  private async hasObject(dirKey: string, startAfter: string | undefined): Promise<boolean> {
    for await (const _ of this.walk(dirKey, '', true, startAfter)) return true;
    return false;
  }

  /** Entries of one directory in key byte order: 'a/' (a directory) sorts as that string would. */
  private async readDirSorted(dirKey: string): Promise<DirEntry[]> {
    let dirents;
    try {
      dirents = await readdir(this.keyPath(dirKey), { withFileTypes: true });
    } catch (err) {
      if (NOT_FOUND_CODES.has(errorCode(err) ?? '')) return [];
      throw this.fsError('iter', dirKey, err);
    }
    const out: DirEntry[] = [];
    for (const d of dirents) {
      if (dirKey === '' && d.name === FILESYSTEM_TMP_DIR) continue;
      let isDir = d.isDirectory();
      let isFile = d.isFile();
      if (d.isSymbolicLink()) {
        try {
          const st = await stat(this.keyPath(dirKey + d.name));
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch {
          continue; // dangling link
        }
      }
      if (isDir) out.push({ name: d.name, key: `${dirKey}${d.name}/`, isDir: true });
      else if (isFile) out.push({ name: d.name, key: dirKey + d.name, isDir: false });
    }
    return out.sort((a, b) => compareKeys(a.key, b.key));
  }

  private async writeAtomically(
    op: string,
    key: string,
    fill: (tmp: string) => Promise<void>,
  ): Promise<void> {
    const tmpDir = join(this.directory, FILESYSTEM_TMP_DIR);
    const tmpName = randomUUID();
    const tmp = join(tmpDir, tmpName);
    const target = this.keyPath(key);
    this.writing.add(tmpName);
    try {
      await mkdir(tmpDir, { recursive: true });
      await fill(tmp);
      if (this.fsync) {
        const fh = await open(tmp, 'r+');
        try {
          await fh.sync();
        } finally {
          await fh.close();
        }
      }
      // A concurrent delete may prune the parent between mkdir and rename: make it again.
      for (let attempt = 0; ; attempt++) {
        await mkdir(dirname(target), { recursive: true });
        try {
          await rename(tmp, target);
          return;
        } catch (err) {
          if (errorCode(err) !== 'ENOENT' || attempt >= 5) throw err;
        }
      }
    } catch (err) {
      await rm(tmp, { force: true });
      if (err instanceof ObjstoreError || err instanceof InvalidArgumentError) throw err;
      const code = errorCode(err);
      if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST' || code === 'ENOTEMPTY') {
        throw new ObjstoreError(
          'ERR_OBJSTORE_PERMANENT',
          op,
          key,
          `${this.name}: ${op} ${key}: key conflicts with an existing object or prefix (${code})`,
          { cause: err },
        );
      }
      throw this.fsError(op, key, err);
    } finally {
      this.writing.delete(tmpName);
    }
  }

  private async pruneEmptyParents(key: string): Promise<void> {
    const segs = key.split('/');
    for (let i = segs.length - 1; i >= 1; i--) {
      try {
        await rmdir(join(this.directory, ...segs.slice(0, i)));
      } catch {
        return; // not empty (or already gone): parents are not empty either
      }
    }
  }

  private async openObject(op: string, key: string): Promise<FileHandle> {
    const p = this.path(op, key);
    let fh: FileHandle;
    try {
      fh = await open(p, 'r');
    } catch (err) {
      throw this.fsError(op, key, err);
    }
    try {
      if (!(await fh.stat()).isFile()) throw notFoundError(this.name, op, key);
      return fh;
    } catch (err) {
      await fh.close();
      throw err instanceof ObjstoreError ? err : this.fsError(op, key, err);
    }
  }

  private async statObject(op: string, key: string): Promise<{ size: number; mtime: Date }> {
    let st;
    try {
      st = await stat(this.path(op, key));
    } catch (err) {
      throw this.fsError(op, key, err);
    }
    if (!st.isFile()) throw notFoundError(this.name, op, key);
    return st;
  }

  /** Validated path of an object key. */
  private path(op: string, key: string): string {
    if (!validKey(key))
      throw new InvalidArgumentError(`${op}: invalid key for a filesystem bucket: ${JSON.stringify(key)}`);
    return this.keyPath(key);
  }

  private keyPath(key: string): string {
    return key === '' ? this.directory : join(this.directory, key);
  }

  private fsError(op: string, key: string, err: unknown): Error {
    if (err instanceof ObjstoreError || err instanceof InvalidArgumentError) return err;
    const code = errorCode(err) ?? '';
    if (NOT_FOUND_CODES.has(code)) return notFoundError(this.name, op, key);
    return new ObjstoreError(
      TRANSIENT_CODES.has(code) ? 'ERR_OBJSTORE_TRANSIENT' : 'ERR_OBJSTORE_PERMANENT',
      op,
      key,
      `${this.name}: ${op} ${key}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
}

function validKey(key: string): boolean {
  if (key === '' || key.includes('\0')) return false;
  const segs = key.split('/');
  if (segs[0] === FILESYSTEM_TMP_DIR) return false;
  return segs.every((s) => s !== '' && s !== '.' && s !== '..');
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
