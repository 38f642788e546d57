/**
 * Hand-made blocks for the bad-input tests. Chunks are real XOR chunks written with Strata's
 * SegmentWriter; the index is written here byte by byte (docs/tsdb-format.md §4) because
 * IndexWriter rightly refuses what these tests need: a series whose chunks overlap or are out of
 * order. Chunk time deltas are written the way Go writes an int64 difference into a uvarint
 * (two's complement), so a negative delta is representable, as in a damaged real block.
 * Only what the format requires is written: header, symbols, series, postings, postings offset
 * table, TOC (no legacy label index sections, as Prometheus >= 3.7).
 */
import { mkdir } from 'node:fs/promises';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SegmentWriter } from '../../src/tsdb/chunks/writer.js';
import { SampleBuf } from '../../src/tsdb/samples/sample-buf.js';
import { encodeXorChunks } from '../../src/tsdb/chunkenc/encode.js';
import { ENC_XOR } from '../../src/tsdb/chunkenc/encoding.js';
import { floatHi, floatLo } from '../../src/tsdb/chunkenc/float-bits.js';
import { crc32c } from '../../src/tsdb/encoding/crc32c.js';
import { Encbuf } from '../../src/tsdb/encoding/encbuf.js';
import { INDEX_MAGIC, INDEX_VERSION_2, encodeToc, type ChunkMeta } from '../../src/tsdb/index/format.js';
import { compareLabels, compareStrings, labelsFromRecord, type Labels } from '../../src/tsdb/labels.js';
import { writeMetaFile } from '../../src/tsdb/meta.js';
import { writeTombstones } from '../../src/tsdb/tombstones/tombstones.js';
import { ulidSource } from '../../src/tsdb/ulid.js';

/** One chunk's samples in time order: [t, v], or [t, hi, lo] for an exact bit pattern (NaN payloads). */
export type CraftedChunk = readonly (readonly [number, number] | readonly [number, number, number])[];

export interface CraftedSeries {
  labels: Record<string, string>;
  /** Written into the index in this order, whatever their times. */
  chunks: readonly CraftedChunk[];
  /** Encoding byte stored with every chunk (default XOR); the data stays XOR-encoded. */
  encoding?: number;
}

export interface CraftedBlock {
  ulid: string;
  dir: string;
}

const newUlid = ulidSource();

/** Writes a block of these series (sorted by labels) under `parent`; chunks kept in the given order. */
export async function writeCraftedBlock(
  parent: string,
  series: readonly CraftedSeries[],
): Promise<CraftedBlock> {
  const ulid = newUlid();
  const dir = join(parent, ulid);
  await mkdir(join(dir, 'chunks'), { recursive: true });
  const sorted = series
    .map((s) => ({ labels: labelsFromRecord(s.labels), chunks: s.chunks, encoding: s.encoding ?? ENC_XOR }))
    .sort((a, b) => compareLabels(a.labels, b.labels));

  const segments = await SegmentWriter.create(join(dir, 'chunks'));
  const buf = new SampleBuf();
  const indexed: { labels: Labels; metas: ChunkMeta[] }[] = [];
  let minTime = Infinity;
  let maxTime = -Infinity;
  let numSamples = 0;
  let numChunks = 0;
  for (const s of sorted) {
    const metas: ChunkMeta[] = [];
    for (const c of s.chunks) {
      buf.reset();
      for (const x of c) {
        if (x.length === 3) buf.push(x[0], x[1], x[2]);
        else buf.push(x[0], floatHi(x[1]), floatLo(x[1]));
      }
      const [enc] = encodeXorChunks(buf, 65535);
      const ref = await segments.writeChunk(s.encoding, enc!.data);
      metas.push({ mint: enc!.mint, maxt: enc!.maxt, ref });
      minTime = Math.min(minTime, enc!.mint);
      maxTime = Math.max(maxTime, enc!.maxt + 1);
      numSamples += c.length;
      numChunks++;
    }
    indexed.push({ labels: s.labels, metas });
  }
  await segments.close();
  await writeFile(join(dir, 'index'), rawIndex(indexed));
  await writeTombstones(dir, new Map());
  await writeMetaFile(dir, {
    ulid,
    minTime,
    maxTime,
    stats: { numSamples, numSeries: sorted.length, numChunks, numTombstones: 0 },
    compaction: { level: 1, sources: [ulid] },
    version: 1,
  });
  return { ulid, dir };
}

/** An index (format v2) for series already sorted; chunk metas are written unchecked. */
export function rawIndex(series: readonly { labels: Labels; metas: readonly ChunkMeta[] }[]): Uint8Array {
  const symbols = [...new Set(series.flatMap((s) => s.labels.flatMap((l) => [l.name, l.value])))].sort(
    compareStrings,
  );
  const symRef = new Map(symbols.map((s, i) => [s, i]));
  const e = new Encbuf(1 << 16);
  e.putBE32(INDEX_MAGIC);
  e.putByte(INDEX_VERSION_2);

  // Symbol table: len, count, entries, CRC(count + entries).
  const symbolsAt = e.len;
  section(e, (b) => {
    b.putBE32(symbols.length);
    for (const s of symbols) b.putUvarintString(s);
  });

  // Series: 16-byte aligned entries of uvarint len, body, CRC(body).
  const seriesAt = e.len;
  const ids: number[] = [];
  const body = new Encbuf(256);
  for (const s of series) {
    e.padTo(16);
    ids.push(e.len / 16);
    body.reset();
    body.putUvarint(s.labels.length);
    for (const l of s.labels) {
      body.putUvarint(symRef.get(l.name)!);
      body.putUvarint(symRef.get(l.value)!);
    }
    body.putUvarint(s.metas.length);
    s.metas.forEach((m, i) => {
      if (i === 0) {
        body.putVarint(m.mint);
        body.putUvarintBig(BigInt(m.maxt - m.mint));
        body.putUvarint(m.ref);
      } else {
        const prev = s.metas[i - 1]!;
        body.putUvarintBig(BigInt(m.mint - prev.maxt)); // negative when chunks overlap: wraps like Go
        body.putUvarintBig(BigInt(m.maxt - m.mint));
        body.putVarint(m.ref - prev.ref);
      }
    });
    e.putUvarint(body.len);
    e.putBytes(body.view());
    e.putBE32(crc32c(body.view()));
  }
  const seriesEnd = e.len;

  // Postings: the all-postings list under ("", ""), then one list per label pair, sorted.
  e.padTo(4);
  const lists: [string, string, number[]][] = [['', '', ids]];
  const pairs = new Map<string, [string, string, number[]]>();
  series.forEach((s, i) => {
    for (const l of s.labels) {
      const key = JSON.stringify([l.name, l.value]);
      const p = pairs.get(key) ?? [l.name, l.value, []];
      p[2].push(ids[i]!);
      pairs.set(key, p);
    }
  });
  lists.push(...[...pairs.values()].sort((a, b) => compareStrings(a[0], b[0]) || compareStrings(a[1], b[1])));
  const offsets: number[] = [];
  for (const [, , list] of lists) {
    offsets.push(e.len);
    section(e, (b) => {
      b.putBE32(list.length);
      for (const id of list) b.putBE32(id);
    });
  }

  // Postings offset table: len, count, entries (2, name, value, offset), CRC.
  const tableAt = e.len;
  section(e, (b) => {
    b.putBE32(lists.length);
    lists.forEach(([name, value], i) => {
      b.putUvarint(2);
      b.putUvarintString(name);
      b.putUvarintString(value);
      b.putUvarint(offsets[i]!);
    });
  });
  e.putBytes(
    encodeToc({
      symbols: symbolsAt,
      series: seriesAt,
      labelIndices: seriesEnd,
      labelIndicesTable: tableAt,
      postings: seriesEnd,
      postingsTable: tableAt,
    }),
  );
  return e.view().slice();
}

/** BE32 length, body, CRC32C(body). */
function section(e: Encbuf, write: (b: Encbuf) => void): void {
  const b = new Encbuf(256);
  write(b);
  e.putBE32(b.len);
  e.putBytes(b.view());
  e.putBE32(crc32c(b.view()));
}
