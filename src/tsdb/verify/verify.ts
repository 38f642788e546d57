/**
 * Whole-block verification (`strata tsdb verify`, and the compactor's check before it renames an
 * output into place): meta.json, index invariants, tombstones, every chunk's CRC, and every chunk
 * decoded with its samples checked against the chunk's and the block's time range.
 *
 * Large blocks are checked on two threads: a worker decodes the chunks of the second half of
 * the series while this thread validates the index and decodes the first half. Problems come out
 * in the same order either way. Without the compiled worker module (tests run the TypeScript
 * sources) or if the worker fails, everything runs on this thread.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { readMetaFile, type BlockMeta } from '../meta.js';
import { IndexReader } from '../index/reader.js';
import { readTombstones } from '../tombstones/tombstones.js';
import { INDEX_FILENAME } from '../block/files.js';
import { verifyChunkRange, type ChunkRangeJob, type ChunkRangeResult } from './chunks.js';
import { problemFromError, type BlockProblem } from './problems.js';

export interface BlockVerification {
  dir: string;
  ok: boolean;
  problems: BlockProblem[];
  meta?: BlockMeta;
  samples: number;
  chunks: number;
  series: number;
  /** Threads that decoded chunks: 2 when a worker took a share. */
  threads: number;
}

export interface VerifyOptions {
  maxProblems?: number;
  /** Use a worker thread for blocks of at least this many samples (default 10M; Infinity: never). */
  parallelFromSamples?: number;
}

const DEFAULT_PARALLEL_FROM = 10_000_000;
/** The share of the series this thread decodes: it validates the index as well. */
const OWN_SHARE = 0.42;
const WORKER_URL = new URL('./worker.js', import.meta.url);

export async function verifyBlock(dir: string, opts: VerifyOptions = {}): Promise<BlockVerification> {
  const max = opts.maxProblems ?? 100;
  const res: BlockVerification = {
    dir,
    ok: false,
    problems: [],
    samples: 0,
    chunks: 0,
    series: 0,
    threads: 1,
  };
  // The index validation and each chunk share read the index themselves: a broken part would be
  // reported by each of them (under different kinds, with the same message).
  const seen = new Set<string>();
  const add = (p: BlockProblem): void => {
    const key = `${p.severity}\0${p.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    if (res.problems.length < max) res.problems.push(p);
  };
  let meta: BlockMeta;
  try {
    meta = await readMetaFile(dir);
    res.meta = meta;
  } catch (err) {
    add(problemFromError(err));
    return res;
  }
  try {
    await readTombstones(dir);
  } catch (err) {
    add(problemFromError(err));
  }

  const job: ChunkRangeJob = { dir, meta, from: 0, to: Infinity, maxProblems: max };
  const split = parallelSplit(meta, opts.parallelFromSamples ?? DEFAULT_PARALLEL_FROM);
  const second = split === undefined ? undefined : inWorker({ ...job, from: split });
  if (split !== undefined) job.to = split;

  let index: IndexReader | undefined;
  const parts: ChunkRangeResult[] = [];
  try {
    index = await IndexReader.open(join(dir, INDEX_FILENAME));
    const v = await index.validate(meta.minTime, meta.maxTime, { maxProblems: max });
    for (const p of v.problems) add({ severity: p.severity, kind: p.kind, message: p.message });
  } catch (err) {
    add(problemFromError(err));
  }
  try {
    parts.push(await verifyChunkRange(job, index));
  } finally {
    await index?.close();
  }
  if (second !== undefined) {
    const r = await second;
    if (r.threaded) res.threads = 2;
    parts.push(r.result);
  }
  for (const part of parts) {
    for (const p of part.problems) add(p);
    res.series += part.series;
    res.chunks += part.chunks;
    res.samples += part.samples;
  }

  if (res.problems.every((p) => p.severity !== 'error')) {
    const st = meta.stats;
    if (st.numSamples && st.numSamples !== res.samples) {
      add({
        severity: 'warning',
        kind: 'stats-mismatch',
        message: `meta.json numSamples ${st.numSamples}, found ${res.samples}`,
      });
    }
    if (st.numSeries && st.numSeries !== res.series) {
      add({
        severity: 'warning',
        kind: 'stats-mismatch',
        message: `meta.json numSeries ${st.numSeries}, found ${res.series}`,
      });
    }
  }
  res.ok = res.problems.every((p) => p.severity !== 'error');
  return res;
}

/** The first series ordinal of the worker's share, or undefined to verify on this thread only. */
function parallelSplit(meta: BlockMeta, fromSamples: number): number | undefined {
  const { numSamples, numSeries } = meta.stats;
  if (!(numSamples >= fromSamples) || !(numSeries >= 2)) return undefined;
  if (!existsSync(fileURLToPath(WORKER_URL))) return undefined;
  return Math.max(1, Math.floor(numSeries * OWN_SHARE));
}

/** Runs a range in a worker thread; if the worker fails, runs it here. */
async function inWorker(job: ChunkRangeJob): Promise<{ result: ChunkRangeResult; threaded: boolean }> {
  const viaWorker = new Promise<ChunkRangeResult>((resolve, reject) => {
    const w = new Worker(WORKER_URL, { workerData: job });
    let result: ChunkRangeResult | undefined;
    w.once('message', (m: ChunkRangeResult) => (result = m));
    w.once('error', reject);
    w.once('exit', (code) => {
      if (result !== undefined) resolve(result);
      else reject(new Error(`verify worker exited with code ${code}`));
    });
  });
  try {
    return { result: await viaWorker, threaded: true };
  } catch {
    return { result: await verifyChunkRange(job), threaded: false };
  }
}
