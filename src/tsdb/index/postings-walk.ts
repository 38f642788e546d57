/**
 * A walk over the postings offset table read from the file through a window: entries are handed
 * out as positions in the window (no copy, no allocation per entry), order and offsets checked on
 * the way, the CRC at the end. What the lean reader uses instead of holding the table.
 */
import type { PositionalReader } from './positional.js';
import { HEADER_LEN } from './format.js';
import { SectionReader } from './section-reader.js';
import { copyBytes } from '../../util/typed-arrays.js';

/** One entry during a walk: positions in `buf`, valid during the callback only. */
export class PostingsEntry {
  buf: Buffer = Buffer.alloc(0);
  nameStart = 0;
  nameEnd = 0;
  valueStart = 0;
  valueEnd = 0;
  /** File offset of the postings list. */
  offset = 0;

  get nameLength(): number {
    return this.nameEnd - this.nameStart;
  }

  get valueLength(): number {
    return this.valueEnd - this.valueStart;
  }

  /** A view of the name (allocates: for occasional use). */
  name(): Buffer {
    return this.buf.subarray(this.nameStart, this.nameEnd);
  }

  value(): Buffer {
    return this.buf.subarray(this.valueStart, this.valueEnd);
  }

  /** The all-postings entry ("", ""). */
  get isAll(): boolean {
    return this.nameEnd === this.nameStart && this.valueEnd === this.valueStart;
  }

  /** Bytewise order of (name, value) against the given pair: <0, 0, >0. */
  compare(name: Uint8Array, value: Uint8Array): number {
    return (
      compareRange(this.buf, this.nameStart, this.nameEnd, name, 0, name.length) ||
      compareRange(this.buf, this.valueStart, this.valueEnd, value, 0, value.length)
    );
  }
}

export type PostingsEntryFn = (e: PostingsEntry) => void | Promise<void>;

function compareRange(a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number): number {
  const n = Math.min(ae - as, be - bs);
  for (let i = 0; i < n; i++) {
    const d = a[as + i]! - b[bs + i]!;
    if (d !== 0) return d;
  }
  return ae - as - (be - bs);
}

/** Cursor of uv(); -1 from uv() means the window ended inside the varint. */
let at = 0;

function uv(b: Uint8Array, end: number): number {
  let v = 0;
  let mul = 1;
  while (at < end) {
    const x = b[at++]!;
    v += (x & 0x7f) * mul;
    if (x < 0x80) return v;
    mul *= 128;
    if (mul >= 2 ** 49) return -2;
  }
  return -1;
}

/** Walks the table at `tableAt` (its section ends before `limit`, the postings before `tableAt`). */
export async function walkPostingsTable(
  src: PositionalReader,
  path: string,
  tableAt: number,
  limit: number,
  fn: PostingsEntryFn,
): Promise<void> {
  const r = await SectionReader.open(src, path, tableAt, limit, 'postings offset table');
  let p = r.need(4);
  if (p) await p;
  const count = r.be32();
  if (count * 4 > r.remaining) r.fail('ERR_TSDB_CORRUPT', `claims ${count} entries in ${r.remaining} bytes`);
  const e = new PostingsEntry();
  let prev = Buffer.allocUnsafe(256);
  let prevName = -1;
  let prevLen = 0;
  for (let i = 0; i < count; i++) {
    const entryAt = r.offset;
    let want = 64;
    let keys = 0;
    let off = 0;
    for (;;) {
      p = r.need(want);
      if (p) await p;
      const b = r.bytes;
      const end = r.pos + r.available;
      at = r.pos;
      keys = uv(b, end);
      const nl = keys < 0 ? -1 : uv(b, end);
      const nameStart = at;
      at = nl < 0 ? end + 1 : at + nl;
      const vl = at > end ? -1 : uv(b, end);
      const valueStart = at;
      at = vl < 0 ? end + 1 : at + vl;
      off = at > end ? -1 : uv(b, end);
      if (keys === -2 || nl === -2 || vl === -2 || off === -2)
        r.fail('ERR_TSDB_CORRUPT', 'uvarint exceeds 2^53', entryAt);
      if (off >= 0) {
        e.buf = b;
        e.nameStart = nameStart;
        e.nameEnd = nameStart + nl;
        e.valueStart = valueStart;
        e.valueEnd = valueStart + vl;
        break;
      }
      if (r.available >= r.remaining)
        r.fail('ERR_TSDB_TRUNCATED', 'entry runs past the end of the table', entryAt);
      want = Math.max(2 * want, at - r.pos + 20);
    }
    if (keys !== 2) r.fail('ERR_TSDB_CORRUPT', `entry with ${keys} keys (want 2)`, entryAt);
    if (off < HEADER_LEN || off >= tableAt) {
      r.fail('ERR_TSDB_CORRUPT', `postings offset ${off} outside [${HEADER_LEN}, ${tableAt})`, entryAt);
    }
    e.offset = off;
    const entryEnd = at;
    const b = e.buf;
    if (prevName >= 0) {
      const c =
        compareRange(b, e.nameStart, e.nameEnd, prev, 0, prevName) ||
        compareRange(b, e.valueStart, e.valueEnd, prev, prevName, prevLen);
      if (c <= 0) r.fail('ERR_TSDB_CORRUPT', 'not sorted by name and value', entryAt);
    }
    const q = fn(e);
    if (q) await q;
    // prev = name then value, contiguous.
    prevName = e.nameLength;
    prevLen = prevName + e.valueLength;
    if (prev.length < prevLen) prev = Buffer.allocUnsafe(Math.max(prevLen, 2 * prev.length));
    copyBytes(b, e.nameStart, e.nameEnd, prev, 0);
    copyBytes(b, e.valueStart, e.valueEnd, prev, prevName);
    r.take(entryEnd - r.pos);
  }
  await r.checkCrc();
}
