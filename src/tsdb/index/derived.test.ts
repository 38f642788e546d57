import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Labels } from '../labels.js';
import type { ChunkMeta } from './format.js';
import { IndexReader } from './reader.js';
import { IndexWriter } from './writer.js';
import { LeanIndex } from './lean.js';
import { BufferReader } from './positional.js';
import { crc32c } from '../encoding/crc32c.js';
import {
  normalize,
  removeDir,
  symbolsOf,
  tempDir,
  type TestSeries,
} from '../../../test/support/index-testkit.js';

const name = fc.constantFrom('__name__', 'job', 'instance', 'le', 'series', 'é');
const value = fc.oneof(fc.constantFrom('a', 'b', 'up', '😀', '0'), fc.string({ minLength: 1, maxLength: 4 }));
const labelSet = fc.uniqueArray(fc.record({ name, value }), {
  minLength: 1,
  maxLength: 5,
  selector: (l) => l.name,
});

function chunks(seed: number): ChunkMeta[] {
  const n = 1 + (seed % 3);
  return Array.from({ length: n }, (_, k) => ({
    mint: 1000 * seed + 10 * k,
    maxt: 1000 * seed + 10 * k + 5,
    ref: 8 + 64 * seed + k,
  }));
}

let dir: string;
beforeAll(async () => {
  dir = await tempDir('strata-derived-');
});
afterAll(async () => {
  await removeDir(dir);
});

async function writeSource(path: string, series: readonly TestSeries[], symbols: string[]): Promise<void> {
  const w = await IndexWriter.create(path, symbols, { bufferSize: 4096 });
  for (const s of series) await w.addSeries(s.labels, s.chunks);
  await w.close();
}

describe('derived index (IndexWriter.createDerived over a LeanIndex)', () => {
  it('is byte for byte the index the string writer makes for the same kept series', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(labelSet, { minLength: 1, maxLength: 60 }),
        fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }),
        async (sets, keep) => {
          const labels = normalize(sets);
          const symbols = symbolsOf(labels);
          const series = labels.map((l, i) => ({ labels: l, chunks: chunks(i) }));
          const src = join(dir, `src-${run}`);
          const derived = join(dir, `derived-${run}`);
          const expected = join(dir, `expected-${run++}`);
          await writeSource(src, series, symbols);
          const kept: Array<{ labels: Labels; chunks: ChunkMeta[] }> = [];
          const lean = await LeanIndex.open(src);
          const w = await IndexWriter.createDerived(derived, lean, { bufferSize: 4096 });
          try {
            const c = lean.seriesCursor(256);
            let i = 0;
            for (;;) {
              while (c.next()) {
                const s = c.series;
                expect(s.labels).toEqual([]);
                if (keep[i]) {
                  const out = chunks(1000 + i);
                  await w.addSeriesRefs(s.labelRefs, s.numLabels, out, s.id);
                  kept.push({ labels: series[i]!.labels, chunks: out });
                }
                i++;
              }
              if (!(await c.load())) break;
            }
            expect(i).toBe(series.length);
            await w.close();
          } finally {
            await lean.close();
          }
          await writeSource(expected, kept, symbols);
          expect(Buffer.compare(await readFile(derived), await readFile(expected))).toBe(0);
        },
      ),
      { numRuns: 40 },
    );
  });

  it.each([
    ['a file', (path: string) => LeanIndex.open(path)],
    [
      'bytes in memory',
      async (path: string) => LeanIndex.fromReader(new BufferReader(path, await readFile(path))),
    ],
  ])(
    'LeanIndex over %s agrees with IndexReader: symbols by ref, table entries, all postings',
    async (_, open) => {
      // Values of every length, some longer than the walk's 64 KiB window, so entries straddle it.
      const labels = normalize(
        Array.from({ length: 3000 }, (_, i) => [
          { name: '__name__', value: `m${i % 7}` },
          {
            name: 'series',
            value: `${String(i).padStart(4, '0')}${'v'.repeat(i % 500 === 7 ? 70_000 + i : (i % 13) * 17)}`,
          },
        ]),
      );
      const path = join(dir, 'agree');
      await writeSource(
        path,
        labels.map((l, i) => ({ labels: l, chunks: chunks(i) })),
        symbolsOf(labels),
      );
      const r = await IndexReader.open(path);
      const lean = await open(path);
      try {
        expect(lean.numSymbols).toBe(r.symbols().length);
        expect(lean.numPostings).toBe(r.numPostings);
        const all = Array.from({ length: r.symbols().length }, (_, i) => i).reverse();
        const syms = await lean.symbolsFor(all);
        expect(all.map((i) => syms.get(i))).toEqual(all.map((i) => r.symbol(i)));
        const entries: string[] = [];
        await lean.forEachPostingsEntry((e) => {
          entries.push(`${e.name().toString()}=${e.value().toString()}@${e.offset}`);
        });
        const want: string[] = [];
        for (const n of r.postingsNames()) {
          const e = r.postingsEntries(n)!;
          e.values.forEach((v, i) => want.push(`${n}=${v}@${e.offsets[i]}`));
        }
        expect(entries).toEqual(want);
        expect(Array.from(await lean.allPostings())).toEqual(Array.from(await r.allPostings()));
        const read = lean.postingsReader();
        const e = r.postingsEntries('__name__')!;
        expect(Array.from(await read(e.offsets[3]!))).toEqual(
          Array.from(await r.postings('__name__', e.values[3]!)),
        );
      } finally {
        await r.close();
        await lean.close();
      }
    },
  );

  it('a flipped byte in the symbol table fails LeanIndex.open, in the postings offset table its walks, with a checksum error', async () => {
    const labels = normalize([[{ name: 'job', value: 'x' }], [{ name: 'job', value: 'y' }]]);
    const path = join(dir, 'flip');
    await writeSource(
      path,
      labels.map((l, i) => ({ labels: l, chunks: chunks(i) })),
      symbolsOf(labels),
    );
    const good = await readFile(path);
    const r = await IndexReader.open(path);
    const toc = r.toc;
    await r.close();
    const failure = (p: Promise<unknown>): Promise<unknown> =>
      p.then(
        () => undefined,
        (e: unknown) => e,
      );
    // Bytes whose change keeps every entry well-formed and sorted: only the CRC can tell
    // (the first symbol's first letter; the last table entry's value 'y' → '{').
    const bad = Buffer.from(good);
    bad[toc.symbols + 9] = bad[toc.symbols + 9]! ^ 0x02;
    await writeFile(path, bad);
    expect(String(await failure(LeanIndex.open(path)))).toMatch(/symbol table checksum mismatch/);
    const bad2 = Buffer.from(good);
    bad2[toc.postingsTable + 26] = bad2[toc.postingsTable + 26]! ^ 0x02;
    await writeFile(path, bad2);
    const lean = await LeanIndex.open(path);
    try {
      const seen: string[] = [];
      const err = await failure(
        lean.forEachPostingsEntry((e) => void seen.push(`${e.name().toString()}=${e.value().toString()}`)),
      );
      expect(String(err)).toMatch(/postings offset table checksum mismatch/);
      expect(seen).toEqual(['=', 'job=x', 'job={']);
    } finally {
      await lean.close();
    }
  });

  it('reports symbols that are not valid UTF-8 as IndexReader does', async () => {
    const labels = normalize([[{ name: 'job', value: 'x' }], [{ name: 'job', value: 'y' }]]);
    const path = join(dir, 'utf8');
    await writeSource(
      path,
      labels.map((l, i) => ({ labels: l, chunks: chunks(i) })),
      symbolsOf(labels),
    );
    const b = await readFile(path);
    const r0 = await IndexReader.open(path);
    const at = r0.toc.symbols;
    await r0.close();
    // Symbol 1 is 'x' (symbols: job, x, y): make it the lone byte 0xff, then fix the CRC.
    const len = b.readUInt32BE(at);
    b[at + 4 + 4 + 1 + 3 + 1] = 0xff;
    b.writeUInt32BE(crc32c(b.subarray(at + 4, at + 4 + len)), at + 4 + len);
    await writeFile(path, b);
    const r = await IndexReader.open(path);
    const lean = await LeanIndex.open(path);
    try {
      expect(r.invalidUtf8Symbols).toEqual([1]);
      expect(lean.invalidUtf8Symbols).toEqual([1]);
    } finally {
      await r.close();
      await lean.close();
    }
  });

  it('refuses refs outside the symbol table, unsorted names and series out of the source order', async () => {
    const labels = normalize([
      [
        { name: 'a', value: 'x' },
        { name: 'b', value: 'y' },
      ],
      [{ name: 'a', value: 'y' }],
    ]);
    const src = join(dir, 'refuse-src');
    await writeSource(
      src,
      labels.map((l, i) => ({ labels: l, chunks: chunks(i) })),
      symbolsOf(labels),
    );
    const lean = await LeanIndex.open(src);
    const w = await IndexWriter.createDerived(join(dir, 'refuse-out'), lean);
    try {
      expect(() => w.addSeriesRefs(Uint32Array.of(0, 9), 1, chunks(1), 1)).toThrow(/not in the symbol table/);
      expect(() => w.addSeriesRefs(Uint32Array.of(1, 2, 0, 3), 2, chunks(1), 1)).toThrow(/not sorted/);
      expect(() => w.addSeries([{ name: 'a', value: 'x' }], chunks(1))).toThrow(/derived/);
      await w.addSeriesRefs(Uint32Array.of(0, 2), 1, chunks(1), 5);
      expect(() => w.addSeriesRefs(Uint32Array.of(0, 3), 1, chunks(2), 4)).toThrow(/source order/);
    } finally {
      await w.abort();
      await lean.close();
    }
  });
});
