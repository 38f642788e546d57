/**
 * Bad input at the block level: truncated files, flipped bytes, wrong magic, unknown chunk
 * encodings, absurd lengths. Each is a typed error naming the file (and offset); nothing crashes,
 * hangs, or allocates without bound. A fuzz loop flips random bytes in real blocks.
 */
import { setFirstChunkEncoding } from '../support/corrupt-chunk.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, strataDump } from './helpers.js';
import { writeSynthBlocks } from '../../src/tsdb/synth/write.js';
import { BlockReader } from '../../src/tsdb/block/reader.js';
import { verifyBlock } from '../../src/tsdb/verify/verify.js';
import { FormatError, StrataError } from '../../src/util/errors.js';
import { seededRandom } from '../../src/tsdb/ulid.js';
import { BlockWriter } from '../../src/tsdb/block/writer.js';
import { XorAppender } from '../../src/tsdb/chunkenc/xor.js';
import { ENC_XOR } from '../../src/tsdb/chunkenc/encoding.js';
import { labelsFromRecord } from '../../src/tsdb/labels.js';
import { ensureBuilt } from '../support/build.js';

let root: { dir: string; cleanup: () => Promise<void> };
let good: string;

beforeAll(async () => {
  root = await tempDir('strata-bad-');
  const blocks = await writeSynthBlocks({
    outDir: join(root.dir, 'good'),
    series: 80,
    hours: 2,
    seed: 4,
    startMs: 1_700_000_000_000,
  });
  good = blocks[0]!.dir;
});
afterAll(async () => {
  await root.cleanup();
});

let n = 0;
async function copyBlock(): Promise<string> {
  const dst = join(root.dir, `case-${n++}`, good.split('/').pop()!);
  await cp(good, dst, { recursive: true });
  return dst;
}

/** Opens, dumps and verifies; returns the first error thrown by open/dump (verify never throws). */
async function exercise(dir: string): Promise<unknown> {
  const v = await verifyBlock(dir);
  let thrown: unknown;
  try {
    const r = await BlockReader.open(dir);
    await r.close();
    await strataDump(dir);
  } catch (err) {
    thrown = err;
  }
  if (thrown === undefined) expect(v.ok || v.problems.length > 0).toBe(true);
  else expect(v.ok).toBe(false);
  return thrown;
}

describe('bad block input', () => {
  it('truncated index: FormatError naming the index file', async () => {
    const dir = await copyBlock();
    await truncate(join(dir, 'index'), 100);
    const err = await exercise(dir);
    expect(err).toBeInstanceOf(FormatError);
    expect((err as FormatError).file).toBe(join(dir, 'index'));
  });

  it('wrong index magic and wrong segment magic', async () => {
    const dir = await copyBlock();
    const idx = await readFile(join(dir, 'index'));
    idx[0] = 0;
    await writeFile(join(dir, 'index'), idx);
    const err = (await exercise(dir)) as FormatError;
    expect(err.code).toBe('ERR_TSDB_BAD_MAGIC');
    const dir2 = await copyBlock();
    const seg = await readFile(join(dir2, 'chunks', '000001'));
    seg[1] ^= 0xff;
    await writeFile(join(dir2, 'chunks', '000001'), seg);
    const err2 = (await exercise(dir2)) as FormatError;
    expect(err2.code).toBe('ERR_TSDB_BAD_MAGIC');
    expect(err2.file).toBe(join(dir2, 'chunks', '000001'));
    expect(err2.offset).toBe(0);
  });

  it('a flipped byte inside chunk data is a CRC error with the chunk offset', async () => {
    const dir = await copyBlock();
    const p = join(dir, 'chunks', '000001');
    const seg = await readFile(p);
    seg[200] ^= 0x10;
    await writeFile(p, seg);
    const err = (await exercise(dir)) as FormatError;
    expect(err).toBeInstanceOf(FormatError);
    expect(err.code).toBe('ERR_TSDB_CHECKSUM');
    expect(err.file).toBe(p);
    expect(err.offset).toBeGreaterThanOrEqual(8);
    expect(err.offset).toBeLessThanOrEqual(200);
    const v = await verifyBlock(dir);
    expect(v.problems.some((x) => x.kind === 'ERR_TSDB_CHECKSUM' && x.message.includes('series {'))).toBe(
      true,
    );
  });

  it('an unknown chunk encoding (with a valid CRC) is a typed error naming file and offset', async () => {
    const dir = await copyBlock();
    const p = join(dir, 'chunks', '000001');
    const q = await setFirstChunkEncoding(p, 0x42);
    const err = (await exercise(dir)) as FormatError;
    expect(err.code).toBe('ERR_TSDB_UNKNOWN_ENCODING');
    expect(err.file).toBe(p);
    expect(err.offset).toBe(q);
  });

  it('verify decodes every chunk: samples out of order, or outside the index range, are reported', async () => {
    const chunk = (ts: number[]): { data: Uint8Array; numSamples: number } => {
      const app = new XorAppender();
      for (const t of ts) app.append(t, 1);
      return { data: app.bytes().slice(), numSamples: ts.length };
    };
    const w = await BlockWriter.create(join(root.dir, `case-${n++}`), {
      symbols: ['__name__', 'a', 'b', 'm'],
      minTime: 0,
      maxTime: 10_000,
    });
    // Valid CRCs and index; only decoding the chunks shows what is wrong.
    await w.addSeries(labelsFromRecord({ __name__: 'm', a: 'a' }), [
      { mint: 1000, maxt: 2000, encoding: ENC_XOR, ...chunk([1000, 3000, 2000]) },
    ]);
    await w.addSeries(labelsFromRecord({ __name__: 'm', b: 'b' }), [
      { mint: 1000, maxt: 4000, encoding: ENC_XOR, ...chunk([1500, 2500, 4000]) },
    ]);
    const res = await w.finish();
    const v = await verifyBlock(res!.dir);
    expect(v.ok).toBe(false);
    const byKind = (k: string): string[] => v.problems.filter((p) => p.kind === k).map((p) => p.message);
    expect(byKind('samples-out-of-order')).toEqual([
      expect.stringMatching(/^series \{__name__="m", a="a"\} chunk ref \d+: sample 2 at 2000 after 3000$/),
    ]);
    expect(byKind('chunk-bounds-mismatch')).toEqual([expect.stringContaining('{__name__="m", b="b"}')]);
    expect(byKind('chunk-bounds-mismatch')[0]).toContain(
      'index says [1000, 4000], samples span [1500, 4000]',
    );
    expect(v.samples).toBe(6);
  });

  it('verify on two threads (the compiled worker) reports exactly what one thread reports', async () => {
    // Problems in many series, so both shares of the series hold some.
    const app = new XorAppender();
    const names = Array.from({ length: 40 }, (_, i) => `s${String(i).padStart(2, '0')}`);
    const w = await BlockWriter.create(join(root.dir, `case-${n++}`), {
      symbols: ['__name__', 'm', 'x', ...names],
      minTime: 0,
      maxTime: 100_000,
    });
    for (const [i, name] of names.entries()) {
      app.reset();
      const ts = i % 3 === 0 ? [1000, 3000, 2000] : i % 3 === 1 ? [1000, 2000, 200_000] : [1000, 2000, 3000];
      for (const t of ts) app.append(t, i);
      const data = app.bytes().slice();
      await w.addSeries(labelsFromRecord({ __name__: 'm', [name]: 'x' }), [
        { mint: 1000, maxt: ts[2]!, encoding: ENC_XOR, data, numSamples: 3 },
      ]);
    }
    const res = await w.finish();
    const one = await verifyBlock(res!.dir, { parallelFromSamples: Infinity });
    await ensureBuilt();
    const dist = (await import(
      new URL('../../dist/src/tsdb/verify/verify.js', import.meta.url).href
    )) as typeof import('../../src/tsdb/verify/verify.js');
    const two = await dist.verifyBlock(res!.dir, { parallelFromSamples: 1 });
    expect(one.threads).toBe(1);
    expect(two.threads).toBe(2);
    expect(one.problems.filter((p) => p.kind === 'samples-out-of-order')).toHaveLength(14);
    expect(one.problems.filter((p) => p.kind === 'samples-outside-block')).toHaveLength(13);
    expect(two.problems).toEqual(one.problems);
    expect([two.series, two.chunks, two.samples]).toEqual([40, 40, 120]);
    expect([one.series, one.chunks, one.samples]).toEqual([40, 40, 120]);
  });

  it('an absurd chunk length never allocates: truncation error naming the segment', async () => {
    const dir = await copyBlock();
    const p = join(dir, 'chunks', '000001');
    const seg = await readFile(p);
    seg.set([0xff, 0xff, 0xff, 0xff, 0x0f], 8); // len = 2^32 - 1
    await writeFile(p, seg);
    const err = (await exercise(dir)) as FormatError;
    expect(err).toBeInstanceOf(FormatError);
    expect(err.file).toBe(p);
    expect(err.offset).toBe(8);
  });

  it('missing and corrupt meta.json are typed errors', async () => {
    const dir = await copyBlock();
    await writeFile(join(dir, 'meta.json'), '{"version": 1, "ulid": ');
    const err = (await exercise(dir)) as FormatError;
    expect(err.code).toBe('ERR_TSDB_BAD_META');
    const dir2 = await copyBlock();
    await rm(join(dir2, 'meta.json'));
    expect((await verifyBlock(dir2)).ok).toBe(false);
  });

  it('fuzz: random byte flips in every file give data or typed errors, never anything else', async () => {
    const rnd = seededRandom(20261123);
    const files = [
      'index',
      'meta.json',
      'tombstones',
      ...(await readdir(join(good, 'chunks'))).map((f) => `chunks/${f}`),
    ];
    const deadline = Date.now() + 20_000;
    let cases = 0;
    while (cases < 120 && Date.now() < deadline) {
      const dir = await copyBlock();
      const f = join(dir, files[Math.floor(rnd() * files.length)]!);
      const bytes = await readFile(f);
      const flips = 1 + Math.floor(rnd() * 4);
      for (let i = 0; i < flips; i++) bytes[Math.floor(rnd() * bytes.length)] ^= 1 + Math.floor(rnd() * 255);
      await writeFile(f, bytes);
      const err = await exercise(dir);
      if (err !== undefined && !(err instanceof StrataError)) {
        throw new Error(`untyped error for flipped ${f}: ${String(err)}`, { cause: err });
      }
      await rm(join(dir, '..'), { recursive: true, force: true });
      cases++;
    }
    expect(cases).toBeGreaterThan(20);
  }, 60_000);
});
