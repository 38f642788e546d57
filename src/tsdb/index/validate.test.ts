import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '../encoding/crc32c.js';
import { Encbuf } from '../encoding/encbuf.js';
import { encodeToc, type ChunkMeta } from './format.js';
import { IndexReader } from './reader.js';
import { removeDir, tempDir } from '../../../test/support/index-testkit.js';
import type { IndexProblemKind } from './validate.js';

interface RawSeries {
  /** [nameRef, valueRef] pairs, written as given. */
  refs: Array<[number, number]>;
  chunks: ChunkMeta[];
}

/**
 * Builds an index byte for byte without the writer's checks, encoding chunk deltas the way Go
 * does (uint64 two's complement for negative ones). `tamper` may edit the postings before they
 * are written (key `name\0value`, "" \0 "" for all postings).
 */
function rawIndex(
  symbols: string[],
  series: RawSeries[],
  tamper: (postings: Map<string, number[]>) => void = () => undefined,
): Buffer {
  const e = new Encbuf(1 << 16);
  e.putBE32(0xbaaad700);
  e.putByte(2);
  const section = (body: Encbuf): void => {
    e.putBE32(body.len);
    e.putBytes(body.view());
    e.putBE32(crc32c(body.view()));
  };
  const sym = new Encbuf();
  sym.putBE32(symbols.length);
  for (const s of symbols) sym.putUvarintString(s);
  section(sym);
  const seriesStart = e.len;
  const postings = new Map<string, number[]>([['\0', []]]);
  for (const s of series) {
    e.padTo(16);
    const id = e.len / 16;
    postings.get('\0')!.push(id);
    const b = new Encbuf();
    b.putUvarint(s.refs.length);
    for (const [n, v] of s.refs) {
      b.putUvarint(n);
      b.putUvarint(v);
      const key = `${symbols[n]}\0${symbols[v]}`;
      postings.set(key, [...(postings.get(key) ?? []), id]);
    }
    b.putUvarint(s.chunks.length);
    s.chunks.forEach((c, i) => {
      const prev = s.chunks[i - 1];
      if (prev === undefined) b.putVarint(c.mint);
      else b.putUvarintBig(BigInt(c.mint - prev.maxt));
      b.putUvarintBig(BigInt(c.maxt - c.mint));
      if (prev === undefined) b.putUvarint(c.ref);
      else b.putVarint(c.ref - prev.ref);
    });
    e.putUvarint(b.len);
    e.putBytes(b.view());
    e.putBE32(crc32c(b.view()));
  }
  const seriesEnd = e.len;
  tamper(postings);
  e.padTo(4);
  const table = new Encbuf();
  const keys = [...postings.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  table.putBE32(keys.length);
  for (const k of keys) {
    const [name, value] = k.split('\0') as [string, string];
    table.putUvarint(2);
    table.putUvarintString(name);
    table.putUvarintString(value);
    table.putUvarint(e.len);
    const ids = postings.get(k)!;
    const p = new Encbuf();
    p.putBE32(ids.length);
    for (const id of ids) p.putBE32(id);
    section(p);
  }
  const pt = e.len;
  section(table);
  e.putBytes(
    encodeToc({
      symbols: 5,
      series: seriesStart,
      labelIndices: seriesEnd,
      labelIndicesTable: pt,
      postings: seriesEnd,
      postingsTable: pt,
    }),
  );
  return Buffer.from(e.view());
}

const SYMS = ['a', 'b', 'c', 'job', 'x', 'y'];
const [A, B, C, JOB, X, Y] = [0, 1, 2, 3, 4, 5];
const ok = (mint = 0, maxt = 10): ChunkMeta[] => [{ mint, maxt, ref: 8 }];

describe('index validation', () => {
  let dir: string;
  let n = 0;
  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  async function check(
    series: RawSeries[],
    tamper?: (p: Map<string, number[]>) => void,
    symbols: string[] = SYMS,
    range: [number, number] = [0, 100],
  ) {
    const path = join(dir, `v${n++}`);
    await writeFile(path, rawIndex(symbols, series, tamper));
    const r = await IndexReader.open(path);
    try {
      return await r.validate(range[0], range[1]);
    } finally {
      await r.close();
    }
  }
  const kinds = (ps: ReadonlyArray<{ kind: IndexProblemKind }>) => ps.map((p) => p.kind);

  it('a well-formed raw index passes', async () => {
    const v = await check([
      { refs: [[A, X]], chunks: ok() },
      {
        refs: [
          [A, Y],
          [JOB, X],
        ],
        chunks: [
          { mint: 0, maxt: 5, ref: 8 },
          { mint: 6, maxt: 99, ref: 30 },
        ],
      },
    ]);
    expect(v.problems).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.stats).toMatchObject({
      numSeries: 2,
      numChunks: 3,
      numLabelNames: 2,
      numPostings: 4,
      seriesMaxSize: 32,
    });
  });

  it('reports series and label order problems', async () => {
    const v = await check([
      { refs: [[A, Y]], chunks: ok() },
      { refs: [[A, X]], chunks: ok() },
      {
        refs: [
          [B, X],
          [A, X],
        ],
        chunks: ok(),
      },
      {
        refs: [
          [C, X],
          [C, Y],
        ],
        chunks: ok(),
      },
      { refs: [], chunks: ok() },
    ]);
    expect(kinds(v.problems)).toEqual([
      'series-out-of-order',
      'labels-out-of-order',
      'labels-out-of-order',
      'series-empty-labels',
      'series-out-of-order',
    ]);
    expect(v.problems[0]).toMatchObject({ labels: '{a="x"}', severity: 'error' });
    expect(v.stats.outOfOrderLabels).toBe(2);
  });

  it('reports chunk problems with Thanos bounds (maxt == maxTime passes, with a warning)', async () => {
    const v = await check(
      [
        { refs: [[A, X]], chunks: [] },
        { refs: [[A, Y]], chunks: [{ mint: 5, maxt: 4, ref: 8 }] },
        {
          refs: [[B, X]],
          chunks: [
            { mint: 10, maxt: 20, ref: 8 },
            { mint: 15, maxt: 30, ref: 40 },
            { mint: 15, maxt: 30, ref: 80 },
            { mint: 1, maxt: 2, ref: 120 },
          ],
        },
        {
          refs: [[B, Y]],
          chunks: [
            { mint: -5, maxt: 3, ref: 8 },
            { mint: 90, maxt: 100, ref: 20 },
          ],
        },
        { refs: [[C, X]], chunks: [{ mint: 100, maxt: 120, ref: 8 }] },
        { refs: [[C, Y]], chunks: [{ mint: 101, maxt: 120, ref: 8 }] },
      ],
      undefined,
      SYMS,
      [0, 100],
    );
    expect(kinds(v.problems)).toEqual([
      'series-no-chunks',
      'chunk-inverted',
      'chunk-out-of-order',
      'chunk-duplicate',
      'chunk-out-of-order',
      'chunk-outside-block',
      'chunk-at-block-end',
      'chunk-outside-block',
      'chunk-outside-block',
    ]);
    expect(v.problems.find((p) => p.kind === 'chunk-at-block-end')!.severity).toBe('warning');
    expect(v.stats).toMatchObject({
      outOfOrderChunks: 2,
      duplicatedChunks: 1,
      outsideChunks: 3,
      completeOutsideChunks: 1,
      issue347OutsideChunks: 1,
    });
  });

  it('reads overlapping chunks that Go encoded with wrapped negative deltas', async () => {
    const path = join(dir, 'overlap');
    const chunks = [
      { mint: 100, maxt: 200, ref: 2 ** 33 },
      { mint: 50, maxt: 60, ref: 16 },
    ];
    await writeFile(path, rawIndex(SYMS, [{ refs: [[A, X]], chunks }]));
    const r = await IndexReader.open(path);
    const all = await r.allPostings();
    expect((await r.series(all[0]!)).chunks).toEqual(chunks);
    await r.close();
  });

  it('cross-checks postings against the series', async () => {
    const series: RawSeries[] = [
      { refs: [[A, X]], chunks: ok() },
      {
        refs: [
          [A, Y],
          [B, X],
        ],
        chunks: ok(),
      },
      { refs: [[B, Y]], chunks: ok() },
    ];
    const ids = (p: Map<string, number[]>) => p.get('\0')!;
    const cases: Array<[(p: Map<string, number[]>) => void, IndexProblemKind[]]> = [
      [(p) => p.set('a\0x', []), ['postings-incomplete']],
      [(p) => p.set('a\0x', [ids(p)[0]!, 9999]), ['postings-bad-series']],
      [(p) => p.set('a\0x', [ids(p)[0]!, ids(p)[2]!]), ['postings-wrong-series']],
      [(p) => p.delete('b\0y'), ['postings-missing']],
      [(p) => p.set('\0', ids(p).slice(1)), ['all-postings-mismatch']],
      [(p) => p.set('c\0nope', [ids(p)[0]!]), ['postings-unknown-symbol']],
    ];
    for (const [tamper, want] of cases) {
      const v = await check(series, tamper);
      expect(kinds(v.problems)).toEqual(want);
      expect(v.ok).toBe(false);
    }
  });

  it('reports unsorted symbols and caps the problem list', async () => {
    const v = await check([{ refs: [[0, 1]], chunks: ok() }], undefined, ['b', 'a']);
    expect(kinds(v.problems)).toContain('symbols-unsorted');
    const many: RawSeries[] = Array.from({ length: 30 }, () => ({ refs: [[A, X]], chunks: [] }));
    const path = join(dir, 'many');
    await writeFile(path, rawIndex(SYMS, many));
    const r = await IndexReader.open(path);
    const capped = await r.validate(0, 100, { maxProblems: 5 });
    expect(capped.problems).toHaveLength(5);
    expect(capped.problemsDropped).toBeGreaterThan(20);
    await r.close();
  });
});
