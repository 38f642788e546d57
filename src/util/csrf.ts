/**
 * The CSRF token of admin forms (the ring page's Forget, the UI's mark actions): random per process, embedded in the page,
 * required on every POST. Compared in constant time (both sides hashed first, so lengths leak
 * nothing either).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export class CsrfToken {
  readonly value: string;
  private readonly digest: Buffer;

  constructor(value: string = randomBytes(32).toString('base64url')) {
    this.value = value;
    this.digest = sha256(value);
  }

  verify(candidate: string | null | undefined): boolean {
    if (typeof candidate !== 'string' || candidate === '') return false;
    return timingSafeEqual(this.digest, sha256(candidate));
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
