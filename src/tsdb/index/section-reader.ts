/**
 * Sequential reads of one `len body crc` section through a fixed window, the CRC computed as
 * bytes arrive: how the lean index reader walks the symbol table and the postings offset table
 * without holding them (memory does not grow with the index).
 *
 *   const r = await SectionReader.open(src, path, off, limit, 'symbol table');
 *   while (r.remaining > 0) { const p = r.need(n); if (p) await p; ...r.uvarint()... }
 *   await r.checkCrc();
 */
import { crc32c } from '../encoding/crc32c.js';
import { FormatError, type ErrorCode } from '../../util/errors.js';
import type { PositionalReader } from './positional.js';
import { sectionLength } from './layout.js';

const WINDOW = 64 << 10;

export class SectionReader {
  private buf: Buffer;
  /** File offset of buf[0]. */
  private base: number;
  /** Next unread byte in buf. */
  pos = 0;
  /** Valid bytes in buf. */
  private len = 0;
  private crc = 0;

  private constructor(
    private readonly src: PositionalReader,
    readonly path: string,
    /** File offset of the first body byte. */
    readonly bodyStart: number,
    /** File offset just past the body (where the CRC is). */
    readonly bodyEnd: number,
    private readonly what: string,
    private readonly checked: boolean,
  ) {
    this.base = bodyStart;
    this.buf = Buffer.allocUnsafe(Math.max(16, Math.min(WINDOW, bodyEnd - bodyStart)));
  }

  /** The section at `off` (its length field checked to end before `limit`). */
  static async open(
    src: PositionalReader,
    path: string,
    off: number,
    limit: number,
    what: string,
  ): Promise<SectionReader> {
    const len = await sectionLength(src, path, off, limit, what);
    return new SectionReader(src, path, off + 4, off + 4 + len, what, true);
  }

  /** Reads [from, to) of a section already checked (no CRC): for lookups into it. */
  static range(src: PositionalReader, path: string, from: number, to: number, what: string): SectionReader {
    return new SectionReader(src, path, from, to, what, false);
  }

  /** File offset of the next unread byte. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Body bytes not read yet. */
  get remaining(): number {
    return this.bodyEnd - this.base - this.pos;
  }

  /** Bytes read into the window and not consumed yet. */
  get available(): number {
    return this.len - this.pos;
  }

  /** The window: bytes [pos, pos + n) are valid after need(n). */
  get bytes(): Buffer {
    return this.buf;
  }

  /**
   * Makes min(n, remaining) bytes available at `pos`; a promise only when the file must be read.
   */
  need(n: number): Promise<void> | undefined {
    if (this.len - this.pos >= n || this.base + this.len >= this.bodyEnd) return undefined;
    return this.fill(n);
  }

  private async fill(n: number): Promise<void> {
    this.buf.copy(this.buf, 0, this.pos, this.len);
    this.base += this.pos;
    this.len -= this.pos;
    this.pos = 0;
    if (n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.min(n, this.bodyEnd - this.base));
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    const k = Math.min(this.buf.length - this.len, this.bodyEnd - (this.base + this.len));
    await this.src.readInto(this.buf, this.len, k, this.base + this.len);
    if (this.checked) this.crc = crc32c(this.buf.subarray(this.len, this.len + k), this.crc);
    this.len += k;
  }

  fail(code: ErrorCode, detail: string, at: number = this.offset): never {
    throw new FormatError(code, this.path, at, `${this.what}: ${detail}`);
  }

  /** A uvarint from the window (call need(10) first). */
  uvarint(): number {
    const b = this.buf;
    const stop = this.len;
    const start = this.pos;
    let v = 0;
    let mul = 1;
    let p = start;
    for (;;) {
      if (p >= stop)
        this.fail('ERR_TSDB_TRUNCATED', 'unexpected end of data in a uvarint', this.base + start);
      if (mul >= 2 ** 49) this.fail('ERR_TSDB_CORRUPT', 'uvarint exceeds 2^53', this.base + start);
      const byte = b[p++]!;
      v += (byte & 0x7f) * mul;
      if (byte < 0x80) break;
      mul *= 128;
    }
    this.pos = p;
    return v;
  }

  /** A big-endian uint32 from the window (call need(4) first). */
  be32(): number {
    if (this.len - this.pos < 4) this.fail('ERR_TSDB_TRUNCATED', 'unexpected end of data in a uint32');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Skips n bytes that are in the window; returns their start in `bytes`. */
  take(n: number): number {
    if (this.len - this.pos < n)
      this.fail('ERR_TSDB_TRUNCATED', `need ${n} bytes, ${this.len - this.pos} left`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  /** After the whole body was read: compares the CRC that follows it. */
  async checkCrc(): Promise<void> {
    if (this.remaining !== 0)
      this.fail('ERR_TSDB_CORRUPT', `${this.remaining} bytes left after the last entry`);
    const want = (await this.src.read(this.bodyEnd, 4)).readUInt32BE(0);
    if (this.crc !== want)
      throw new FormatError(
        'ERR_TSDB_CHECKSUM',
        this.path,
        this.bodyStart - 4,
        `${this.what} checksum mismatch`,
      );
  }
}
