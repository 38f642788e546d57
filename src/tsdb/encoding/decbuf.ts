/**
 * A read cursor over a byte view. Every read is bounds-checked and a failure throws a FormatError
 * that names the file and the absolute offset, so corrupt input never reads garbage or loops.
 * Values are JS numbers: exact up to 2^53. Fields that may legitimately hold int64 extremes
 * (tombstone intervals) use the `*Big` readers.
 */
import { FormatError, type ErrorCode } from '../../util/errors.js';

const TWO_32 = 0x1_0000_0000;

export class Decbuf {
  /** Absolute position in `buf`. */
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    pos = 0,
    readonly end: number = buf.length,
    /** Names the source in errors. */
    readonly file: string = '<buffer>',
    /** File offset of buf[0], so errors report file offsets. */
    readonly baseOffset: number = 0,
  ) {
    this.pos = pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fileOffset(): number {
    return this.baseOffset + this.pos;
  }

  fail(code: ErrorCode, detail: string, at: number = this.pos): never {
    throw new FormatError(code, this.file, this.baseOffset + at, detail);
  }

  need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.end) {
      this.fail('ERR_TSDB_TRUNCATED', `${what}: need ${n} bytes, ${this.end - this.pos} left`);
    }
  }

  byte(): number {
    if (this.pos >= this.end) this.fail('ERR_TSDB_TRUNCATED', 'unexpected end of data reading a byte');
    return this.buf[this.pos++]!;
  }

  be32(): number {
    this.need(4, 'uint32');
    const p = this.pos;
    this.pos = p + 4;
    return be32At(this.buf, p);
  }

  be64(): number {
    const at = this.pos;
    const hi = this.be32();
    const lo = this.be32();
    if (hi > 0x1fffff) this.fail('ERR_TSDB_CORRUPT', `uint64 ${hi} * 2^32 + ${lo} exceeds 2^53`, at);
    return hi * TWO_32 + lo;
  }

  /** Unsigned LEB128, at most 10 bytes; values of 2^53 and above are rejected as corrupt. */
  uvarint(): number {
    const b = this.buf;
    const start = this.pos;
    let p = start;
    if (p < this.end) {
      const first = b[p]!;
      if (first < 0x80) {
        this.pos = p + 1;
        return first;
      }
    }
    let value = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (p >= this.end) this.fail('ERR_TSDB_TRUNCATED', 'unexpected end of data inside a uvarint', start);
      const byte = b[p++]!;
      value += (byte & 0x7f) * mul;
      if (byte < 0x80) {
        if (value > Number.MAX_SAFE_INTEGER) this.fail('ERR_TSDB_CORRUPT', 'uvarint exceeds 2^53', start);
        this.pos = p;
        return value;
      }
      mul *= 128;
    }
    return this.fail('ERR_TSDB_CORRUPT', 'uvarint longer than 10 bytes', start);
  }

  /** Zig-zag signed varint. */
  varint(): number {
    const u = this.uvarint();
    // u is exact (< 2^53), so these divisions are exact.
    return u % 2 === 1 ? -(u + 1) / 2 : u / 2;
  }

  uvarintBig(): bigint {
    const start = this.pos;
    let value = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end)
        this.fail('ERR_TSDB_TRUNCATED', 'unexpected end of data inside a uvarint', start);
      const byte = this.buf[this.pos++]!;
      value |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asUintN(64, value);
      shift += 7n;
    }
    return this.fail('ERR_TSDB_CORRUPT', 'uvarint longer than 10 bytes', start);
  }

  varintBig(): bigint {
    const u = this.uvarintBig();
    return (u >> 1n) ^ -(u & 1n);
  }

  /** A view (no copy) of the next n bytes. */
  bytes(n: number): Uint8Array {
    this.need(n, 'byte string');
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  uvarintBytes(): Uint8Array {
    const n = this.uvarint();
    return this.bytes(n);
  }

  uvarintString(): string {
    const v = this.uvarintBytes();
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');
  }

  skip(n: number): void {
    this.need(n, 'skip');
    this.pos += n;
  }
}

/**
 * The big-endian u32 at b[at, at + 4) (in range: the caller checked). Inline arithmetic, not
 * Buffer#readUInt32BE: a JS call per chunk CRC that runs cold in a fresh process.
 */
export function be32At(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}
