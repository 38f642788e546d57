/**
 * Merging the selected series of several blocks into one sorted stream, and turning each merged
 * series' chunks into Store API chunks: chunks are passed on as stored, except where chunks of
 * one series overlap in time (overlapping blocks of one source): only those are decoded, merged
 * (one sample per timestamp, the compactor's exact merge) and re-encoded. Byte-identical chunks
 * (replica blocks merged under without_replica_labels) are sent once, as stored. Aggregated
 * chunks of downsampled blocks (0xff) are never merged: they go out as stored.
 */
import type { ChunkMeta } from '../tsdb/index/format.js';
import { compareLabels, type Labels } from '../tsdb/labels.js';
import { SampleBuf } from '../tsdb/samples/sample-buf.js';
import { mergeExact } from '../tsdb/samples/dedup.js';
import { decodeChunkInto } from '../tsdb/chunkenc/chunk.js';
import { DEFAULT_SAMPLES_PER_CHUNK, encodeXorChunks } from '../tsdb/chunkenc/encode.js';
import { ENC_THANOS_AGGR, ENC_XOR } from '../tsdb/chunkenc/encoding.js';
import { isHistogramEncoding, MixedEncoder, MixedSamples } from '../tsdb/samples/mixed.js';
import { overlapClusters } from '../tsdb/chunks/overlap.js';
import { FormatError } from '../util/errors.js';
import type { RawChunk } from './chunks.js';
import type { BlockSeries } from './select.js';

/** One chunk of a merged series and the block (index into the request's block list) holding it. */
export interface ChunkSource {
  readonly block: number;
  readonly meta: ChunkMeta;
}

export interface MergedSeries {
  readonly labels: Labels;
  readonly chunks: ChunkSource[];
}

/**
 * K-way merge of per-block sorted series; equal label sets become one series, also within one
 * block (series that differed only in a removed replica label).
 */
export function mergeBlockSeries(perBlock: readonly (readonly BlockSeries[])[]): MergedSeries[] {
  const pos = new Array<number>(perBlock.length).fill(0);
  const out: MergedSeries[] = [];
  for (;;) {
    let min: Labels | undefined;
    for (let i = 0; i < perBlock.length; i++) {
      const s = perBlock[i]![pos[i]!];
      if (s !== undefined && (min === undefined || compareLabels(s.labels, min) < 0)) min = s.labels;
    }
    if (min === undefined) return out;
    const chunks: ChunkSource[] = [];
    for (let i = 0; i < perBlock.length; i++) {
      const list = perBlock[i]!;
      for (
        let s = list[pos[i]!];
        s !== undefined && compareLabels(s.labels, min) === 0;
        s = list[++pos[i]!]
      ) {
        for (const meta of s.chunks) chunks.push({ block: i, meta });
      }
    }
    chunks.sort((a, b) => a.meta.mint - b.meta.mint || a.meta.maxt - b.meta.maxt || a.block - b.block);
    out.push({ labels: min, chunks });
  }
}

/** A chunk as the Store API sends it. */
export interface OutChunk {
  readonly minTime: number;
  readonly maxTime: number;
  /** Store API encoding: XOR = 0, HISTOGRAM = 1, FLOAT_HISTOGRAM = 2 (unused when aggregated). */
  readonly type: number;
  readonly data: Uint8Array;
  /** A Thanos aggregated chunk (0xff) of a downsampled block: `data` holds its five sub-chunks. */
  readonly aggregated?: boolean;
}

/** A stored chunk as an OutChunk, unchanged. */
function passThrough(c: ChunkSource, raw: RawChunk, where: string): OutChunk {
  if (raw.encoding === ENC_THANOS_AGGR) {
    return { minTime: c.meta.mint, maxTime: c.meta.maxt, type: 0, data: raw.data, aggregated: true };
  }
  return {
    minTime: c.meta.mint,
    maxTime: c.meta.maxt,
    type: storeType(raw.encoding, where),
    data: raw.data,
  };
}

/**
 * Store API chunk type of an on-disk encoding (thanos storepb Chunk.Encoding, as Thanos'
 * chunkToStoreEncoding: XOR 1 → 0, histogram 2 → HISTOGRAM 1, float histogram 3 →
 * FLOAT_HISTOGRAM 2). A SeriesRequest does not say which types the client takes: every kind is sent.
 */
function storeType(encoding: number, where: string): number {
  if (encoding >= 1 && encoding <= 3) return encoding - 1;
  throw new FormatError('ERR_TSDB_UNKNOWN_ENCODING', where, 0, `chunk encoding ${encoding} cannot be served`);
}

/**
 * The chunks of a cluster with byte-identical copies dropped (the same chunk in replica or
 * overlapping blocks, like Thanos' dedup of identical chunks): those need no merge.
 */
function distinct(
  cluster: readonly ChunkSource[],
  lookup: (block: number, ref: number) => RawChunk,
): ChunkSource[] {
  const out: ChunkSource[] = [];
  const raws: RawChunk[] = [];
  for (const c of cluster) {
    const raw = lookup(c.block, c.meta.ref);
    const dup = out.some(
      (o, n) =>
        o.meta.mint === c.meta.mint &&
        o.meta.maxt === c.meta.maxt &&
        raws[n]!.encoding === raw.encoding &&
        Buffer.compare(raws[n]!.data, raw.data) === 0,
    );
    if (dup) continue;
    out.push(c);
    raws.push(raw);
  }
  return out;
}

const sourceMint = (c: ChunkSource): number => c.meta.mint;
const sourceMaxt = (c: ChunkSource): number => c.meta.maxt;

/** Scratch buffers reused across series (no per-sample allocation). */
export class ChunkMerger {
  private readonly bufs: SampleBuf[] = [];
  private readonly out = new SampleBuf();
  private readonly mixed = new MixedSamples();
  private readonly encoder = new MixedEncoder(DEFAULT_SAMPLES_PER_CHUNK);
  /** Chunks decoded and merged so far. */
  merged = 0;

  /**
   * The Store API chunks of one merged series. `lookup(block, ref)` returns the fetched chunk.
   * Chunks overlapping in time are merged; all others are passed through as stored.
   */
  resolve(s: MergedSeries, lookup: (block: number, ref: number) => RawChunk, where: string): OutChunk[] {
    const res: OutChunk[] = [];
    for (const cluster of overlapClusters(s.chunks, sourceMint, sourceMaxt)) {
      const group = cluster.length === 1 ? cluster : distinct(cluster, lookup);
      if (group.length === 1) {
        const c = group[0]!;
        res.push(passThrough(c, lookup(c.block, c.meta.ref), where));
      } else if (group.some((c) => lookup(c.block, c.meta.ref).encoding === ENC_THANOS_AGGR)) {
        // Aggregates cannot be merged sample by sample: overlapping chunks go out as stored and
        // the querier keeps the first sample per timestamp (Thanos sends them the same way).
        for (const c of group) res.push(passThrough(c, lookup(c.block, c.meta.ref), where));
      } else {
        this.mergeGroup(group, lookup, where, res);
      }
    }
    return res;
  }

  private mergeGroup(
    group: readonly ChunkSource[],
    lookup: (block: number, ref: number) => RawChunk,
    where: string,
    res: OutChunk[],
  ): void {
    const streams: SampleBuf[] = [];
    // Histogram chunks (alone or mixed with floats): the compactor's mixed-kind merge.
    const mixed = group.some((c) => isHistogramEncoding(lookup(c.block, c.meta.ref).encoding));
    if (mixed) this.mixed.reset();
    for (let k = 0; k < group.length; k++) {
      const c = group[k]!;
      const raw = lookup(c.block, c.meta.ref);
      const buf = (this.bufs[k] ??= new SampleBuf());
      const stored = { encoding: raw.encoding, data: raw.data, dataOffset: 0 };
      if (mixed) {
        buf.reset();
        this.mixed.appendChunk(stored, where, buf);
      } else decodeChunkInto(stored, buf, where);
      streams.push(buf);
    }
    this.merged += group.length;
    mergeExact(streams, this.out);
    if (mixed) {
      this.mixed.fixHints(this.out);
      for (const e of this.encoder.encode(this.out, this.mixed, () => where)) {
        res.push({ minTime: e.mint, maxTime: e.maxt, type: storeType(e.encoding, where), data: e.data });
      }
      return;
    }
    for (const e of encodeXorChunks(this.out)) {
      res.push({ minTime: e.mint, maxTime: e.maxt, type: storeType(ENC_XOR, where), data: e.data });
    }
  }
}
