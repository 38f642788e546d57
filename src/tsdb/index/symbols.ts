/** The symbol table: every label name and value, sorted bytewise, referenced by position. */
import { Decbuf } from '../encoding/decbuf.js';
import { Encbuf } from '../encoding/encbuf.js';
import { crc32c } from '../encoding/crc32c.js';
import { compareStrings } from '../labels.js';
import { InvalidArgumentError } from '../../util/errors.js';
import { uvarintSize } from '../../util/varint.js';
import { MAX_UINT32 } from './format.js';
import type { BufferedFileWriter } from './io.js';

/** Checks order, uniqueness and encodability; returns symbol -> reference. */
export function buildSymbolMap(symbols: readonly string[]): Map<string, number> {
  if (symbols.length > MAX_UINT32) {
    throw new InvalidArgumentError(`index: ${symbols.length} symbols exceed the uint32 count field`);
  }
  const map = new Map<string, number>();
  for (let i = 0; i < symbols.length; i++) {
    const s = symbols[i]!;
    if (typeof s !== 'string') throw new InvalidArgumentError(`index: symbol ${i} is not a string`);
    // No unpaired surrogate, i.e. an exact UTF-8 encoding.
    if (!s.isWellFormed()) {
      throw new InvalidArgumentError(`index: symbol ${i} ${JSON.stringify(s)} has an unpaired surrogate`);
    }
    if (i > 0 && compareStrings(symbols[i - 1]!, s) >= 0) {
      throw new InvalidArgumentError(
        `index: symbols must be sorted and unique: ${JSON.stringify(symbols[i - 1])} then ${JSON.stringify(s)}`,
      );
    }
    map.set(s, i);
  }
  return map;
}

/**
 * The symbols' UTF-8 bytes back to back when every symbol is ASCII (a byte per character, so the
 * characters' offsets are the bytes' offsets); undefined otherwise. One native encode instead of
 * one per symbol: per-symbol encoding was most of a small compaction's output set-up.
 */
function asciiBytes(symbols: readonly string[]): Buffer | undefined {
  const joined = symbols.join('');
  const bytes = Buffer.from(joined, 'utf8');
  return bytes.length === joined.length ? bytes : undefined;
}

/** Writes len, count, entries and CRC, streaming through a small scratch buffer. */
export async function writeSymbolTable(out: BufferedFileWriter, symbols: readonly string[]): Promise<void> {
  const ascii = asciiBytes(symbols);
  let bodyLen = 4;
  for (const s of symbols) {
    const n = ascii !== undefined ? s.length : Buffer.byteLength(s, 'utf8');
    bodyLen += uvarintSize(n) + n;
  }
  if (bodyLen > MAX_UINT32)
    throw new InvalidArgumentError(`index: symbol table of ${bodyLen} bytes exceeds 4 GiB`);
  const e = new Encbuf(1 << 16);
  e.putBE32(bodyLen);
  e.putBE32(symbols.length);
  let crc = 0;
  let crcFrom = 4; // the len field is not covered by the CRC
  let at = 0;
  for (const s of symbols) {
    if (ascii !== undefined) {
      e.putUvarint(s.length);
      e.putRange(ascii, at, at + s.length);
      at += s.length;
    } else {
      e.putUvarintString(s);
    }
    if (e.len >= 1 << 15) {
      crc = crc32c(e.view().subarray(crcFrom), crc);
      crcFrom = 0;
      const p = out.write(e.view());
      if (p) await p;
      e.reset();
    }
  }
  crc = crc32c(e.view().subarray(crcFrom), crc);
  e.putBE32(crc);
  const p = out.write(e.view());
  if (p) await p;
}

export interface DecodedSymbols {
  readonly symbols: string[];
  /** References whose bytes are not valid UTF-8 (decoded with U+FFFD, so not byte-exact). */
  readonly invalidUtf8: number[];
}

/**
 * Decodes a symbol table body (count + entries; the CRC was already checked). `baseOffset` is the
 * file offset of `body[0]`.
 */
export function decodeSymbols(body: Uint8Array, file: string, baseOffset: number): DecodedSymbols {
  const d = new Decbuf(body, 0, body.length, file, baseOffset);
  const count = d.be32();
  // Each entry takes at least one byte: bound the allocation by the section size.
  if (count > d.remaining) {
    d.fail('ERR_TSDB_CORRUPT', `symbol table claims ${count} symbols in ${d.remaining} bytes`, 0);
  }
  const symbols = new Array<string>(count);
  const invalidUtf8: number[] = [];
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  for (let i = 0; i < count; i++) {
    const n = d.uvarint();
    d.need(n, 'symbol');
    const s = buf.toString('utf8', d.pos, d.pos + n);
    if (
      s.includes('\ufffd') &&
      Buffer.compare(Buffer.from(s, 'utf8'), buf.subarray(d.pos, d.pos + n)) !== 0
    ) {
      invalidUtf8.push(i);
    }
    symbols[i] = s;
    d.pos += n;
  }
  if (d.remaining !== 0) d.fail('ERR_TSDB_CORRUPT', `${d.remaining} bytes after the last symbol`);
  return { symbols, invalidUtf8 };
}

/**
 * The union of symbol lists that are each sorted and unique (as every index's table is), sorted
 * and unique: a merge, where a set and a sort of all of them compared each symbol ~log n times.
 * Lists out of order give an unsorted result, which the writer's order check refuses.
 */
export function mergeSymbols(lists: readonly (readonly string[])[]): string[] {
  let merged: string[] = [...(lists[0] ?? [])];
  for (let k = 1; k < lists.length; k++) {
    const a = merged;
    const b = lists[k]!;
    const out = new Array<string>();
    let i = 0;
    let j = 0;
    while (i < a.length && j < b.length) {
      const c = compareStrings(a[i]!, b[j]!);
      if (c <= 0) out.push(a[i++]!);
      else out.push(b[j++]!);
      if (c === 0) j++;
    }
    while (i < a.length) out.push(a[i++]!);
    while (j < b.length) out.push(b[j++]!);
    merged = out;
  }
  return merged;
}

/** Position of `s` in the sorted table, or -1. */
export function findSymbol(symbols: readonly string[], s: string): number {
  let lo = 0;
  let hi = symbols.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareStrings(symbols[mid]!, s);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
