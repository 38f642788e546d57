/** Argument checks shared by the Bucket implementations. */
import { InvalidArgumentError } from '../util/errors.js';
import { bodyLength, type UploadBody } from './bucket.js';

export function checkRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0)
    throw new InvalidArgumentError(`getRange: bad offset ${offset}`);
  if (!Number.isSafeInteger(length) || length < 0)
    throw new InvalidArgumentError(`getRange: bad length ${length}`);
}

export function checkSize(body: UploadBody, size: number | undefined): void {
  if (size === undefined) return;
  if (!Number.isSafeInteger(size) || size < 0) throw new InvalidArgumentError(`upload: bad size ${size}`);
  const len = bodyLength(body);
  if (len !== undefined && len !== size) {
    throw new InvalidArgumentError(`upload: body has ${len} bytes but size says ${size}`);
  }
}

/** S3 keys: non-empty, no leading '/', at most 1024 UTF-8 bytes. */
export function checkObjectKey(op: string, key: string): void {
  if (typeof key !== 'string' || key === '' || key.startsWith('/')) {
    throw new InvalidArgumentError(`${op}: invalid key ${JSON.stringify(key)}`);
  }
  if (Buffer.byteLength(key) > 1024) throw new InvalidArgumentError(`${op}: key longer than 1024 bytes`);
}
