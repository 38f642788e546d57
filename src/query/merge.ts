/**
 * Merging the sorted series lists of several answers into one sorted list. Replica labels are
 * removed first (with dedup on); series whose labels then are equal are combined: replicas with
 * the compactor's penalty dedup (or chain: one sample per timestamp), equal series from different
 * groups without replica labels with an exact merge. A series from one answer only keeps its
 * chunks as received. Histogram chunks (Store API HISTOGRAM, FLOAT_HISTOGRAM) are merged by the same
 * algorithms through the compactor's mixed-kind code (src/tsdb/samples/mixed.ts).
 */
import { compareLabels, type Labels } from '../tsdb/labels.js';
import { SampleBuf } from '../tsdb/samples/sample-buf.js';
import { mergeExact, mergeReplicas } from '../tsdb/samples/dedup.js';
import { decodeChunkInto } from '../tsdb/chunkenc/chunk.js';
import { DEFAULT_SAMPLES_PER_CHUNK, encodeXorChunks } from '../tsdb/chunkenc/encode.js';
import { XorAppender } from '../tsdb/chunkenc/xor.js';
import {
  ENC_FLOAT_HISTOGRAM,
  ENC_HISTOGRAM,
  ENC_XOR,
  type ChunkEncoding,
} from '../tsdb/chunkenc/encoding.js';
import { overlapClusters } from '../tsdb/chunks/overlap.js';
import { MixedEncoder, MixedSamples } from '../tsdb/samples/mixed.js';
import { Chunk_Encoding } from '../../gen/thanos/store/storepb/types_pb.js';
import { InvalidArgumentError } from '../util/errors.js';

/** Store API chunk encodings (thanos storepb Chunk.Encoding: XOR is 0 here, 1 on disk). */
export const WIRE_XOR: number = Chunk_Encoding.XOR;
export const WIRE_HISTOGRAM: number = Chunk_Encoding.HISTOGRAM;
export const WIRE_FLOAT_HISTOGRAM: number = Chunk_Encoding.FLOAT_HISTOGRAM;

/** The on-disk encoding of a Store API chunk type (the numbers prompb's Chunk.Encoding uses too). */
export function diskEncoding(c: WireChunk, what: string): ChunkEncoding {
  switch (c.type) {
    case WIRE_XOR:
      return ENC_XOR;
    case WIRE_HISTOGRAM:
      return ENC_HISTOGRAM;
    case WIRE_FLOAT_HISTOGRAM:
      return ENC_FLOAT_HISTOGRAM;
    default:
      throw new InvalidArgumentError(
        `${what}: chunk encoding ${c.type} of the Store API cannot be decoded (only XOR, HISTOGRAM, FLOAT_HISTOGRAM)`,
      );
  }
}

/** The Store API chunk type of an on-disk encoding Strata re-encodes into. */
function wireType(enc: ChunkEncoding): number {
  return enc === ENC_HISTOGRAM
    ? WIRE_HISTOGRAM
    : enc === ENC_FLOAT_HISTOGRAM
      ? WIRE_FLOAT_HISTOGRAM
      : WIRE_XOR;
}

/** True when every chunk is XOR (float samples only: the fast paths). */
export function allXor(chunks: readonly WireChunk[]): boolean {
  for (const c of chunks) if (c.type !== WIRE_XOR) return false;
  return true;
}

export interface WireChunk {
  readonly minTime: number;
  readonly maxTime: number;
  /** Store API encoding (XOR = 0). */
  readonly type: number;
  readonly data: Uint8Array;
}

export interface QSeries {
  readonly labels: Labels;
  readonly chunks: readonly WireChunk[];
}

export type DedupFunc = 'penalty' | 'chain';

export interface MergeOptions {
  /** Empty or undefined: no dedup, replica labels kept. */
  readonly replicaLabels?: readonly string[];
  readonly func: DedupFunc;
}

interface Entry {
  readonly labels: Labels;
  readonly chunks: readonly WireChunk[];
  /** Removed replica label values, joined; undefined when the series had none. */
  readonly replica: string | undefined;
}

function strip(s: QSeries, replicaLabels: ReadonlySet<string>): Entry {
  if (replicaLabels.size === 0) return { labels: s.labels, chunks: s.chunks, replica: undefined };
  let replica: string | undefined;
  const labels: { name: string; value: string }[] = [];
  for (const l of s.labels) {
    if (replicaLabels.has(l.name)) replica = (replica ?? '') + `${l.name}\u0000${l.value}\u0000`;
    else labels.push(l);
  }
  return replica === undefined
    ? { labels: s.labels, chunks: s.chunks, replica }
    : { labels, chunks: s.chunks, replica };
}

function sortedEntries(list: readonly QSeries[], replicaLabels: ReadonlySet<string>): Entry[] {
  const out = list.map((s) => strip(s, replicaLabels));
  for (let i = 1; i < out.length; i++) {
    if (compareLabels(out[i - 1]!.labels, out[i]!.labels) > 0) {
      // Removing a replica label can change the order; stable sort keeps equal series in order.
      return out.sort((a, b) => compareLabels(a.labels, b.labels));
    }
  }
  return out;
}

function checkXor(c: WireChunk, what: string): void {
  if (c.type !== WIRE_XOR) {
    throw new InvalidArgumentError(
      `${what}: chunk encoding ${c.type} holds no float samples (decode it with decodeMixedSeries)`,
    );
  }
}

// Decoding is synchronous: one scratch serves every call.
const chunkScratch = new SampleBuf(128);

/**
 * Decodes the XOR chunks of one series into `out` (one sample per timestamp, later chunks win
 * ties). Chunks that each start after the previous one ends are appended as they come; any
 * overlap or disorder falls back to the exact k-way merge of all of them.
 */
export function decodeSeries(chunks: readonly WireChunk[], out: SampleBuf, what: string): void {
  out.reset();
  for (const c of chunks) {
    checkXor(c, what);
    decodeChunkInto({ encoding: ENC_XOR, data: c.data, dataOffset: 0 }, chunkScratch, what);
    if (chunkScratch.len === 0) continue;
    if (out.len > 0 && chunkScratch.ts[0]! <= out.ts[out.len - 1]!) {
      mergeChunks(chunks, out, what);
      return;
    }
    out.pushRange(chunkScratch, 0, chunkScratch.len);
  }
}

function mergeChunks(chunks: readonly WireChunk[], out: SampleBuf, what: string): void {
  const bufs: SampleBuf[] = [];
  for (const c of chunks) {
    checkXor(c, what);
    const b = new SampleBuf(128);
    decodeChunkInto({ encoding: ENC_XOR, data: c.data, dataOffset: 0 }, b, what);
    bufs.push(b);
  }
  mergeExact(bufs, out);
}

/**
 * Decodes chunks of any kind into `out` as a mixed-kind stream over `s` (samples/mixed.ts; `s` is
 * not reset here): one sample per timestamp, in time order. Chunks that each start after the
 * previous one ends are appended as they come; overlapping ones are merged exactly, later chunks
 * winning ties (as decodeSeries does for floats). `scratch` holds reusable per-chunk buffers.
 */
export function decodeMixedSeries(
  chunks: readonly WireChunk[],
  s: MixedSamples,
  out: SampleBuf,
  what: string,
  scratch: SampleBuf[] = [],
): void {
  out.reset();
  let ordered = true;
  for (let i = 1; i < chunks.length && ordered; i++) ordered = chunks[i]!.minTime > chunks[i - 1]!.maxTime;
  if (ordered) {
    for (const c of chunks)
      s.appendChunk({ encoding: diskEncoding(c, what), data: c.data, dataOffset: 0 }, what, out);
    return;
  }
  const bufs = chunks.map((c, k) => {
    const b = (scratch[k] ??= new SampleBuf(128));
    b.reset();
    s.appendChunk({ encoding: diskEncoding(c, what), data: c.data, dataOffset: 0 }, what, b);
    return b;
  });
  mergeExact(bufs, out);
}

interface Piece {
  /** Index of the answer: merge priority (later wins exact-merge ties), replica order. */
  readonly input: number;
  readonly chunk: WireChunk;
}

const pieceMint = (p: Piece): number => p.chunk.minTime;
const pieceMaxt = (p: Piece): number => p.chunk.maxTime;

function sameChunks(group: readonly Piece[]): boolean {
  const f = group[0]!.chunk;
  for (const p of group) {
    const c = p.chunk;
    if (c.minTime !== f.minTime || c.maxTime !== f.maxTime || c.type !== f.type) return false;
    if (c.data.length !== f.data.length || Buffer.compare(c.data, f.data) !== 0) return false;
  }
  return true;
}

/**
 * Combines equal series of several answers the way the compactor merges a series of several
 * blocks (src/tsdb/compact/series-merge.ts): chunks in chained-overlap clusters; a lone chunk or
 * identical replica chunks pass through; other clusters are decoded per answer and merged —
 * penalty across replicas, exact otherwise — so a SOURCE group's answer equals the block the
 * compactor would write from the same data.
 */
class Combiner {
  private readonly app = new XorAppender();
  private readonly merged = new SampleBuf();
  private readonly scratch: SampleBuf[] = [];
  private readonly streams: SampleBuf[] = [];
  private readonly mixed = new MixedSamples();
  private readonly chunkBufs: SampleBuf[] = [];
  private readonly encoder = new MixedEncoder(DEFAULT_SAMPLES_PER_CHUNK);

  constructor(private readonly o: MergeOptions) {}

  combine(entries: readonly Entry[]): QSeries {
    const first = entries[0]!;
    if (entries.length === 1) return { labels: first.labels, chunks: first.chunks };
    const what = `series ${JSON.stringify(first.labels.map((l) => `${l.name}=${l.value}`).join(','))}`;
    const pieces: Piece[] = [];
    entries.forEach((e, input) => {
      for (const chunk of e.chunks) pieces.push({ input, chunk });
    });
    pieces.sort((a, b) => a.chunk.minTime - b.chunk.minTime || a.input - b.input);
    const penalty = this.o.func === 'penalty' && entries.some((e) => e.replica !== undefined);
    const chunks: WireChunk[] = [];
    for (const group of overlapClusters(pieces, pieceMint, pieceMaxt)) {
      if (group.length === 1) chunks.push(group[0]!.chunk);
      else if (sameChunks(group)) chunks.push(group[group.length - 1]!.chunk);
      else this.mergeCluster(group, entries, penalty, what, chunks);
    }
    return { labels: first.labels, chunks };
  }

  private mergeCluster(
    group: readonly Piece[],
    entries: readonly Entry[],
    penalty: boolean,
    what: string,
    into: WireChunk[],
  ): void {
    // One stream per answer in the cluster, in answer order (an answer's chunks never overlap).
    const inputs = [...new Set(group.map((p) => p.input))].sort((a, b) => a - b);
    while (this.streams.length < inputs.length) this.streams.push(new SampleBuf(128));
    // Histogram chunks (alone or mixed with floats): the compactor's mixed-kind merge.
    const mixed = !allXor(group.map((p) => p.chunk));
    if (mixed) this.mixed.reset();
    const streams = inputs.map((input, k) => {
      const buf = this.streams[k]!;
      buf.reset();
      const chunks = group.filter((p) => p.input === input).map((p) => p.chunk);
      if (mixed) decodeMixedSeries(chunks, this.mixed, buf, what, this.chunkBufs);
      else decodeSeries(chunks, buf, what);
      return buf;
    });
    if (penalty) {
      const ids = new Map<string, number>();
      const replicaOf = inputs.map((input) => {
        const k = entries[input]!.replica ?? '';
        if (!ids.has(k)) ids.set(k, ids.size);
        return ids.get(k)!;
      });
      mergeReplicas(streams, replicaOf, this.merged, this.scratch);
    } else {
      mergeExact(streams, this.merged);
    }
    if (mixed) {
      this.mixed.fixHints(this.merged);
      for (const c of this.encoder.encode(this.merged, this.mixed, () => what)) {
        into.push({ minTime: c.mint, maxTime: c.maxt, type: wireType(c.encoding), data: c.data });
      }
      return;
    }
    for (const c of encodeXorChunks(this.merged, undefined, this.app)) {
      into.push({ minTime: c.mint, maxTime: c.maxt, type: WIRE_XOR, data: c.data });
    }
  }
}

/**
 * K-way merge of sorted series lists (one per answer; list order is merge priority, later wins
 * exact-merge ties). Lists need not stay sorted once replica labels are removed: they are re-sorted.
 */
export function mergeSeriesLists(lists: readonly (readonly QSeries[])[], o: MergeOptions): QSeries[] {
  const replicaLabels = new Set(o.replicaLabels ?? []);
  const streams = lists.map((l) => sortedEntries(l, replicaLabels));
  const pos = new Int32Array(streams.length);
  const combiner = new Combiner(o);
  const out: QSeries[] = [];
  const same: Entry[] = [];
  for (;;) {
    // Few lists (one per group or source): a linear scan for the smallest head is enough.
    let min: Labels | undefined;
    for (let i = 0; i < streams.length; i++) {
      const e = streams[i]![pos[i]!];
      if (e !== undefined && (min === undefined || compareLabels(e.labels, min) < 0)) min = e.labels;
    }
    if (min === undefined) return out;
    same.length = 0;
    for (let i = 0; i < streams.length; i++) {
      const s = streams[i]!;
      while (pos[i]! < s.length && compareLabels(s[pos[i]!]!.labels, min) === 0) same.push(s[pos[i]!++]!);
    }
    out.push(combiner.combine(same));
  }
}
