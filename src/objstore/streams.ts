/** Small stream helpers for upload bodies. */
import { Transform, type Readable } from 'node:stream';
import { InvalidArgumentError } from '../util/errors.js';

/** A Buffer view of any Uint8Array, without copying. */
export function toBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** `body` piped through a check that fails the stream unless exactly `size` bytes went by. */
export function exactLength(body: Readable, size: number, what: string): Readable {
  let seen = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > size) done(new InvalidArgumentError(`${what}: body longer than size ${size}`));
      else done(null, chunk);
    },
    flush(done) {
      done(
        seen === size ? null : new InvalidArgumentError(`${what}: body has ${seen} bytes, expected ${size}`),
      );
    },
  });
  body.once('error', (err) => check.destroy(err));
  return body.pipe(check);
}

/** Reads a stream into one Buffer, failing once it passes `limit` bytes. */
export async function readAll(body: Readable, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    n += b.length;
    if (n > limit) throw new InvalidArgumentError(`${what}: body longer than ${limit}`);
    chunks.push(b);
  }
  return Buffer.concat(chunks, n);
}
