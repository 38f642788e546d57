/**
 * The light output check of a compaction: what the writer could not see while writing. The
 * writer already asserted every index invariant as series, chunks and postings went in (see
 * IndexWriter and BlockWriter), checked copied chunks' CRCs on the bytes written and compared
 * re-encoded chunks with their samples. Here the finished files are read back: meta.json, the
 * index's TOC, symbol table and postings offset table (CRC-checked by IndexReader.open), the
 * all-postings list, and a sample of series (every 64th) with their postings and chunks (read
 * CRC-checked, sample times checked against the index). `verifyBlock` stays the full check.
 */
import { join } from 'node:path';
import { readMetaFile, type BlockMeta } from '../meta.js';
import { IndexReader } from '../index/reader.js';
import { SegmentReader } from '../chunks/reader.js';
import { isDownsampled, scanStoredChunk } from './scan.js';
import { newChunkTimeSummary } from '../chunkenc/codec.js';
import { CHUNKS_DIR, INDEX_FILENAME } from '../block/files.js';
import type { WrittenBlock, WrittenSeries } from '../block/writer.js';
import { formatLabels } from '../labels.js';
import { StrataError, errorMessage, isStrataError } from '../../util/errors.js';

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
  let index: IndexReader | undefined;
  let chunks: SegmentReader | undefined;
  try {
    index = await IndexReader.open(join(dir, INDEX_FILENAME));
    chunks = await SegmentReader.open(join(dir, CHUNKS_DIR));
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
  index: IndexReader,
  chunks: SegmentReader,
  meta: BlockMeta,
  w: WrittenBlock,
): Promise<string | undefined> {
  if (index.symbols().length !== w.numSymbols)
    return `index has ${index.symbols().length} symbols, ${w.numSymbols} were written`;
  if (index.invalidUtf8Symbols.length > 0) return 'symbol table holds invalid UTF-8';
  if (index.numPostings !== w.numPostings)
    return `postings offset table has ${index.numPostings} entries, ${w.numPostings} lists were written`;
  const all = await index.allPostings();
  if (all.length !== w.numSeries)
    return `all-postings list has ${all.length} series, ${w.numSeries} were written`;
  const segs = meta.thanos?.segment_files;
  if (segs !== undefined && segs.length !== chunks.files.length)
    return `${chunks.files.length} segment files, meta.json lists ${segs.length}`;
  const lists = new Map<string, Uint32Array>();
  const sum = newChunkTimeSummary();
  const downsampled = isDownsampled(meta);
  const read = await index.seriesMany(w.sample.map((s) => s.id));
  for (let i = 0; i < w.sample.length; i++) {
    const want = w.sample[i]!;
    const got = read[i]!;
    const at = `series ${formatLabels(want.labels)} (ID ${want.id})`;
    if (!sameSeries(want, got.labels, got.chunks)) return `${at} reads back as ${formatLabels(got.labels)}`;
    if (!contains(all, want.id)) return `${at} is not in the all-postings list`;
    for (const l of want.labels) {
      const key = `${l.name}\0${l.value}`;
      let ids = lists.get(key);
      if (ids === undefined) {
        ids = await index.postings(l.name, l.value);
        lists.set(key, ids);
      }
      if (!contains(ids, want.id))
        return `${at} is not in the postings of ${l.name}=${JSON.stringify(l.value)}`;
    }
    for (const m of want.chunks) {
      const c = chunks.tryReadRaw(m.ref) ?? (await chunks.readRaw(m.ref));
      scanStoredChunk(c, sum, chunks.fileFor(m.ref), downsampled);
      if (sum.samples === 0 || sum.first !== m.mint || sum.last !== m.maxt || sum.disorderAt > 0)
        return `${at} chunk ref ${m.ref}: index says [${m.mint}, ${m.maxt}], samples span [${sum.first}, ${sum.last}]`;
    }
  }
  return undefined;
}

function sameSeries(w: WrittenSeries, labels: WrittenSeries['labels'], cs: WrittenSeries['chunks']): boolean {
  if (labels.length !== w.labels.length || cs.length !== w.chunks.length) return false;
  for (let i = 0; i < labels.length; i++)
    if (labels[i]!.name !== w.labels[i]!.name || labels[i]!.value !== w.labels[i]!.value) return false;
  for (let i = 0; i < cs.length; i++) {
    const a = cs[i]!;
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
