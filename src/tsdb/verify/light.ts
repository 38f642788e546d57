/**
 * The light output check of a compaction: what the writer could not see while writing. The
 * writer already asserted every index invariant as series, chunks and postings went in (see
 * IndexWriter and BlockWriter), checked copied chunks' CRCs on the bytes written and compared
 * re-encoded chunks with their samples. Here the finished files are read back: meta.json, the
 * index's TOC, symbol table and postings offset table (CRC-checked by LeanIndex.open), the
 * all-postings list, and a sample of series (every 64th) with their postings and chunks (read
 * CRC-checked, each chunk's first timestamp checked against the index). `verifyBlock` stays the full check.
 * Read lean: nothing per symbol or label value is decoded; an index of up to 16 MiB is held as
 * bytes while it is checked, a larger one is read in pieces.
 */
import { join } from 'node:path';
import { readMetaFile, type BlockMeta } from '../meta.js';
import { LeanIndex } from '../index/lean.js';
import { BufferReader, FileReader } from '../index/positional.js';
import type { SeriesScratch } from '../index/series.js';
import { SegmentReader } from '../chunks/reader.js';
import { isDownsampled, storedChunkFirstTime } from './scan.js';
import { CHUNKS_DIR, INDEX_FILENAME } from '../block/files.js';
import type { WrittenBlock, WrittenSeries } from '../block/writer.js';
import { formatLabels } from '../labels.js';
import { StrataError, errorMessage, isStrataError } from '../../util/errors.js';

const READ_BACK_READ_AHEAD = 64 << 10;
/**
 * An index up to this size (~100k series) is read back whole, in one read, and checked in memory:
 * the check's small reads (TOC, symbols, sampled series, postings) each waited for the thread pool.
 */
const READ_WHOLE_INDEX_BYTES = 16 << 20;

async function openIndex(path: string): Promise<LeanIndex> {
  const file = await FileReader.open(path);
  if (file.size > READ_WHOLE_INDEX_BYTES) return LeanIndex.fromReader(file);
  let bytes: Buffer;
  try {
    bytes = await file.read(0, file.size);
  } finally {
    await file.close();
  }
  return LeanIndex.fromReader(new BufferReader(path, bytes));
}

/** Throws ERR_TSDB_CORRUPT (or the reader's own code) naming the block and what differs. */
export async function readBackBlock(dir: string, meta: BlockMeta, written: WrittenBlock): Promise<void> {
  const fail = (what: string, cause?: unknown): never => {
    const code = isStrataError(cause) ? cause.code : 'ERR_TSDB_CORRUPT';
    throw new StrataError(code, `compaction output ${dir} failed the read-back check: ${what}`, { cause });
  };
  let onDisk: BlockMeta | undefined;
  try {
    onDisk = await readMetaFile(dir);
  } catch (err) {
    fail(errorMessage(err), err);
  }
  if (onDisk?.ulid !== meta.ulid || onDisk.stats.numSeries !== written.numSeries) {
    fail(`meta.json does not describe the block written (${onDisk?.ulid})`);
  }
  let index: LeanIndex | undefined;
  let chunks: SegmentReader | undefined;
  try {
    index = await openIndex(join(dir, INDEX_FILENAME));
    // Sampled series are far apart: a small window reads little beyond each one's chunks, read
    // synchronously (the file was just written: page cache, no thread-pool round trip per series).
    chunks = await SegmentReader.open(join(dir, CHUNKS_DIR), {
      readAhead: READ_BACK_READ_AHEAD,
      syncReads: true,
    });
    const problem = await check(index, chunks, meta, written);
    if (problem !== undefined) fail(problem);
  } catch (err) {
    if (err instanceof StrataError && err.message.includes('read-back check')) throw err;
    fail(errorMessage(err), err);
  } finally {
    await index?.close();
    await chunks?.close();
  }
}

async function check(
  index: LeanIndex,
  chunks: SegmentReader,
  meta: BlockMeta,
  w: WrittenBlock,
): Promise<string | undefined> {
  if (index.numSymbols !== w.numSymbols)
    return `index has ${index.numSymbols} symbols, ${w.numSymbols} were written`;
  if (index.invalidUtf8Symbols.length > 0) return 'symbol table holds invalid UTF-8';
  if (index.numPostings !== w.numPostings)
    return `postings offset table has ${index.numPostings} entries, ${w.numPostings} lists were written`;
  const all = await index.allPostings();
  if (all.length !== w.numSeries)
    return `all-postings list has ${all.length} series, ${w.numSeries} were written`;
  const segs = meta.thanos?.segment_files;
  if (segs !== undefined && segs.length !== chunks.files.length)
    return `${chunks.files.length} segment files, meta.json lists ${segs.length}`;

  // The strings of the sampled series' labels: for messages and to find their postings.
  const refs = new Set<number>();
  for (const s of w.sample) for (const r of s.refs) refs.add(r);
  const syms = await index.symbolsFor([...refs]);
  const labelsOf = (s: WrittenSeries): string => {
    const ls = [];
    for (let i = 0; i < s.refs.length; i += 2)
      ls.push({ name: syms.get(s.refs[i]!)!, value: syms.get(s.refs[i + 1]!)! });
    return formatLabels(ls);
  };
  const at = (s: WrittenSeries): string => `series ${labelsOf(s)} (ID ${s.id})`;

  let problem: string | undefined;
  let i = 0;
  await index.forSeries(
    w.sample.map((s) => s.id),
    (got) => {
      const want = w.sample[i++]!;
      if (problem !== undefined) return;
      if (!sameSeries(want, got)) problem = `${at(want)} reads back with other labels or chunks`;
      else if (!contains(all, want.id)) problem = `${at(want)} is not in the all-postings list`;
    },
  );
  if (problem !== undefined) return problem;

  // The sampled label pairs, sorted as the postings offset table is (bytewise by name, value),
  // so one walk of the table finds their lists without decoding its entries.
  const pairs = new Map<string, Wanted>();
  for (const s of w.sample) {
    for (let k = 0; k < s.refs.length; k += 2) {
      const key = `${s.refs[k]}:${s.refs[k + 1]}`;
      let p = pairs.get(key);
      if (p === undefined) {
        const name = syms.get(s.refs[k]!)!;
        const value = syms.get(s.refs[k + 1]!)!;
        p = {
          name,
          value,
          nameBytes: Buffer.from(name),
          valueBytes: Buffer.from(value),
          offset: -1,
          series: [],
        };
        pairs.set(key, p);
      }
      p.series.push(s);
    }
  }
  const wanted = [...pairs.values()].sort(
    (a, b) => Buffer.compare(a.nameBytes, b.nameBytes) || Buffer.compare(a.valueBytes, b.valueBytes),
  );
  let j = 0;
  await index.forEachPostingsEntry((e) => {
    while (j < wanted.length) {
      const p = wanted[j]!;
      const c = e.compare(p.nameBytes, p.valueBytes);
      if (c < 0) return;
      if (c === 0) p.offset = e.offset;
      j++;
    }
  });
  const found = wanted.filter((p) => p.offset >= 0);
  const lists = await index.postingsAt(found.map((p) => p.offset));
  const listOf = new Map<Wanted, Uint32Array>();
  found.forEach((p, k) => listOf.set(p, lists[k]!));
  for (const p of wanted) {
    const ids = listOf.get(p);
    for (const s of p.series) {
      if (ids === undefined || !contains(ids, s.id))
        return `${at(s)} is not in the postings of ${p.name}=${JSON.stringify(p.value)}`;
    }
  }

  // Each sampled chunk is read CRC-checked and its head must start at the index's mint: a ref to
  // the wrong place fails one or the other. Its samples were checked as they were written (CRC on
  // the bytes written, re-encoded chunks decoded and compared), so they are not decoded again
  // here: in a fresh process that decode ran cold and cost 15-20% of a small compaction.
  const downsampled = isDownsampled(meta);
  for (const want of w.sample) {
    for (const m of want.chunks) {
      const c = chunks.tryReadRaw(m.ref) ?? (await chunks.readRaw(m.ref));
      const first = storedChunkFirstTime(c, chunks.fileFor(m.ref), downsampled);
      if (first !== m.mint)
        return `${at(want)} chunk ref ${m.ref}: index says it starts at ${m.mint}, its first sample is at ${first}`;
    }
  }
  return undefined;
}

interface Wanted {
  name: string;
  value: string;
  nameBytes: Buffer;
  valueBytes: Buffer;
  /** File offset of its postings list; -1 until found. */
  offset: number;
  series: WrittenSeries[];
}

function sameSeries(w: WrittenSeries, got: SeriesScratch): boolean {
  const k = w.refs.length;
  if (2 * got.numLabels !== k || got.chunks.length !== w.chunks.length) return false;
  for (let i = 0; i < k; i++) if (got.labelRefs[i] !== w.refs[i]) return false;
  for (let i = 0; i < w.chunks.length; i++) {
    const a = got.chunks[i]!;
    const b = w.chunks[i]!;
    if (a.ref !== b.ref || a.mint !== b.mint || a.maxt !== b.maxt) return false;
  }
  return true;
}
function contains(ids: Uint32Array, id: number): boolean {
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = ids[mid]!;
    if (v === id) return true;
    if (v < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
