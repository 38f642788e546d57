/**
 * Shared helpers for the index tests: brute-force expectations, temp dirs, and a minimal block
 * around an index so promtool can open it.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c } from '../../src/tsdb/encoding/crc32c.js';
import { Encbuf } from '../../src/tsdb/encoding/encbuf.js';
import { compareLabels, compareStrings, type Label, type Labels } from '../../src/tsdb/labels.js';
import type { ChunkMeta } from '../../src/tsdb/index/format.js';
import { IndexWriter } from '../../src/tsdb/index/writer.js';

export interface TestSeries {
  labels: Labels;
  chunks: ChunkMeta[];
}

export async function tempDir(prefix = 'strata-index-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Sorted unique names and values of all label sets. */
export function symbolsOf(sets: readonly Labels[]): string[] {
  const s = new Set<string>();
  for (const ls of sets) for (const l of ls) s.add(l.name).add(l.value);
  return [...s].sort(compareStrings);
}

/** Sorts labels by name and series by label set, dropping duplicate series. */
export function normalize(sets: ReadonlyArray<readonly Label[]>): Labels[] {
  const out = sets.map((ls) => [...ls].sort((a, b) => compareStrings(a.name, b.name)));
  out.sort(compareLabels);
  return out.filter((ls, i) => i === 0 || compareLabels(out[i - 1]!, ls) !== 0);
}

/** Writes the series (already sorted) and returns their IDs. */
export async function writeIndex(path: string, series: readonly TestSeries[]): Promise<number[]> {
  const w = await IndexWriter.create(path, symbolsOf(series.map((s) => s.labels)), { bufferSize: 4096 });
  const ids: number[] = [];
  for (const s of series) ids.push(await w.addSeries(s.labels, s.chunks));
  await w.close();
  return ids;
}

export function run(cmd: string, args: readonly string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}\n${stdout}`));
      else resolve(stdout + stderr);
    });
  });
}

/** One XOR chunk holding a single sample (count, t varint, 64-bit value). */
function singleSampleChunk(t: number, v: number): Uint8Array {
  const e = new Encbuf(32);
  e.putByte(0);
  e.putByte(1);
  e.putVarint(t);
  const f = Buffer.alloc(8);
  f.writeDoubleBE(v, 0);
  e.putBytes(f);
  return e.view().slice();
}

const CHUNKS_MAGIC = 0x85bd40dd;

/**
 * A block directory (meta.json, chunks/000001, index) whose series each hold single-sample
 * chunks at the given times (series i, time k: value 10i + k), so promtool can read every
 * sample back.
 */
export async function writeMinimalBlock(
  dbDir: string,
  ulid: string,
  sets: readonly Labels[],
  times: readonly number[],
): Promise<{ blockDir: string; ids: number[] }> {
  const blockDir = join(dbDir, ulid);
  await mkdir(join(blockDir, 'chunks'), { recursive: true });
  await mkdir(join(dbDir, 'wal'), { recursive: true });
  const seg = new Encbuf(1 << 16);
  seg.putBE32(CHUNKS_MAGIC);
  seg.putByte(1);
  seg.putByte(0);
  seg.putByte(0);
  seg.putByte(0);
  const series: TestSeries[] = [];
  let numSamples = 0;
  for (let i = 0; i < sets.length; i++) {
    const chunks: ChunkMeta[] = [];
    for (let k = 0; k < times.length; k++) {
      const t = times[k]!;
      const data = singleSampleChunk(t, i * 10 + k);
      chunks.push({ mint: t, maxt: t, ref: seg.len });
      seg.putUvarint(data.length);
      const encAndData = new Uint8Array(1 + data.length);
      encAndData[0] = 1;
      encAndData.set(data, 1);
      seg.putBytes(encAndData);
      seg.putBE32(crc32c(encAndData));
      numSamples++;
    }
    series.push({ labels: sets[i]!, chunks });
  }
  await writeFile(join(blockDir, 'chunks', '000001'), seg.view());
  const ids = await writeIndex(join(blockDir, 'index'), series);
  const meta = {
    ulid,
    minTime: Math.min(...times),
    maxTime: Math.max(...times) + 1,
    stats: { numSamples, numSeries: sets.length, numChunks: numSamples },
    compaction: { level: 1, sources: [ulid] },
    version: 1,
  };
  await writeFile(join(blockDir, 'meta.json'), JSON.stringify(meta, null, '\t'));
  return { blockDir, ids };
}
