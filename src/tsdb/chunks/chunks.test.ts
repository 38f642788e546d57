import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FormatError, InvalidArgumentError } from '../../util/errors.js';
import { XorAppender, XorIterator } from '../chunkenc/xor.js';
import {
  ENC_FLOAT_HISTOGRAM,
  ENC_HISTOGRAM,
  ENC_THANOS_AGGR,
  ENC_XOR,
  chunkRef,
  encodingName,
  refOffset,
  refSegment,
  segmentFileName,
} from './format.js';
import { uvarintSize } from '../../util/varint.js';
import { SegmentReader } from './reader.js';
import { SegmentWriter } from './writer.js';
import { seededRandom } from '../ulid.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-chunks-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

interface Chunk {
  encoding: number;
  data: Uint8Array;
}

function xorChunk(n: number, seed: number): Uint8Array {
  const a = new XorAppender();
  for (let i = 0; i < n; i++) a.append(1_700_000_000_000 + i * 15_000 + (i % 3), Math.sin(seed + i) * 100);
  return a.bytes().slice();
}

function bytesOf(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed * 31 + i * 7) & 0xff;
  return b;
}

async function expectFormatError(p: Promise<unknown>, code: string): Promise<FormatError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(FormatError);
    expect((err as FormatError).code).toBe(code);
    return err as FormatError;
  }
  throw new Error(`expected FormatError ${code}`);
}

/** Writes the chunks (one series each unless `series` groups them) and returns the refs. */
async function writeAll(
  chunksDir: string,
  chunks: readonly Chunk[],
  opts: { maxSegmentSize?: number; bufferSize?: number } = {},
  seriesOf?: (i: number) => number,
): Promise<{ refs: number[]; files: { name: string; size: number }[] }> {
  const w = await SegmentWriter.create(chunksDir, opts);
  const refs: number[] = [];
  for (let i = 0; i < chunks.length; i++) {
    const same = seriesOf !== undefined && i > 0 && seriesOf(i) === seriesOf(i - 1);
    refs.push(await w.writeChunk(chunks[i]!.encoding, chunks[i]!.data, same));
  }
  const { files } = await w.close();
  return { refs, files };
}

describe('chunk refs', () => {
  it('pack segment and offset without 32-bit operators', () => {
    const ref = chunkRef(3, 0xffff_fff0);
    expect(ref).toBe(3 * 2 ** 32 + 0xffff_fff0);
    expect(refSegment(ref)).toBe(3);
    expect(refOffset(ref)).toBe(0xffff_fff0);
    expect(() => chunkRef(0, 2 ** 32)).toThrow(InvalidArgumentError);
    expect(() => chunkRef(-1, 8)).toThrow(InvalidArgumentError);
    expect(segmentFileName(0)).toBe('000001');
    expect(segmentFileName(41)).toBe('000042');
    expect(encodingName(ENC_THANOS_AGGR)).toBe('thanos-aggr');
    expect(uvarintSize(127)).toBe(1);
    expect(uvarintSize(128)).toBe(2);
  });
});

describe('segment files', () => {
  it('round-trip: every encoding comes back byte for byte, by ref in any order', async () => {
    const chunks: Chunk[] = [
      { encoding: ENC_XOR, data: xorChunk(120, 1) },
      { encoding: ENC_HISTOGRAM, data: bytesOf(300, 2) },
      { encoding: ENC_FLOAT_HISTOGRAM, data: bytesOf(1, 3) },
      { encoding: ENC_THANOS_AGGR, data: bytesOf(5000, 4) },
      { encoding: 0x42, data: bytesOf(0, 5) }, // unknown encoding, empty data
      { encoding: ENC_XOR, data: xorChunk(1, 6) },
    ];
    const { refs, files } = await writeAll(dir, chunks);
    expect(files.map((f) => f.name)).toEqual(['000001']);
    expect(refs[0]).toBe(8);
    const file = await readFile(join(dir, '000001'));
    expect(files[0]!.size).toBe(file.length);
    expect(hex(file.subarray(0, 8))).toBe('85bd40dd01000000');

    const r = await SegmentReader.open(dir);
    expect(r.size).toBe(file.length);
    const order = [5, 0, 3, 1, 4, 2];
    for (const i of order) {
      const c = await r.readRaw(refs[i]!);
      expect(c.encoding).toBe(chunks[i]!.encoding);
      expect(hex(c.data)).toBe(hex(chunks[i]!.data));
      expect(file.subarray(c.dataOffset, c.dataOffset + c.data.length).equals(Buffer.from(c.data))).toBe(
        true,
      );
      const off = refOffset(refs[i]!);
      expect(hex(c.bytes)).toBe(hex(file.subarray(off, off + c.bytes.length)));
    }
    // Walking the file with nextRef visits every chunk in order.
    const seen: number[] = [];
    for (let ref = r.firstRef(); ref !== undefined;) {
      seen.push(ref);
      const raw = await r.readRaw(ref);
      ref = r.nextRef(ref, raw.bytes.length);
    }
    expect(seen).toEqual(refs);
    await r.close();
  });

  it('copying raw chunks reproduces the files exactly, across buffer sizes', async () => {
    const chunks: Chunk[] = [];
    for (let i = 0; i < 60; i++) {
      chunks.push(
        i % 4 === 3
          ? { encoding: ENC_HISTOGRAM, data: bytesOf(10 + i * 13, i) }
          : { encoding: ENC_XOR, data: xorChunk(1 + ((i * 37) % 200), i) },
      );
    }
    const src = join(dir, 'a');
    const { refs } = await writeAll(src, chunks, { maxSegmentSize: 3000, bufferSize: 64 });
    const r = await SegmentReader.open(src, { readAhead: 100 });
    const dst = join(dir, 'b');
    const w = await SegmentWriter.create(dst, { maxSegmentSize: 3000, bufferSize: 256 });
    const copied: number[] = [];
    for (const ref of refs) copied.push(await w.writeRawChunk((await r.readRaw(ref)).bytes));
    const out = await w.close();
    await r.close();
    expect(copied).toEqual(refs);
    expect(out.files.length).toBeGreaterThan(1);
    for (const f of out.files) {
      expect(hex(await readFile(join(dst, f.name)))).toBe(hex(await readFile(join(src, f.name))));
    }
  });

  it('cuts segments exactly where Prometheus does', async () => {
    // Go's WriteChunks, literally: per call (one series), batches of estimated sizes.
    function goCuts(series: number[][], max: number): Array<[number, number]> {
      let n = 0;
      let seg = -1;
      const out: Array<[number, number]> = [];
      const cut = (): void => {
        seg++;
        n = 8;
      };
      for (const lens of series) {
        const batches: number[][] = [[]];
        let batchSize = 0;
        let firstBatch = true;
        lens.forEach((len, i) => {
          const est = 5 + 1 + len + 4;
          batchSize += est;
          let cutNew = i !== 0 && batchSize + 8 > max;
          if (firstBatch && n > 8) {
            cutNew = batchSize + n > max;
            if (cutNew) firstBatch = false;
          }
          if (cutNew) {
            batches.push([]);
            batchSize = est;
          }
          batches[batches.length - 1]!.push(len);
        });
        if (n === 0) cut();
        batches.forEach((b, bi) => {
          for (const len of b) {
            out.push([seg, n]);
            n += uvarintSize(len) + 1 + len + 4;
          }
          if (bi < batches.length - 1) cut();
        });
      }
      return out;
    }
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 6 }), {
          minLength: 1,
          maxLength: 25,
        }),
        fc.integer({ min: 9, max: 1200 }),
        async (series, max) => {
          const chunksDir = join(dir, `c${Math.random().toString(36).slice(2)}`);
          const chunks: Chunk[] = [];
          const seriesIdx: number[] = [];
          series.forEach((lens, s) => {
            for (const len of lens) {
              chunks.push({ encoding: ENC_XOR, data: bytesOf(len, s) });
              seriesIdx.push(s);
            }
          });
          const { refs, files } = await writeAll(
            chunksDir,
            chunks,
            { maxSegmentSize: max },
            (i) => seriesIdx[i]!,
          );
          expect(refs.map((ref) => [refSegment(ref), refOffset(ref)])).toEqual(goCuts(series, max));
          expect((await readdir(chunksDir)).sort()).toEqual(files.map((f) => f.name));
          await rm(chunksDir, { recursive: true });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reports a CRC mismatch with the file and offset', async () => {
    const chunks = [0, 1, 2].map((i) => ({ encoding: ENC_XOR, data: xorChunk(50, i) }));
    const { refs } = await writeAll(dir, chunks);
    const path = join(dir, '000001');
    const file = await readFile(path);
    file[refOffset(refs[1]!) + 10]! ^= 0x01;
    await writeFile(path, file);
    const r = await SegmentReader.open(dir);
    expect((await r.readRaw(refs[0]!)).data.length).toBe(chunks[0]!.data.length);
    const e = await expectFormatError(r.readRaw(refs[1]!), 'ERR_TSDB_CHECKSUM');
    expect(e.file).toBe(path);
    expect(e.offset).toBe(refOffset(refs[1]!));
    // The fast path never hands out a corrupt chunk either.
    expect(r.tryReadRaw(refs[1]!)).toBeUndefined();
    expect((await r.readRaw(refs[2]!)).encoding).toBe(ENC_XOR);
    await r.close();
  });

  it('rejects a wrong magic, a wrong version and a short header, naming the file', async () => {
    await writeAll(dir, [{ encoding: ENC_XOR, data: xorChunk(3, 1) }]);
    const path = join(dir, '000001');
    const good = await readFile(path);
    const bad = Buffer.from(good);
    bad[0] = 0x12;
    await writeFile(path, bad);
    let e = await expectFormatError(SegmentReader.open(dir), 'ERR_TSDB_BAD_MAGIC');
    expect(e.file).toBe(path);
    const v2 = Buffer.from(good);
    v2[4] = 2;
    await writeFile(path, v2);
    e = await expectFormatError(SegmentReader.open(dir), 'ERR_TSDB_BAD_VERSION');
    expect(e.offset).toBe(4);
    await writeFile(path, good.subarray(0, 5));
    await expectFormatError(SegmentReader.open(dir), 'ERR_TSDB_TRUNCATED');
  });

  it.each([false, true])('a truncated file fails on the cut chunk only (syncReads %s)', async (syncReads) => {
    const chunks = [0, 1, 2].map((i) => ({ encoding: ENC_XOR, data: xorChunk(80, i) }));
    const { refs } = await writeAll(dir, chunks);
    const path = join(dir, '000001');
    const size = (await readFile(path)).length;
    await truncate(path, size - 7);
    const r = await SegmentReader.open(dir, { syncReads });
    await r.readRaw(refs[0]!);
    await r.readRaw(refs[1]!);
    const e = await expectFormatError(r.readRaw(refs[2]!), 'ERR_TSDB_TRUNCATED');
    expect(e.file).toBe(path);
    expect(e.offset).toBe(refOffset(refs[2]!));
    await r.close();
  });

  it('bad refs and absurd lengths are FormatErrors, not huge allocations', async () => {
    const { refs } = await writeAll(dir, [{ encoding: ENC_XOR, data: xorChunk(10, 1) }]);
    const r = await SegmentReader.open(dir);
    const size = r.size;
    let e = await expectFormatError(r.readRaw(chunkRef(1, 8)), 'ERR_TSDB_CORRUPT');
    expect(e.file).toBe(join(dir, '000002'));
    e = await expectFormatError(r.readRaw(chunkRef(0, size)), 'ERR_TSDB_CORRUPT');
    expect(e.file).toBe(join(dir, '000001'));
    expect(e.offset).toBe(size);
    await expectFormatError(r.readRaw(chunkRef(0, 3)), 'ERR_TSDB_CORRUPT');
    await expectFormatError(r.readRaw(chunkRef(0, 0xffff_fff0)), 'ERR_TSDB_CORRUPT');
    await r.close();
    // A length field claiming 16 GiB, then 1 MiB, in a small file.
    const path = join(dir, '000001');
    const file = await readFile(path);
    const huge = Buffer.concat([
      file.subarray(0, 8),
      Buffer.from([0x80, 0x80, 0x80, 0x80, 0x40, 1]),
      file.subarray(8),
    ]);
    await writeFile(path, huge);
    const r2 = await SegmentReader.open(dir);
    e = await expectFormatError(r2.readRaw(refs[0]!), 'ERR_TSDB_CORRUPT');
    expect(e.detail).toMatch(/limit/);
    await r2.close();
    await writeFile(
      path,
      Buffer.concat([file.subarray(0, 8), Buffer.from([0x80, 0x80, 0x40, 1]), file.subarray(8)]),
    );
    const r3 = await SegmentReader.open(dir);
    e = await expectFormatError(r3.readRaw(refs[0]!), 'ERR_TSDB_TRUNCATED');
    expect(e.detail).toMatch(/past the end/);
    // Overlong length uvarint.
    await writeFile(path, Buffer.concat([file.subarray(0, 8), Buffer.alloc(6, 0xff)]));
    const r4 = await SegmentReader.open(dir);
    await expectFormatError(r4.readRaw(refs[0]!), 'ERR_TSDB_CORRUPT');
    await r3.close();
    await r4.close();
  });

  it('sequential reads are served from the read-ahead buffer', async () => {
    const chunks = Array.from({ length: 200 }, (_, i) => ({ encoding: ENC_XOR, data: xorChunk(120, i) }));
    const { refs } = await writeAll(dir, chunks);
    const r = await SegmentReader.open(dir, { readAhead: 64 << 10 });
    let fast = 0;
    for (const ref of refs) {
      if (r.tryReadRaw(ref) !== undefined) fast++;
      else await r.readRaw(ref);
    }
    expect(r.bytesRead).toBeLessThanOrEqual(r.size);
    expect(fast).toBeGreaterThan(refs.length * 0.9);
    await r.close();
  });

  it.each([false, true])(
    'read-ahead: every read returns the right bytes, in order, at random and in order again (syncReads %s)',
    async (syncReads) => {
      const rnd = seededRandom(11);
      const chunks: Chunk[] = [];
      for (let i = 0; i < 300; i++) {
        chunks.push({
          encoding: ENC_HISTOGRAM,
          data: bytesOf(1 + Math.floor(rnd() * (i % 10 === 0 ? 3000 : 300)), i),
        });
      }
      const { refs, files } = await writeAll(dir, chunks, { maxSegmentSize: 20_000, bufferSize: 512 });
      expect(files.length).toBeGreaterThan(3);
      for (const readAhead of [64, 100, 257, 1000, 4096]) {
        const r = await SegmentReader.open(dir, { readAhead, syncReads });
        const check = async (i: number): Promise<void> => {
          const c = r.tryReadRaw(refs[i]!) ?? (await r.readRaw(refs[i]!));
          expect(c.data.length, `chunk ${i}, read-ahead ${readAhead}, sync ${syncReads}`).toBe(
            chunks[i]!.data.length,
          );
          expect(Buffer.from(c.data).equals(Buffer.from(chunks[i]!.data))).toBe(true);
        };
        for (let i = 0; i < refs.length; i++) await check(i);
        // Read ahead, never twice: one pass in order reads each byte at most once.
        expect(r.bytesRead).toBeLessThanOrEqual(r.size);
        for (let k = 0; k < 200; k++) await check(Math.floor(rnd() * refs.length));
        for (let i = 0; i < refs.length; i++) await check(i);
        await r.close();
      }
    },
  );

  it('a window read ahead of the first read: used where it starts, dropped elsewhere', async () => {
    const chunks = Array.from({ length: 200 }, (_, i) => ({ encoding: ENC_XOR, data: xorChunk(120, i) }));
    const { refs } = await writeAll(dir, chunks);
    const readAhead = 8 << 10;
    const expectAll = async (r: SegmentReader, from: number): Promise<void> => {
      for (let i = from; i < refs.length; i++) {
        const c = r.tryReadRaw(refs[i]!) ?? (await r.readRaw(refs[i]!));
        expect(Buffer.from(c.data).equals(Buffer.from(chunks[i]!.data)), `chunk ${i}`).toBe(true);
      }
    };
    // Where the reads start: the first window is the prefetched one, no byte read twice.
    const a = await SegmentReader.open(dir, { readAhead });
    a.prefetchFrom(a.firstRef()!);
    await expectAll(a, 0);
    expect(a.bytesRead).toBe(a.size - 8);
    await a.close();
    // Elsewhere: dropped, and the reads are still right.
    const b = await SegmentReader.open(dir, { readAhead });
    b.prefetchFrom(a.firstRef()!);
    await expectAll(b, 150);
    expect(b.bytesRead).toBe(readAhead + b.size - refOffset(refs[150]!)); // the dropped window + the rest
    // Once a window is buffered it is a no-op.
    b.prefetchFrom(refs[0]!);
    const before = b.bytesRead;
    expect(b.tryReadRaw(refs[199]!)).toBeDefined();
    expect(b.bytesRead).toBe(before);
    await b.close();
  });

  it('a chunk larger than the write buffer and the read-ahead', async () => {
    const big = { encoding: ENC_THANOS_AGGR, data: bytesOf(100_000, 9) };
    const { refs } = await writeAll(dir, [{ encoding: ENC_XOR, data: xorChunk(5, 1) }, big], {
      bufferSize: 64,
    });
    const r = await SegmentReader.open(dir, { readAhead: 64 });
    const c = await r.readRaw(refs[1]!);
    expect(c.encoding).toBe(ENC_THANOS_AGGR);
    expect(hex(c.data)).toBe(hex(big.data));
    await r.close();
  });

  it('refuses a directory that already has segments, overlapping calls, and bad raw chunks', async () => {
    await writeAll(dir, [{ encoding: ENC_XOR, data: xorChunk(5, 1) }]);
    await expect(SegmentWriter.create(dir)).rejects.toThrow(InvalidArgumentError);
    const other = join(dir, 'x');
    const w = await SegmentWriter.create(other, { bufferSize: 64 });
    const p1 = w.writeChunk(ENC_XOR, bytesOf(1000, 1));
    await expect(call(() => w.writeChunk(ENC_XOR, bytesOf(10, 1)))).rejects.toThrow(/overlap/);
    await p1;
    await expect(w.writeRawChunk(Uint8Array.from([5, 1, 2, 3]))).rejects.toThrow(InvalidArgumentError);
    await expect(call(() => w.writeChunk(256, bytesOf(1, 1)))).rejects.toThrow(InvalidArgumentError);
    const res = await w.close();
    expect(res.files.map((f) => f.name)).toEqual(['000001']);
    await expect(call(() => w.writeChunk(ENC_XOR, bytesOf(1, 1)))).rejects.toThrow(/closed/);
    const empty = await SegmentWriter.create(join(dir, 'empty'));
    expect((await empty.close()).files).toEqual([]);
    const r = await SegmentReader.open(join(dir, 'missing'));
    expect(r.files).toEqual([]);
    expect(r.firstRef()).toBeUndefined();
  });

  it('abort removes what was written', async () => {
    const w = await SegmentWriter.create(dir, { maxSegmentSize: 100 });
    for (let i = 0; i < 5; i++) await w.writeChunk(ENC_XOR, bytesOf(60, i));
    await w.abort();
    expect(await readdir(dir)).toEqual([]);
  });

  it('reads a segment file written by promtool 2.42 and rewrites it identically', async () => {
    // chunks/000001 of a block promtool wrote from OpenMetrics: series a (5 samples), b (1), c (NaN, 1).
    const promtool =
      '85bd40dd0100000018010005d00f3ff0000000000000e8073097ffe00157ff7b02c08e3cd1600d010001d00f401d0000' +
      '00000000009871212f18010002d00f7ff8000000000001e807c3fc00800000000000102de5a3e8';
    await writeFile(join(dir, '000001'), Buffer.from(promtool, 'hex'));
    const r = await SegmentReader.open(dir);
    const it = new XorIterator();
    const got: string[] = [];
    const out = join(dir, 'copy');
    const w = await SegmentWriter.create(out);
    for (let ref = r.firstRef(); ref !== undefined;) {
      const c = await r.readRaw(ref);
      expect(c.encoding).toBe(ENC_XOR);
      it.reset(c.data, r.fileFor(ref), c.dataOffset);
      const app = new XorAppender();
      while (it.next()) {
        got.push(`${it.t}:${it.vHi.toString(16)}:${it.vLo.toString(16)}`);
        app.appendBits(it.t, it.vHi, it.vLo);
      }
      expect(hex(app.bytes())).toBe(hex(c.data));
      await w.writeChunk(c.encoding, app.bytes());
      ref = r.nextRef(ref, c.bytes.length);
    }
    await w.close();
    await r.close();
    expect(got).toEqual([
      '1000:3ff00000:0',
      '2000:3ff00000:0',
      '3000:40000000:0',
      '4005:40000000:0',
      '5005:400c0000:0',
      '1000:401d0000:0',
      '1000:7ff80000:1',
      '2000:3ff00000:0',
    ]);
    expect(hex(await readFile(join(out, '000001')))).toBe(promtool);
  });
});

/** The writers return a value or a promise and throw bad calls synchronously: as a promise. */
async function call<T>(f: () => T | Promise<T>): Promise<T> {
  return f();
}
