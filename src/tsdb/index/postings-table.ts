/**
 * The postings offset table: (name, value) -> file offset of the postings list, sorted by name
 * then value (bytewise), ("", "") first. Held in memory per label name.
 */
import { Decbuf } from '../encoding/decbuf.js';

export interface NameEntries {
  /** Values, ascending. */
  readonly values: string[];
  /** File offsets of the postings lists, parallel to `values`. */
  readonly offsets: number[];
}

export interface PostingsTable {
  /** Label names in order, the all-postings key "" included if present. */
  readonly names: string[];
  readonly byName: Map<string, NameEntries>;
  readonly numEntries: number;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/**
 * Decodes the table body (count + entries; CRC already checked). Offsets must fall in
 * [minOffset, maxOffset); order and key counts are checked so lookups can binary-search.
 */
export function decodePostingsTable(
  body: Buffer,
  file: string,
  baseOffset: number,
  minOffset: number,
  maxOffset: number,
): PostingsTable {
  const d = new Decbuf(body, 0, body.length, file, baseOffset);
  const count = d.be32();
  // An entry takes at least 4 bytes (key count, two lengths, offset).
  if (count * 4 > d.remaining) {
    d.fail('ERR_TSDB_CORRUPT', `postings offset table claims ${count} entries in ${d.remaining} bytes`, 0);
  }
  const names: string[] = [];
  const byName = new Map<string, NameEntries>();
  let prevName: Uint8Array | null = null;
  let prevValue: Uint8Array | null = null;
  let cur: NameEntries | null = null;
  for (let i = 0; i < count; i++) {
    const at = d.pos;
    const keys = d.uvarint();
    if (keys !== 2) d.fail('ERR_TSDB_CORRUPT', `postings offset table entry with ${keys} keys (want 2)`, at);
    const name = d.uvarintBytes();
    const value = d.uvarintBytes();
    const offAt = d.pos;
    const off = d.uvarint();
    if (off < minOffset || off >= maxOffset) {
      d.fail('ERR_TSDB_CORRUPT', `postings offset ${off} outside [${minOffset}, ${maxOffset})`, offAt);
    }
    const c = prevName === null ? 1 : compareBytes(name, prevName);
    if (c < 0 || (c === 0 && compareBytes(value, prevValue!) <= 0)) {
      d.fail('ERR_TSDB_CORRUPT', 'postings offset table not sorted by name and value', at);
    }
    if (c > 0 || cur === null) {
      const n = Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString('utf8');
      if (byName.has(n)) d.fail('ERR_TSDB_CORRUPT', `label name ${JSON.stringify(n)} is not valid UTF-8`, at);
      cur = { values: [], offsets: [] };
      names.push(n);
      byName.set(n, cur);
    }
    cur.values.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'));
    cur.offsets.push(off);
    prevName = name;
    prevValue = value;
  }
  if (d.remaining !== 0)
    d.fail('ERR_TSDB_CORRUPT', `${d.remaining} bytes after the last postings offset entry`);
  return { names, byName, numEntries: count };
}
