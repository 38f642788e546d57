import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '../encoding/crc32c.js';
import { FormatError } from '../../util/errors.js';
import { newMatcher } from './matchers.js';
import { IndexReader } from './reader.js';
import { LeanIndex } from './lean.js';
import { normalize, removeDir, tempDir, writeIndex } from '../../../test/support/index-testkit.js';
import { TOC_LEN } from './format.js';

interface Region {
  /** CRC covers bytes [start, end); the CRC sits at end. */
  start: number;
  end: number;
}

/** Every CRC-protected region of an index, from a reader over the intact file. */
async function regionsOf(path: string): Promise<Region[]> {
  const r = await IndexReader.open(path);
  const buf = await readFile(path);
  const out: Region[] = [];
  const section = (off: number): void => {
    out.push({ start: off + 4, end: off + 4 + buf.readUInt32BE(off) });
  };
  section(r.toc.symbols);
  section(r.toc.postingsTable);
  out.push({ start: buf.length - TOC_LEN, end: buf.length - 4 });
  for (const name of r.postingsNames()) for (const off of r.postingsEntries(name)!.offsets) section(off);
  for await (const s of r.seriesIterator()) {
    const at = s.id * 16;
    let p = at;
    while (buf[p]! >= 0x80) p++;
    out.push({ start: p + 1, end: at + s.entrySize - 4 });
  }
  await r.close();
  return out;
}

/** Recomputes the CRCs of the regions that contain a changed byte. */
function fixCrcs(buf: Buffer, regions: readonly Region[], changed: readonly number[]): void {
  for (const r of regions) {
    if (r.end + 4 > buf.length) continue;
    if (changed.some((p) => p >= r.start && p < r.end))
      buf.writeUInt32BE(crc32c(buf.subarray(r.start, r.end)), r.end);
  }
}

/** Outcomes seen by exercise(), to check the fuzzer reaches the decoders. */
const outcomes = new Map<string, number>();
const note = (k: string): void => void outcomes.set(k, (outcomes.get(k) ?? 0) + 1);

/** Runs every read operation; each must succeed or throw a FormatError naming the file. */
async function exercise(path: string): Promise<void> {
  const expectFormatError = (err: unknown): void => {
    if (!(err instanceof FormatError)) throw err;
    note(err.code);
    expect(err.file).toBe(path);
    expect(Number.isInteger(err.offset)).toBe(true);
  };
  await exerciseWith(
    () => IndexReader.open(path),
    (r) => [
      async () => {
        for (const n of r.labelNames()) for (const v of r.labelValues(n)) await r.postings(n, v);
      },
      async () => {
        const all = await r.allPostings();
        for (const id of all.subarray(0, 200)) await r.series(id);
      },
      async () => {
        for await (const s of r.seriesIterator(97)) void s;
      },
      () => r.select([newMatcher('=~', 'job', '.+'), newMatcher('!=', 'a', 'x')]),
      () => r.select([newMatcher('!~', 'a', 'y|z')]),
      () => r.validate(0, 1000),
      () => r.series(123456),
    ],
    'ok',
    expectFormatError,
  );
  // The lean reader's operations on the same file: results or FormatErrors too.
  await exerciseWith(
    () => LeanIndex.open(path),
    (lean) => [
      async () => {
        const read = lean.postingsReader();
        const offsets: number[] = [];
        await lean.forEachPostingsEntry((e) => void offsets.push(e.offset));
        for (const off of offsets) await read(off);
      },
      async () => {
        const c = lean.seriesCursor(97);
        const refs: number[] = [];
        for (;;) {
          while (c.next()) refs.push(...c.series.labelRefs.subarray(0, 2 * c.series.numLabels));
          if (!(await c.load())) break;
        }
        await lean.symbolsFor(refs);
      },
      async () => lean.forSeries(await lean.allPostings(), () => undefined),
    ],
    'lean ok',
    expectFormatError,
  );
}

/** Opens a reader (or sees a FormatError), runs its operations, closes it. */
async function exerciseWith<R extends { close(): Promise<void> }>(
  open: () => Promise<R>,
  ops: (r: R) => Array<() => Promise<unknown>>,
  ok: string,
  expectFormatError: (err: unknown) => void,
): Promise<void> {
  let r: R;
  try {
    r = await open();
  } catch (err) {
    expectFormatError(err);
    return;
  }
  try {
    await runOps(ops(r), ok, expectFormatError);
  } finally {
    await r.close();
  }
}

/** Each operation must succeed (noted as `ok`) or throw a FormatError. */
async function runOps(
  ops: ReadonlyArray<() => Promise<unknown>>,
  ok: string,
  expectFormatError: (err: unknown) => void,
): Promise<void> {
  for (const op of ops) {
    try {
      await op();
      note(ok);
    } catch (err) {
      expectFormatError(err);
    }
  }
}

describe('index reader on bad input', () => {
  let dir: string;
  let good: Buffer;
  let regions: Region[];
  let goodPath: string;
  beforeAll(async () => {
    dir = await tempDir();
    goodPath = join(dir, 'good');
    const sets = normalize(
      Array.from({ length: 60 }, (_, i) => [
        { name: '__name__', value: `m${i % 4}` },
        { name: 'a', value: ['x', 'y', 'z'][i % 3]! },
        { name: 'job', value: `j${i}` },
      ]),
    );
    await writeIndex(
      goodPath,
      sets.map((labels, i) => ({
        labels,
        chunks: [
          { mint: i, maxt: i + 5, ref: 8 + i * 64 },
          { mint: i + 6, maxt: i + 9, ref: 40 + i * 64 },
        ],
      })),
    );
    good = await readFile(goodPath);
    regions = await regionsOf(goodPath);
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  async function variant(name: string, mutate: (b: Buffer) => Buffer | void): Promise<string> {
    const b = Buffer.from(good);
    const out = mutate(b) ?? b;
    const path = join(dir, name);
    await writeFile(path, out);
    return path;
  }

  /** The error of opening `path` and listing its label names (the postings table is decoded lazily). */
  async function openError(path: string): Promise<FormatError> {
    const err = await IndexReader.open(path).then(
      async (r) => {
        try {
          r.labelNames();
          return null;
        } catch (e) {
          return e;
        } finally {
          await r.close();
        }
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FormatError);
    const fe = err as FormatError;
    expect(fe.file).toBe(path);
    expect(fe.message).toContain(path);
    return fe;
  }

  it('rejects empty and truncated files with an offset', async () => {
    const empty = await variant('empty', () => Buffer.alloc(0));
    expect((await openError(empty)).code).toBe('ERR_TSDB_TRUNCATED');
    for (const len of [3, 5, 56, 57, good.length - 1, good.length - 60, Math.floor(good.length / 2)]) {
      const p = await variant(`trunc${len}`, (b) => b.subarray(0, len));
      const e = await openError(p);
      expect(e.offset).toBeGreaterThanOrEqual(0);
      expect(e.offset).toBeLessThanOrEqual(len);
    }
  });

  it('rejects wrong magic and unsupported versions, accepts v3', async () => {
    const magic = await variant('magic', (b) => void b.writeUInt32BE(0xdeadbeef, 0));
    expect(await openError(magic)).toMatchObject({ code: 'ERR_TSDB_BAD_MAGIC', offset: 0 });
    const v1 = await variant('v1', (b) => void (b[4] = 1));
    const e1 = await openError(v1);
    expect(e1).toMatchObject({ code: 'ERR_TSDB_BAD_VERSION', offset: 4 });
    expect(e1.message).toMatch(/v1/);
    const v9 = await variant('v9', (b) => void (b[4] = 9));
    expect(await openError(v9)).toMatchObject({ code: 'ERR_TSDB_BAD_VERSION', offset: 4 });
    const r = await IndexReader.open(await variant('v3', (b) => void (b[4] = 3)));
    expect(r.version).toBe(3);
    expect((await r.allPostings()).length).toBe(60);
    await r.close();
  });

  it('detects flipped bytes through CRCs, naming the section offset', async () => {
    const r = await IndexReader.open(goodPath);
    const toc = r.toc;
    const all = await r.allPostings();
    const aPostingsOff = r.postingsEntries('a')!.offsets[0]!;
    await r.close();

    const tocFlip = await variant('flip-toc', (b) => void (b[b.length - 10] ^= 1));
    expect(await openError(tocFlip)).toMatchObject({ code: 'ERR_TSDB_CHECKSUM' });
    const symFlip = await variant('flip-sym', (b) => void (b[toc.symbols + 12] ^= 0x40));
    expect(await openError(symFlip)).toMatchObject({ code: 'ERR_TSDB_CHECKSUM', offset: toc.symbols });
    const ptFlip = await variant('flip-pt', (b) => void (b[toc.postingsTable + 9] ^= 2));
    expect(await openError(ptFlip)).toMatchObject({ code: 'ERR_TSDB_CHECKSUM', offset: toc.postingsTable });

    const seriesAt = all[7]! * 16;
    const sFlip = await variant('flip-series', (b) => void (b[seriesAt + 3] ^= 0x10));
    const rs = await IndexReader.open(sFlip);
    await expect(rs.series(all[7]!)).rejects.toMatchObject({
      code: 'ERR_TSDB_CHECKSUM',
      offset: seriesAt,
      file: sFlip,
    });
    const v = await rs.validate(0, 1000);
    expect(v.ok).toBe(false);
    expect(v.problems[0]).toMatchObject({
      kind: 'series-unreadable',
      offset: seriesAt,
      code: 'ERR_TSDB_CHECKSUM',
    });
    await rs.close();

    const pFlip = await variant('flip-postings', (b) => void (b[aPostingsOff + 9] ^= 1));
    const rp = await IndexReader.open(pFlip);
    await expect(rp.postings('a', 'x')).rejects.toMatchObject({
      code: 'ERR_TSDB_CHECKSUM',
      offset: aPostingsOff,
    });
    const vp = await rp.validate(0, 1000);
    expect(vp.problems.map((p) => p.kind)).toContain('postings-unreadable');
    await rp.close();
  });

  it('rejects absurd lengths and counts before allocating', async () => {
    const r = await IndexReader.open(goodPath);
    const toc = r.toc;
    const all = await r.allPostings();
    const aOff = r.postingsEntries('a')!.offsets[0]!;
    await r.close();
    const fix = (b: Buffer, at: number) => fixCrcs(b, regions, [at]);

    const symLen = await variant('sym-len', (b) => void b.writeUInt32BE(0xfffffff0, toc.symbols));
    expect(await openError(symLen)).toMatchObject({ code: 'ERR_TSDB_CORRUPT', offset: toc.symbols });
    const symCount = await variant('sym-count', (b) => {
      b.writeUInt32BE(0x7fffffff, toc.symbols + 4);
      fix(b, toc.symbols + 4);
    });
    expect(await openError(symCount)).toMatchObject({ code: 'ERR_TSDB_CORRUPT', offset: toc.symbols + 4 });
    const ptCount = await variant('pt-count', (b) => {
      b.writeUInt32BE(0xffffffff, toc.postingsTable + 4);
      fix(b, toc.postingsTable + 4);
    });
    expect(await openError(ptCount)).toMatchObject({
      code: 'ERR_TSDB_CORRUPT',
      offset: toc.postingsTable + 4,
    });
    const tocOff = await variant('toc-off', (b) => {
      b.writeUInt32BE(0x7fffffff, b.length - TOC_LEN + 5 * 8 + 4);
      fix(b, b.length - TOC_LEN + 5 * 8 + 4);
    });
    expect(await openError(tocOff)).toMatchObject({ code: 'ERR_TSDB_CORRUPT' });

    // A series entry length far past the section: the uvarint is not CRC-protected.
    const seriesAt = all[3]! * 16;
    const sLen = await variant('series-len', (b) => {
      b[seriesAt] = 0xff;
      b[seriesAt + 1] = 0xff;
      b[seriesAt + 2] = 0x7f;
    });
    const rs = await IndexReader.open(sLen);
    await expect(rs.series(all[3]!)).rejects.toMatchObject({ code: 'ERR_TSDB_TRUNCATED', offset: seriesAt });
    await expect(rs.series(999_999)).rejects.toMatchObject({
      code: 'ERR_TSDB_CORRUPT',
      offset: 999_999 * 16,
    });
    await expect(rs.series(-1)).rejects.toBeInstanceOf(FormatError);
    await expect(rs.series(1.5)).rejects.toBeInstanceOf(FormatError);
    await rs.close();

    const pLen = await variant('postings-len', (b) => void b.writeUInt32BE(0xfffffff0, aOff));
    const rp = await IndexReader.open(pLen);
    await expect(rp.postings('a', 'x')).rejects.toMatchObject({ code: 'ERR_TSDB_CORRUPT', offset: aOff });
    await rp.close();
    // A count that disagrees with the length (CRC fixed up).
    const pCount = await variant('postings-count', (b) => {
      b.writeUInt32BE(1_000_000, aOff + 4);
      fix(b, aOff + 4);
    });
    const rc = await IndexReader.open(pCount);
    await expect(rc.postings('a', 'x')).rejects.toMatchObject({ code: 'ERR_TSDB_CORRUPT', offset: aOff + 4 });
    await rc.close();
  });

  it('fuzz: random byte changes only ever yield results or FormatErrors', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.nat({ max: good.length - 1 }), v: fc.integer({ min: 0, max: 255 }) }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.boolean(),
        fc.option(fc.nat({ max: good.length }), { freq: 5 }),
        async (edits, fixup, truncate) => {
          const path = await variant('fuzz', (b) => {
            for (const e of edits) b[e.at] = e.v;
            // With fixed CRCs the decoders themselves see the garbage.
            if (fixup)
              fixCrcs(
                b,
                regions,
                edits.map((e) => e.at),
              );
            return truncate === null ? b : b.subarray(0, truncate);
          });
          await exercise(path);
        },
      ),
      { numRuns: 400 },
    );
    for (const k of ['ok', 'ERR_TSDB_CHECKSUM', 'ERR_TSDB_CORRUPT', 'ERR_TSDB_TRUNCATED']) {
      expect(outcomes.get(k) ?? 0, k).toBeGreaterThan(0);
    }
  });
});
