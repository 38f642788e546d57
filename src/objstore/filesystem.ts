/**
 * A Bucket on a local directory: the embedded default. Key 'a/b/c' is the file <root>/a/b/c.
 *
 * - Writes go to a temporary file next to their target and are renamed over it, so readers see
 *   the old object or the new one, never a partial one (filesystem-tmp.ts: where, and why there).
 *   A process killed mid-write leaves its temporary file behind; it is never listed, and
 *   cleanupTemporary(olderThanMs) removes it (the compactor's cleaner passes its partial-block
 *   delay).
 * - Deletes remove directories they leave empty; listings also skip empty directories (a crash
 *   between unlink and rmdir), so a listing never shows a prefix without objects.
 * - Unlike S3, a key cannot be both an object and a prefix ('a' and 'a/b'): such writes fail
 *   with ERR_OBJSTORE_PERMANENT.
 * - The constructor does not check the directory (writes create it); openFilesystemBucket()
 *   (filesystem-open.ts) does, for paths that come from users.
 */
import { copyFile, mkdir, open, rename, rm, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { errorCode, errorMessage, InvalidArgumentError } from '../util/errors.js';
import {
  type Bucket,
  type IterEntry,
  type IterOptions,
  type ObjectAttributes,
  type UploadBody,
} from './bucket.js';
import { isObjstoreNotFound, localFileError, notFoundError, ObjstoreError } from './errors.js';
import { NOT_FOUND_CODES, walkKeys, type ListContext } from './filesystem-list.js';
import { isTemporaryName, sweepTemporaryFiles, temporaryName } from './filesystem-tmp.js';
import { checkRange, checkSize } from './validate.js';

export interface FilesystemBucketOptions {
  directory: string;
  /** fsync each object before it becomes visible (default true): a crash never exposes a torn file. */
  fsync?: boolean;
  /** Parallel unlinks in deleteMany (default 16). */
  deleteConcurrency?: number;
}

const TRANSIENT_CODES = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'EINTR']);

/** get() reads this much first; larger objects are read whole after an fstat. */
const FIRST_READ = 16 * 1024;
/** First-read buffers kept for reuse (one per get in flight, up to this many). */
const MAX_SCRATCH = 64;

export class FilesystemBucket implements Bucket {
  readonly name: string;
  readonly directory: string;
  private readonly fsync: boolean;
  private readonly deleteConcurrency: number;
  /** First-read buffers of get() not in use. */
  private readonly scratch: Buffer[] = [];
  /** Paths of this bucket's temporary files of writes in progress. */
  private readonly writing = new Set<string>();

  constructor(options: FilesystemBucketOptions) {
    if (!options.directory) throw new InvalidArgumentError('filesystem bucket: directory must not be empty');
    this.directory = resolve(options.directory);
    this.name = `filesystem:${this.directory}`;
    this.fsync = options.fsync ?? true;
    this.deleteConcurrency = Math.max(1, options.deleteConcurrency ?? 16);
  }

  async get(key: string): Promise<Buffer> {
    const fh = await this.openPath('get', key);
    const scratch = this.scratch.pop() ?? Buffer.allocUnsafeSlow(FIRST_READ);
    try {
      // A read of a regular file is short only at its end, so an object smaller than the first
      // read (meta.json, markers) costs open, read, close: no fstat. A directory fails with EISDIR.
      const { bytesRead } = await fh.read(scratch, 0, FIRST_READ, 0);
      if (bytesRead < FIRST_READ) return Buffer.from(scratch.subarray(0, bytesRead));
      if (!(await fh.stat()).isFile()) throw notFoundError(this.name, 'get', key);
      return await fh.readFile();
    } catch (err) {
      throw this.fsError('get', key, err);
    } finally {
      if (this.scratch.length < MAX_SCRATCH) this.scratch.push(scratch);
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
    const ctx: ListContext = {
      keyPath: (k) => this.keyPath(k),
      fsError: (op, k, err) => this.fsError(op, k, err),
    };
    yield* walkKeys(ctx, dirKey, prefix.slice(slash + 1), options.recursive ?? false, options.startAfter);
  }

  isNotFound(err: unknown): boolean {
    return isObjstoreNotFound(err);
  }

  /** Nothing is held open between calls. */
  async close(): Promise<void> {}

  /**
   * Removes temporary files that killed writers left anywhere in the bucket, last modified at
   * least olderThanMs ago (another process may still be writing a younger one), and returns how
   * many. This bucket's own writes in progress are never removed, whatever the threshold.
   */
  async cleanupTemporary(olderThanMs: number): Promise<number> {
    return sweepTemporaryFiles({
      root: this.directory,
      olderThanMs: Math.max(0, olderThanMs),
      inUse: this.writing,
      now: Date.now,
    });
  }

  private async writeAtomically(
    op: string,
    key: string,
    fill: (tmp: string) => Promise<void>,
  ): Promise<void> {
    const target = this.keyPath(key);
    let tmp: string | undefined;
    try {
      tmp = await this.createTemporary(dirname(target));
      await fill(tmp);
      if (this.fsync) {
        const fh = await open(tmp, 'r+');
        try {
          await fh.sync();
        } finally {
          await fh.close();
        }
      }
      try {
        await rename(tmp, target);
      } catch (err) {
        // The temporary file holds its folder, so only a cleanup with no age limit removes it.
        if (errorCode(err) !== 'ENOENT') throw err;
        throw new ObjstoreError(
          'ERR_OBJSTORE_TRANSIENT',
          op,
          key,
          `${this.name}: ${op} ${key}: temporary file removed before the rename`,
          { cause: err },
        );
      }
    } catch (err) {
      if (tmp !== undefined) {
        await rm(tmp, { force: true });
        await this.pruneEmptyParents(key);
      }
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
      if (tmp !== undefined) this.writing.delete(tmp);
    }
  }

  /** An empty temporary file in `dir`; once it exists, a concurrent delete cannot prune `dir`. */
  private async createTemporary(dir: string): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      await mkdir(dir, { recursive: true });
      const tmp = join(dir, temporaryName());
      this.writing.add(tmp);
      try {
        await (await open(tmp, 'wx')).close();
        return tmp;
      } catch (err) {
        this.writing.delete(tmp);
        // A concurrent delete pruned the folder between mkdir and open: make it again.
        if (errorCode(err) !== 'ENOENT' || attempt >= 5) throw err;
      }
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

  /** The key's file opened for reading (no check that it is a regular file). */
  private async openPath(op: string, key: string): Promise<FileHandle> {
    const p = this.path(op, key);
    try {
      return await open(p, 'r');
    } catch (err) {
      throw this.fsError(op, key, err);
    }
  }

  private async openObject(op: string, key: string): Promise<FileHandle> {
    const fh = await this.openPath(op, key);
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
  return key.split('/').every((s) => s !== '' && s !== '.' && s !== '..' && !isTemporaryName(s));
}
