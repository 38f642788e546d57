/**
 * BlockWriter: streams series (in label order) with their encoded chunks into a new block.
 * Chunks go straight to segment files; the index writer keeps only postings (series × labels),
 * so memory does not grow with samples or chunks. The block is built in
 * `<ULID>.tmp-for-creation` and renamed into place by finish().
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { IndexWriter } from '../index/writer.js';
import type { ChunkMeta } from '../index/format.js';
import { SegmentWriter } from '../chunks/writer.js';
import type { RawChunkView } from '../chunks/reader.js';
import type { EncodedChunk } from '../chunkenc/encode.js';
import { writeTombstones } from '../tombstones/tombstones.js';
import { writeMetaFile, type BlockMeta, type BlockCompaction, type ThanosMeta } from '../meta.js';
import { compareStrings, formatLabels, type Labels } from '../labels.js';
import { ulidSource, type UlidSource } from '../ulid.js';
import { CHUNKS_DIR, INDEX_FILENAME, TMP_FOR_CREATION } from './files.js';
import { InvalidArgumentError, StrataError } from '../../util/errors.js';
import { syncDir } from '../../util/file-sync.js';
import type { WriteSeam } from './write-seam.js';
import type { LeanIndex } from '../index/lean.js';

export interface BlockWriterOptions {
  /** Every label name and value the series will use (any order, duplicates allowed). */
  symbols?: Iterable<string>;
  /**
   * Instead of `symbols`: the index is derived from this source index (its symbols, a subset of
   * its series added with addDerivedSeries, its postings mapped; see IndexWriter.createDerived).
   */
  derivedFrom?: LeanIndex;
  ulid?: string;
  ulids?: UlidSource;
  /** Block time range; defaults to [first sample, last sample + 1). */
  minTime?: number;
  maxTime?: number;
  compaction?: Partial<BlockCompaction>;
  /** Thanos section (labels, resolution, source); files and sizes are filled in by finish(). */
  thanos?: Pick<ThanosMeta, 'labels' | 'downsample' | 'source'>;
  maxSegmentSize?: number;
  /** Called after the index is written and before the rename, e.g. to verify the block. */
  beforeRename?: (tmpDir: string, meta: BlockMeta, written: WrittenBlock) => Promise<void>;
  /**
   * Refuse chunks outside [minTime, maxTime] as they are indexed (compaction sets it; tests that
   * craft broken blocks do not).
   */
  checkChunkRange?: boolean;
  /** Test seam into the writer path (fault injection); none in production. */
  seam?: WriteSeam;
}

/** What the writer wrote, for a read-back check of the finished files. */
export interface WrittenBlock {
  numSeries: number;
  numSymbols: number;
  /** Postings lists, the all-postings list included. */
  numPostings: number;
  /** Every SAMPLE_EVERY-th series as written (copies). */
  sample: WrittenSeries[];
}

export interface WrittenSeries {
  id: number;
  /** Label refs (name, value pairs) into the written symbol table. */
  refs: Uint32Array;
  chunks: ChunkMeta[];
}

const SAMPLE_EVERY = 64;

export interface BlockWriterResult {
  dir: string;
  meta: BlockMeta;
}

export class BlockWriter {
  private numSamples = 0;
  private numChunks = 0;
  private numSeries = 0;
  private mint = Infinity;
  private maxt = -Infinity;
  private chunkMaxSize = 0;
  private readonly metas: ChunkMeta[] = [];
  private done = false;
  /** Chunks written since the last series was indexed: ref, mint, maxt (addSeriesRefs checks them). */
  private pending = new Float64Array(3 * 64);
  private numPending = 0;
  private readonly sample: WrittenSeries[] = [];

  private constructor(
    readonly ulid: string,
    readonly parentDir: string,
    readonly tmpDir: string,
    private readonly segments: SegmentWriter,
    private readonly index: IndexWriter,
    private readonly opts: BlockWriterOptions,
  ) {}

  static async create(parentDir: string, opts: BlockWriterOptions): Promise<BlockWriter> {
    const ulid =
      opts.ulid ?? (opts.ulids ?? ulidSource())(opts.minTime === undefined ? Date.now() : Date.now());
    const tmpDir = join(parentDir, ulid + TMP_FOR_CREATION);
    await rm(tmpDir, { recursive: true, force: true });
    await mkdir(join(tmpDir, CHUNKS_DIR), { recursive: true });
    if ((opts.symbols === undefined) === (opts.derivedFrom === undefined)) {
      throw new InvalidArgumentError('BlockWriter: give either symbols or derivedFrom');
    }
    let segments: SegmentWriter | undefined;
    try {
      segments = await SegmentWriter.create(join(tmpDir, CHUNKS_DIR), {
        maxSegmentSize: opts.maxSegmentSize,
      });
      const ranged =
        opts.checkChunkRange === true && opts.minTime !== undefined && opts.maxTime !== undefined;
      const indexOpts = {
        ...(ranged ? { minTime: opts.minTime, maxTime: opts.maxTime } : {}),
        chunks: segments,
        ...(opts.seam?.postings ? { postingsHook: opts.seam.postings.bind(opts.seam) } : {}),
      };
      const path = join(tmpDir, INDEX_FILENAME);
      const index =
        opts.derivedFrom !== undefined
          ? await IndexWriter.createDerived(path, opts.derivedFrom, indexOpts)
          : await IndexWriter.create(path, sortedUnique(opts.symbols!), indexOpts);
      return new BlockWriter(ulid, parentDir, tmpDir, segments, index, opts);
    } catch (err) {
      await segments?.abort();
      await rm(tmpDir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Adds one series; call in strictly ascending label order. Chunks in time order. */
  async addSeries(labels: Labels, chunks: readonly EncodedChunk[]): Promise<void> {
    if (chunks.length === 0) return;
    const metas = await this.writeChunks(chunks);
    this.noteSeries(metas, await this.index.addSeries(labels, metas));
  }

  /**
   * Derived blocks (`derivedFrom`): adds the source's series `sourceId` under its label refs,
   * with new chunks. Call in the source's series order.
   */
  async addDerivedSeries(
    sourceId: number,
    refs: Uint32Array,
    numLabels: number,
    chunks: readonly EncodedChunk[],
  ): Promise<void> {
    if (chunks.length === 0) return;
    const metas = await this.writeChunks(chunks);
    this.noteSeries(metas, await this.index.addSeriesRefs(refs, numLabels, metas, sourceId));
  }

  private async writeChunks(chunks: readonly EncodedChunk[]): Promise<ChunkMeta[]> {
    const metas = this.metas;
    metas.length = 0;
    for (const c of chunks) {
      const ref = await this.segments.writeChunk(c.encoding, c.data);
      metas.push({ mint: c.mint, maxt: c.maxt, ref });
      this.account(c.mint, c.maxt, c.numSamples, c.data.length);
    }
    this.numPending = 0;
    return metas;
  }

  /**
   * Adds a series whose chunks were already written with `segments` (compaction copies raw
   * chunk bytes through `copyRawChunk`). A promise only when the index write waited for I/O.
   */
  addSeriesRefs(labels: Labels, metas: readonly ChunkMeta[]): void | Promise<void> {
    if (metas.length === 0) return;
    const seam = this.opts.seam;
    if (seam?.series) labels = seam.series(labels, metas as ChunkMeta[]);
    const id = this.index.addSeries(labels, metas);
    if (typeof id === 'number') return this.indexed(labels, metas, id);
    return this.indexedLater(labels, metas, id);
  }

  private async indexedLater(
    labels: Labels,
    metas: readonly ChunkMeta[],
    id: Promise<number>,
  ): Promise<void> {
    this.indexed(labels, metas, await id);
  }

  private indexed(labels: Labels, metas: readonly ChunkMeta[], id: number): void {
    this.checkPending(labels, metas);
    this.noteSeries(metas, id);
  }

  /** The series' metas must be the chunks written since the previous series, in write order. */
  private checkPending(labels: Labels, metas: readonly ChunkMeta[]): void {
    const p = this.pending;
    const n = this.numPending;
    this.numPending = 0;
    for (let i = 0; i < metas.length || i < n; i++) {
      const m = metas[i];
      if (
        i < n &&
        m !== undefined &&
        m.ref === p[3 * i] &&
        m.mint === p[3 * i + 1] &&
        m.maxt === p[3 * i + 2]
      )
        continue;
      const got = m === undefined ? 'no chunk' : `ref ${m.ref} [${m.mint}, ${m.maxt}]`;
      const want = i < n ? `ref ${p[3 * i]} [${p[3 * i + 1]}, ${p[3 * i + 2]}]` : 'no chunk';
      throw new StrataError(
        'ERR_TSDB_CORRUPT',
        `block ${this.ulid}: series ${formatLabels(labels)} chunk ${i}: index entry has ${got}, the chunk writer wrote ${want}`,
      );
    }
  }

  private noteSeries(metas: readonly ChunkMeta[], id: number): void {
    if (this.numSeries % SAMPLE_EVERY === 0) {
      this.sample.push({
        id,
        refs: this.index.lastSeriesRefs().slice(),
        chunks: metas.map((m) => ({ mint: m.mint, maxt: m.maxt, ref: m.ref })),
      });
    }
    this.numSeries++;
  }

  private pushPending(ref: number, mint: number, maxt: number): void {
    if (3 * this.numPending === this.pending.length) {
      const next = new Float64Array(2 * this.pending.length);
      next.set(this.pending);
      this.pending = next;
    }
    const at = 3 * this.numPending++;
    this.pending[at] = ref;
    this.pending[at + 1] = mint;
    this.pending[at + 2] = maxt;
  }

  /**
   * Writes one encoded chunk and returns its ref (for use with addSeriesRefs), or a promise of it
   * when the segment writer had to wait for I/O (`data` must stay unchanged until it settles).
   */
  writeChunk(c: EncodedChunk): number | Promise<number> {
    const r = this.segments.writeChunk(c.encoding, c.data);
    if (typeof r === 'number') return this.written(r, c.mint, c.maxt, c.numSamples, c.data.length);
    return this.copiedLater(r, c.mint, c.maxt, c.numSamples, c.data.length);
  }

  /**
   * Copies a chunk's on-disk bytes (len, encoding, data, crc) verbatim; returns its ref, or a
   * promise of it when the segment writer had to wait for I/O. The CRC is checked on the copy in
   * the write buffer (ERR_TSDB_CHECKSUM), so the reader need not check it.
   */
  copyRawChunk(raw: RawChunkView, mint: number, maxt: number): number | Promise<number> {
    this.opts.seam?.copiedChunk?.(raw.buf.subarray(raw.start, raw.end));
    const r = this.segments.writeRawChunkFrom(raw.buf, raw.start, raw.end, false, true);
    const samples = raw.numSamples;
    const size = raw.dataEnd - raw.dataStart;
    if (typeof r === 'number') return this.written(r, mint, maxt, samples, size);
    return this.copiedLater(r, mint, maxt, samples, size);
  }

  // Not a closure above: V8 would allocate its context on every call, synchronous ones included.
  private async copiedLater(
    r: Promise<number>,
    mint: number,
    maxt: number,
    samples: number,
    size: number,
  ): Promise<number> {
    return this.written(await r, mint, maxt, samples, size);
  }

  private written(ref: number, mint: number, maxt: number, samples: number, size: number): number {
    this.account(mint, maxt, samples, size);
    this.pushPending(ref, mint, maxt);
    return ref;
  }

  private account(mint: number, maxt: number, samples: number, size: number): void {
    this.numChunks++;
    this.numSamples += samples;
    if (mint < this.mint) this.mint = mint;
    if (maxt > this.maxt) this.maxt = maxt;
    if (size > this.chunkMaxSize) this.chunkMaxSize = size;
  }

  get samples(): number {
    return this.numSamples;
  }

  /** Completes the block. Returns undefined (and removes the temp dir) when it holds no samples. */
  async finish(): Promise<BlockWriterResult | undefined> {
    if (this.done) throw new InvalidArgumentError('BlockWriter.finish called twice');
    this.done = true;
    try {
      // The last segment's fsync runs while the index writes its postings.
      const [segDone, idxDone] = await Promise.allSettled([this.segments.close(), this.index.close()]);
      if (segDone.status === 'rejected') throw segDone.reason;
      if (idxDone.status === 'rejected') throw idxDone.reason;
      const seg = segDone.value;
      const idx = idxDone.value;
      if (this.numSamples === 0 || this.numSeries === 0) {
        await rm(this.tmpDir, { recursive: true, force: true });
        return undefined;
      }
      await writeTombstones(this.tmpDir, new Map());
      const o = this.opts;
      const meta: BlockMeta = {
        ulid: this.ulid,
        minTime: o.minTime ?? this.mint,
        maxTime: o.maxTime ?? this.maxt + 1,
        stats: {
          numSamples: this.numSamples,
          numSeries: this.numSeries,
          numChunks: this.numChunks,
          numTombstones: 0,
        },
        compaction: {
          level: o.compaction?.level ?? 1,
          sources: o.compaction?.sources ?? [this.ulid],
          ...(o.compaction?.parents ? { parents: o.compaction.parents } : {}),
          ...(o.compaction?.hints ? { hints: o.compaction.hints } : {}),
        },
        version: 1,
      };
      if (o.thanos) {
        meta.thanos = {
          labels: o.thanos.labels,
          downsample: o.thanos.downsample,
          source: o.thanos.source,
          segment_files: seg.files.map((f) => f.name),
          // Like Thanos' GatherFileStats: chunks/*, index and meta.json (tombstones are never
          // uploaded), sorted by path, each with its size but meta.json. Known without a listing.
          files: [
            ...seg.files.map((f) => ({ rel_path: `${CHUNKS_DIR}/${f.name}`, size_bytes: f.size })),
            { rel_path: INDEX_FILENAME, size_bytes: idx.size },
            { rel_path: 'meta.json' },
          ],
          index_stats: { series_max_size: idx.seriesMaxSize, chunk_max_size: this.chunkMaxSize },
        };
      }
      await writeMetaFile(this.tmpDir, meta);
      await o.beforeRename?.(this.tmpDir, meta, {
        numSeries: this.numSeries,
        numSymbols: idx.numSymbols,
        numPostings: idx.numPostings,
        sample: this.sample,
      });
      const dir = join(this.parentDir, this.ulid);
      await rename(this.tmpDir, dir);
      await syncDir(this.parentDir);
      return { dir, meta };
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  /** Drops everything written so far. */
  async abort(): Promise<void> {
    this.done = true;
    await this.segments.abort().catch(() => undefined);
    await this.index.abort().catch(() => undefined);
    await rm(this.tmpDir, { recursive: true, force: true });
  }
}

function sortedUnique(it: Iterable<string>): string[] {
  const a = [...it];
  // Already sorted and unique (a compaction merges its inputs' tables): nothing to sort.
  let sorted = true;
  for (let i = 1; i < a.length && sorted; i++) sorted = compareStrings(a[i - 1]!, a[i]!) < 0;
  return sorted ? a : [...new Set<string>(a)].sort(compareStrings);
}
