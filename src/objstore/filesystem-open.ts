/**
 * Opening a FILESYSTEM bucket from user input: the directory must exist (a typo'd path would
 * otherwise be a healthy empty bucket forever), unless the caller asks for it to be created.
 */
import { mkdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { errorCode, errorMessage, InvalidArgumentError } from '../util/errors.js';
import { ObjstoreError } from './errors.js';
import { FilesystemBucket, type FilesystemBucketOptions } from './filesystem.js';

export interface OpenFilesystemBucketOptions extends FilesystemBucketOptions {
  /** Create the directory (and its parents) when it does not exist. Default false: fail. */
  createIfMissing?: boolean;
}

function configError(message: string, cause?: unknown): ObjstoreError {
  return new ObjstoreError(
    'ERR_OBJSTORE_CONFIG',
    'open',
    undefined,
    message,
    cause === undefined ? undefined : { cause },
  );
}

/** Checks (or creates) the directory, then returns the bucket; failures are ERR_OBJSTORE_CONFIG naming the path. */
export async function openFilesystemBucket(options: OpenFilesystemBucketOptions): Promise<FilesystemBucket> {
  if (!options.directory) throw new InvalidArgumentError('filesystem bucket: directory must not be empty');
  const dir = resolve(options.directory);
  const what = `FILESYSTEM bucket directory ${dir}`;
  let isDir: boolean;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (err) {
    const code = errorCode(err);
    if (code !== 'ENOENT') throw configError(`${what} cannot be opened (${code ?? errorMessage(err)})`, err);
    if (options.createIfMissing !== true) throw configError(`${what} does not exist`);
    try {
      await mkdir(dir, { recursive: true });
    } catch (mkErr) {
      throw configError(`${what} cannot be created (${errorCode(mkErr) ?? errorMessage(mkErr)})`, mkErr);
    }
    isDir = true;
  }
  if (!isDir) throw configError(`${what} is not a directory`);
  const { createIfMissing: _, ...bucketOptions } = options;
  return new FilesystemBucket({ ...bucketOptions, directory: dir });
}
