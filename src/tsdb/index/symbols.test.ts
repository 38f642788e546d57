/**
 * The symbol table's byte layout for all-ASCII tables (written from one encode of all symbols) and
 * mixed ones (a symbol at a time), and the merge of sorted symbol lists a compaction starts from.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compareStrings } from '../labels.js';
import { crc32c } from '../encoding/crc32c.js';
import { putUvarint } from '../../util/varint.js';
import { HEADER_LEN } from './format.js';
import { IndexReader } from './reader.js';
import { IndexWriter } from './writer.js';
import { mergeSymbols } from './symbols.js';
import { removeDir, tempDir } from '../../../test/support/index-testkit.js';

let dir: string;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await removeDir(dir);
});

/** The table as the format defines it: len, count, (uvarint len, UTF-8 bytes)*, CRC of count..entries. */
function expectedTable(symbols: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.alloc(4)];
  parts[0]!.writeUInt32BE(symbols.length, 0);
  for (const s of symbols) {
    const b = Buffer.from(s, 'utf8');
    const len = new Uint8Array(10);
    parts.push(Buffer.from(len.subarray(0, putUvarint(len, 0, b.length))), b);
  }
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(crc32c(body), 0);
  return Buffer.concat([head, body, tail]);
}

let n = 0;
async function tableOnDisk(symbols: string[]): Promise<{ bytes: Buffer; read: readonly string[] }> {
  const path = join(dir, `index-${n++}`);
  const w = await IndexWriter.create(path, symbols);
  await w.close();
  const file = await readFile(path);
  const want = expectedTable(symbols);
  const r = await IndexReader.open(path);
  try {
    return { bytes: file.subarray(HEADER_LEN, HEADER_LEN + want.length), read: [...r.symbols()] };
  } finally {
    await r.close();
  }
}

const sortedUnique = (xs: Iterable<string>): string[] => [...new Set(xs)].sort(compareStrings);

describe('symbol table', () => {
  it('all-ASCII tables, long symbols included, are byte for byte the format', async () => {
    const long = (c: string, len: number): string => c.repeat(len);
    // Lengths around the uvarint steps (127/128, 16383/16384) and the 32 KiB write batches.
    const symbols = sortedUnique([
      '',
      'a',
      '__name__',
      long('b', 127),
      long('c', 128),
      long('d', 16_383),
      long('e', 16_384),
      long('f', 40_000),
      ...Array.from({ length: 3000 }, (_, i) => `value-${i}`),
    ]);
    const { bytes, read } = await tableOnDisk(symbols);
    expect(bytes.equals(expectedTable(symbols))).toBe(true);
    expect(read).toStrictEqual(symbols);
  });

  it('tables with any Unicode, ASCII or not, are byte for byte the format', async () => {
    const sym = fc.oneof(
      fc.string({ unit: 'grapheme-ascii', maxLength: 200 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.constantFrom('é', '😀', '\u{10ffff}', '\ufffd', '\u007f', '\u0080'),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(sym, { maxLength: 60 }), async (xs) => {
        const symbols = sortedUnique(xs);
        const { bytes, read } = await tableOnDisk(symbols);
        expect(bytes.equals(expectedTable(symbols))).toBe(true);
        expect(read).toStrictEqual(symbols);
      }),
      { numRuns: 60 },
    );
  });
});

describe('mergeSymbols', () => {
  it('is the sorted union of sorted unique lists', () => {
    const sym = fc.oneof(
      fc.constantFrom('a', 'b', 'job', 'é', '😀', '\ufffd', ''),
      fc.string({ unit: 'grapheme', maxLength: 4 }),
    );
    fc.assert(
      fc.property(fc.array(fc.array(sym, { maxLength: 30 }), { maxLength: 5 }), (lists) => {
        const sorted = lists.map(sortedUnique);
        expect(mergeSymbols(sorted)).toStrictEqual(sortedUnique(lists.flat()));
      }),
      { numRuns: 300 },
    );
    const same = ['a', 'b', 'c'];
    expect(mergeSymbols([same, same, same])).toStrictEqual(same);
    expect(mergeSymbols([])).toStrictEqual([]);
    // A copy: the caller may keep the result while the input lists live on.
    expect(mergeSymbols([same])).not.toBe(same);
  });
});
