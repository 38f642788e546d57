import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { join } from 'node:path';
import { compareLabels, compareStrings, type Label, type Labels } from '../labels.js';
import { isStrataError } from '../../util/errors.js';
import type { ChunkMeta } from './format.js';
import { IndexReader } from './reader.js';
import { IndexWriter, IndexWriterError } from './writer.js';
import {
  normalize,
  removeDir,
  symbolsOf,
  tempDir,
  writeIndex,
  type TestSeries,
} from '../../../test/support/index-testkit.js';

const wellFormed = (s: string): boolean => !/\p{Cs}/u.test(s);

/** Names/values: a small shared pool (for overlap) or arbitrary Unicode incl. astral and controls. */
const str = fc.oneof(
  fc.constantFrom(
    'a',
    'b',
    '__name__',
    'job',
    'z',
    'é',
    '😀',
    '\u{10ffff}',
    '\ufffd',
    '\u00ff',
    ' ',
    '\n',
    '0',
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }).filter(wellFormed),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 3 }),
);

const labelSet = fc
  .uniqueArray(fc.record({ name: str, value: str }), { minLength: 1, maxLength: 6, selector: (l) => l.name })
  .map((ls): Label[] => ls);

function chunksFor(i: number, n: number, big: boolean): ChunkMeta[] {
  const out: ChunkMeta[] = [];
  let t = big ? -(2 ** 52) + i * 1000 : 1_700_000_000_000 + i;
  let ref = big ? 2 ** 40 + i * 4096 : 8 + i * 100;
  for (let k = 0; k < n; k++) {
    const mint = t;
    const maxt = t + (k % 3 === 0 ? 0 : 12_345 * (k + 1));
    out.push({ mint, maxt, ref });
    t = maxt + 1 + k * 7;
    ref += big ? 2 ** 32 + 17 : 40 + k;
  }
  return out;
}

function expectedIndex(series: readonly TestSeries[], ids: readonly number[]) {
  const byPair = new Map<string, Map<string, number[]>>();
  series.forEach((s, i) => {
    for (const l of s.labels) {
      let m = byPair.get(l.name);
      if (!m) byPair.set(l.name, (m = new Map()));
      const list = m.get(l.value) ?? [];
      list.push(ids[i]!);
      m.set(l.value, list);
    }
  });
  return byPair;
}

async function checkRoundTrip(path: string, series: TestSeries[]): Promise<void> {
  const ids = await writeIndex(path, series);
  for (let i = 1; i < ids.length; i++) expect(ids[i]!).toBeGreaterThan(ids[i - 1]!);
  const r = await IndexReader.open(path);
  try {
    expect(r.symbols()).toEqual(symbolsOf(series.map((s) => s.labels)));
    const byPair = expectedIndex(series, ids);
    expect(r.labelNames()).toEqual([...byPair.keys()].sort(compareStrings));
    for (const [name, values] of byPair) {
      expect(r.labelValues(name)).toEqual([...values.keys()].sort(compareStrings));
      for (const [value, want] of values) expect([...(await r.postings(name, value))]).toEqual(want);
    }
    expect([...(await r.postings('no such name', 'x'))]).toEqual([]);
    expect([...(await r.allPostings())]).toEqual(ids);
    for (let i = 0; i < series.length; i++) {
      const s = await r.series(ids[i]!);
      expect(s.labels).toEqual(series[i]!.labels);
      expect(s.chunks).toEqual(series[i]!.chunks);
    }
    // Tiny cursor buffers force entries to straddle refills.
    for (const buf of [64, 333, 1 << 20]) {
      let i = 0;
      for await (const s of r.seriesIterator(buf)) {
        expect(s.id).toBe(ids[i]);
        expect(s.labels).toEqual(series[i]!.labels);
        expect(s.chunks).toEqual(series[i]!.chunks);
        i++;
      }
      expect(i).toBe(series.length);
    }
    const minT = Math.min(...series.flatMap((s) => s.chunks.map((c) => c.mint)));
    const maxT = Math.max(...series.flatMap((s) => s.chunks.map((c) => c.maxt)));
    const v = await r.validate(minT, maxT + 1);
    expect(v.problems).toEqual([]);
    expect(v.stats.numSeries).toBe(series.length);
  } finally {
    await r.close();
  }
}

describe('index round trip', () => {
  let dir: string;
  let n = 0;
  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it('arbitrary Unicode label sets round-trip through writer and reader', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(labelSet, { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        async (sets, big) => {
          const series = normalize(sets).map((labels, i) => ({
            labels,
            chunks: chunksFor(i, 1 + (i % 4), big),
          }));
          await checkRoundTrip(join(dir, `p${n++}`), series);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refs beyond 2^32 and timestamps near ±2^52 round-trip exactly', async () => {
    const series: TestSeries[] = [
      {
        labels: [{ name: 'a', value: '1' }],
        chunks: [
          { mint: -(2 ** 52), maxt: -(2 ** 52) + 5, ref: 2 ** 52 - 1 },
          { mint: 0, maxt: 2 ** 52 - 1, ref: 0 },
        ],
      },
      {
        labels: [{ name: 'a', value: '2' }],
        chunks: [
          { mint: -(2 ** 52), maxt: 2 ** 52 - 2, ref: 2 ** 32 + 8 },
          { mint: 2 ** 52 - 1, maxt: 2 ** 52 - 1, ref: 2 ** 52 - 1 },
        ],
      },
      {
        labels: [{ name: 'a', value: '3' }],
        chunks: [
          { mint: -5, maxt: -1, ref: 5 * 2 ** 32 + 123 },
          { mint: 0, maxt: 0, ref: 2 ** 32 - 1 },
          { mint: 1, maxt: 2 ** 51, ref: 2 ** 33 },
        ],
      },
    ];
    await checkRoundTrip(join(dir, 'big'), series);
  });

  it('many series: round trip, cursor order, and entries 16-byte aligned', async () => {
    const series: TestSeries[] = [];
    for (let i = 0; i < 20_000; i++) {
      const labels: Label[] = [
        { name: '__name__', value: `metric_${i % 50}` },
        { name: 'instance', value: `host-${i % 997}` },
        { name: 'series', value: String(i).padStart(6, '0') },
      ];
      if (i % 5 === 0) labels.push({ name: 'zone', value: `z${i % 3}` });
      series.push({ labels, chunks: chunksFor(i, 1 + (i % 3), false) });
    }
    series.sort((a, b) => compareLabels(a.labels, b.labels));
    const path = join(dir, 'many');
    const ids = await writeIndex(path, series);
    const r = await IndexReader.open(path);
    try {
      expect([...(await r.allPostings())]).toEqual(ids);
      let i = 0;
      for await (const s of r.seriesIterator()) {
        expect(s.id).toBe(ids[i]);
        expect(s.labels[2]!.value).toBe(series[i]!.labels[2]!.value);
        i++;
      }
      expect(i).toBe(series.length);
      expect([...(await r.postings('zone', 'z1'))]).toEqual(
        ids.filter((_, j) => series[j]!.labels.some((l) => l.name === 'zone' && l.value === 'z1')),
      );
      const v = await r.validate(0, 2 ** 52);
      expect(v.ok).toBe(true);
      expect(v.stats.numPostings).toBe(1 + 50 + 997 + 20_000 + 3);
    } finally {
      await r.close();
    }
  });

  it('postings lists longer than one write chunk', async () => {
    const series: TestSeries[] = [];
    for (let i = 0; i < 40_000; i++) {
      series.push({
        labels: [
          { name: 'a', value: 'same' },
          { name: 'i', value: String(i).padStart(5, '0') },
        ],
        chunks: [{ mint: i, maxt: i, ref: i * 20 }],
      });
    }
    const path = join(dir, 'long');
    const ids = await writeIndex(path, series);
    const r = await IndexReader.open(path);
    try {
      expect([...(await r.postings('a', 'same'))]).toEqual(ids);
      expect((await r.validate(0, 40_000)).ok).toBe(true);
    } finally {
      await r.close();
    }
  });
});

describe('index writer rejects invalid input', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  const ok: ChunkMeta[] = [{ mint: 0, maxt: 10, ref: 8 }];
  const cases: Array<[string, Labels, ChunkMeta[], string]> = [
    ['empty label set', [], ok, 'ERR_INVALID_ARGUMENT'],
    [
      'unsorted labels',
      [
        { name: 'b', value: 'x' },
        { name: 'a', value: 'x' },
      ],
      ok,
      'ERR_INVALID_ARGUMENT',
    ],
    [
      'duplicate names',
      [
        { name: 'a', value: 'x' },
        { name: 'a', value: 'y' },
      ],
      ok,
      'ERR_INVALID_ARGUMENT',
    ],
    ['unknown symbol', [{ name: 'a', value: 'nope' }], ok, 'ERR_INVALID_ARGUMENT'],
    ['empty value', [{ name: 'a', value: '' }], ok, 'ERR_INVALID_ARGUMENT'],
    ['no chunks', [{ name: 'a', value: 'x' }], [], 'ERR_INVALID_ARGUMENT'],
    ['mint > maxt', [{ name: 'a', value: 'x' }], [{ mint: 5, maxt: 4, ref: 8 }], 'ERR_INVALID_ARGUMENT'],
    [
      'overlapping chunks',
      [{ name: 'a', value: 'x' }],
      [
        { mint: 0, maxt: 10, ref: 8 },
        { mint: 10, maxt: 20, ref: 30 },
      ],
      'ERR_TSDB_OVERLAP',
    ],
    [
      'out-of-order chunks',
      [{ name: 'a', value: 'x' }],
      [
        { mint: 5, maxt: 10, ref: 8 },
        { mint: 0, maxt: 3, ref: 30 },
      ],
      'ERR_TSDB_OUT_OF_ORDER',
    ],
    [
      'fractional time',
      [{ name: 'a', value: 'x' }],
      [{ mint: 0.5, maxt: 1, ref: 8 }],
      'ERR_INVALID_ARGUMENT',
    ],
    [
      'time beyond 2^52',
      [{ name: 'a', value: 'x' }],
      [{ mint: 0, maxt: 2 ** 52, ref: 8 }],
      'ERR_INVALID_ARGUMENT',
    ],
    [
      'ref beyond 2^52',
      [{ name: 'a', value: 'x' }],
      [{ mint: 0, maxt: 1, ref: 2 ** 52 }],
      'ERR_INVALID_ARGUMENT',
    ],
    ['negative ref', [{ name: 'a', value: 'x' }], [{ mint: 0, maxt: 1, ref: -1 }], 'ERR_INVALID_ARGUMENT'],
  ];

  it.each(cases)('%s', async (_, labels, chunks, code) => {
    const w = await IndexWriter.create(join(dir, 'bad'), ['', 'a', 'b', 'x', 'y', 'z']);
    try {
      await w.addSeries([{ name: 'a', value: 'b' }], ok);
      const err = await Promise.resolve()
        .then(() => w.addSeries(labels, chunks))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IndexWriterError);
      expect(isStrataError(err) && err.code).toBe(code);
      // The writer stays usable after a rejected series.
      await w.addSeries([{ name: 'a', value: 'z' }], ok);
      await w.close();
    } finally {
      await w.abort();
    }
  });

  it('rejects out-of-order and duplicate series, naming them', async () => {
    const w = await IndexWriter.create(join(dir, 'order'), ['a', 'b', 'c']);
    await w.addSeries([{ name: 'a', value: 'b' }], ok);
    expect(() => w.addSeries([{ name: 'a', value: 'b' }], ok)).toThrow(
      /series \{a="b"\}: series out of order/,
    );
    expect(thrown(() => w.addSeries([{ name: 'a', value: 'a' }], ok))).toMatchObject({
      code: 'ERR_TSDB_OUT_OF_ORDER',
      series: '{a="a"}',
    });
    // A longer set with the same prefix sorts after.
    await w.addSeries(
      [
        { name: 'a', value: 'b' },
        { name: 'b', value: 'c' },
      ],
      ok,
    );
    await w.close();
    await w.abort();
  });

  it('rejects unsorted, duplicate or malformed symbols', async () => {
    await expect(IndexWriter.create(join(dir, 's'), ['b', 'a'])).rejects.toThrow(/sorted and unique/);
    await expect(IndexWriter.create(join(dir, 's'), ['a', 'a'])).rejects.toThrow(/sorted and unique/);
    await expect(IndexWriter.create(join(dir, 's'), ['a', '\ud800'])).rejects.toThrow(/unpaired surrogate/);
    // Bytewise (UTF-8) order, not UTF-16: U+FFFD sorts before U+1F600.
    await expect(IndexWriter.create(join(dir, 's'), ['😀', '\ufffd'])).rejects.toThrow(/sorted/);
    const w = await IndexWriter.create(join(dir, 's'), ['\ufffd', '😀']);
    await w.abort();
  });

  it('exposes series_max_size', async () => {
    const w = await IndexWriter.create(join(dir, 'stats'), ['a', 'b', 'c']);
    await w.addSeries([{ name: 'a', value: 'b' }], ok);
    await w.addSeries([{ name: 'a', value: 'c' }], [ok[0]!, { mint: 11, maxt: 20, ref: 100 }]);
    const st = await w.close();
    expect(st.numSeries).toBe(2);
    expect(st.numChunks).toBe(3);
    expect(st.numPostings).toBe(3);
    expect(st.seriesMaxSize).toBe(16);
    await w.abort();
  });
});

describe('index writer usage errors', () => {
  it('rejects overlapping addSeries calls and use after close', async () => {
    const dir = await tempDir();
    try {
      // A tiny buffer makes the first call suspend in a flush.
      const w = await IndexWriter.create(join(dir, 'i'), ['a', 'b', 'c'], { bufferSize: 64 });
      const many = Array.from({ length: 40 }, (_, i) => ({ mint: 2 * i, maxt: 2 * i + 1, ref: 8 + i }));
      const first = w.addSeries([{ name: 'a', value: 'b' }], many);
      // Checks throw synchronously (addSeries returns a promise only when it must wait).
      expect(() => w.addSeries([{ name: 'a', value: 'c' }], [{ mint: 0, maxt: 1, ref: 8 }])).toThrow(
        /await each addSeries/,
      );
      await first;
      await w.close();
      expect(() => w.addSeries([{ name: 'a', value: 'c' }], [{ mint: 0, maxt: 1, ref: 8 }])).toThrow(
        /is closed/,
      );
    } finally {
      await removeDir(dir);
    }
  });
});

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}
