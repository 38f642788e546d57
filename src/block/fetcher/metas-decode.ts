/**
 * Decoding the metas file's frames (format: metas-codec.ts), straight into reused objects so a
 * restart packs a million metas without building them.
 */
import type { BlockCompaction, BlockMeta, ThanosFile, ThanosMeta } from '../../tsdb/meta.js';
import { classifyMeta, EMPTY_INDEX_STATS, fileEntry, type Interner } from './meta-read.js';
import { K_JSON, K_SELF_SOURCE, K_THANOS, NONE, NUM_COLUMNS, ULID_LEN } from './metas-codec.js';

/** Thrown on any inconsistency inside a frame whose checksum matched (a bug or a collision). */
export class FrameDecodeError extends Error {}

/**
 * A bounds-checked reader over one payload. Through a DataView (little-endian fields): its getters
 * are single built-in calls, where Buffer's readers are JS functions a restart runs cold per field.
 */
class Source {
  off = 0;
  readonly #dv: DataView;
  readonly #len: number;
  constructor(readonly buf: Buffer) {
    this.#dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
    this.#len = buf.length;
  }

  #at(n: number): number {
    const at = this.off;
    if (at + n > this.#len) throw new FrameDecodeError(`frame ends early at ${at}`);
    this.off = at + n;
    return at;
  }
  u8(): number {
    return this.#dv.getUint8(this.#at(1));
  }
  u32(): number {
    return this.#dv.getUint32(this.#at(4), true);
  }
  f64(): number {
    return this.#dv.getFloat64(this.#at(8), true);
  }
  /** The f64 at `at`, inside a region skip() checked. */
  f64At(at: number): number {
    return this.#dv.getFloat64(at, true);
  }
  /** Moves past n bytes (bounds-checked); they are read in place by offset. */
  skip(n: number): void {
    this.#at(n);
  }
  utf8(): string {
    const n = this.u32();
    const at = this.#at(n);
    return this.buf.toString('utf8', at, at + n);
  }
}

/**
 * The objects the columnar records of one frame are decoded into, reused for every block: a
 * restart packs each meta into its tenant's table as it is decoded, so a million metas of plain
 * objects (~10 per block, and V8 at times allocates them straight into the old generation) are
 * never built. Absent sections are undefined-valued properties: its only readers (the table's
 * pack, compactMeta) read them as absent.
 */
class Scratch {
  readonly stats = { numSamples: 0, numSeries: 0, numChunks: 0, numTombstones: 0 };
  readonly selfSource: string[] = [''];
  readonly compaction: BlockCompaction = { level: 0, sources: this.selfSource };
  readonly files: ThanosFile[] = [];
  readonly thanos: ThanosMeta = {
    labels: {},
    downsample: { resolution: 0 },
    source: '',
    segment_files: undefined,
    files: undefined,
    index_stats: undefined,
    upload_time: undefined,
  };
  readonly meta: BlockMeta = {
    ulid: '',
    minTime: 0,
    maxTime: 0,
    stats: this.stats,
    compaction: this.compaction,
    version: 1,
    thanos: undefined,
  };
  /** The previous block's resolution and its interned object. */
  resolution = NaN;
  downsample: { resolution: number } | undefined;
  /** The previous block's segment list and its string numbers: most blocks repeat it. */
  segments: string[] | undefined;
  readonly segIdx: number[] = [];

  /** Reads n string numbers into segIdx; whether they are the previous block's list. */
  sameSegments(r: Source, n: number): boolean {
    const idx = this.segIdx;
    let same = this.segments !== undefined && idx.length === n;
    idx.length = n;
    for (let j = 0; j < n; j++) {
      const v = r.u32();
      if (idx[j] !== v) {
        idx[j] = v;
        same = false;
      }
    }
    return same;
  }

  /** Sized file entries, reused by position. */
  readonly #sized: { rel_path: string; size_bytes: number }[] = [];

  file(j: number, rel: string, size: number): ThanosFile {
    let f = this.#sized[j];
    if (f === undefined) this.#sized[j] = f = { rel_path: rel, size_bytes: size };
    else {
      f.rel_path = rel;
      f.size_bytes = size;
    }
    return f;
  }
}

/**
 * Decodes one verified payload, calling `add` for every block. A meta of the usual shape is the
 * frame's one reused object (`reused`): it is valid during the call only, so `add` keeps a copy
 * (compactMeta) or what it packed from it, never the object itself. `expect` hears how many
 * blocks of a tenant follow, before them.
 */
export function decodeFrame(
  payload: Buffer,
  interner: Interner,
  add: (tenant: string, meta: BlockMeta, reused: boolean) => void,
  expect?: (tenant: string, n: number) => void,
): void {
  const r = new Source(payload);
  const strings: string[] = new Array<string>(r.u32());
  for (let i = 0; i < strings.length; i++) strings[i] = r.utf8();
  const s = (i: number): string => {
    const v = strings[i];
    if (v === undefined) throw new FrameDecodeError(`string ${i} out of range`);
    return v;
  };
  const labelSets: Record<string, string>[] = new Array<Record<string, string>>(r.u32());
  for (let i = 0; i < labelSets.length; i++) {
    const n = r.u32();
    const ls: Record<string, string> = {};
    for (let j = 0; j < n; j++) {
      const name = s(r.u32());
      ls[name] = s(r.u32());
    }
    labelSets[i] = interner.labels(ls);
  }
  // Strings of the table as interned once per frame (file names, sources), not once per block.
  const interned: (string | undefined)[] = new Array<string | undefined>(strings.length);
  const si = (i: number): string => (interned[i] ??= interner.string(s(i)));
  // Segment lists are the same in most blocks: one interner lookup per distinct list and frame.
  const seen = new Map<string, string[]>();
  const segmentLists = (list: string[]): string[] => {
    const key = list.join('\u0000');
    let hit = seen.get(key);
    if (hit === undefined) seen.set(key, (hit = interner.stringList(list)));
    return hit;
  };
  const x = new Scratch();
  const meta = x.meta;
  const stats = x.stats;
  const compaction = x.compaction;
  const nTenants = r.u32();
  for (let ti = 0; ti < nTenants; ti++) {
    const tenant = s(r.u32());
    const n = r.u32();
    expect?.(tenant, n);
    const idsAt = r.off;
    r.skip(n * ULID_LEN);
    const colsAt = r.off;
    r.skip(n * 8 * NUM_COLUMNS);
    // Column c of block i is at colsAt + c * stride + i * 8.
    const stride = n * 8;
    for (let i = 0; i < n; i++) {
      const id = payload.toString('latin1', idsAt + i * ULID_LEN, idsAt + (i + 1) * ULID_LEN);
      const kind = r.u8();
      if (kind & K_JSON) {
        const o = classifyMeta(id, r.utf8(), `metas file: ${tenant}/${id}`, interner);
        if (o.kind !== 'loaded') throw new FrameDecodeError(`block ${id}: ${o.detail}`);
        add(tenant, o.meta, false);
        continue;
      }
      if (kind & K_SELF_SOURCE) {
        x.selfSource[0] = id;
        compaction.sources = x.selfSource;
      } else {
        // Kept by the table as it is (a compacted block's sources): a new array each time.
        const sources = new Array<string>(r.u32());
        for (let j = 0; j < sources.length; j++) sources[j] = r.utf8();
        compaction.sources = sources;
      }
      const at = colsAt + i * 8;
      compaction.level = r.f64At(at + 6 * stride);
      stats.numSamples = r.f64At(at + 2 * stride);
      stats.numSeries = r.f64At(at + 3 * stride);
      stats.numChunks = r.f64At(at + 4 * stride);
      stats.numTombstones = r.f64At(at + 5 * stride);
      meta.ulid = id;
      meta.minTime = r.f64At(at);
      meta.maxTime = r.f64At(at + stride);
      meta.thanos =
        kind & K_THANOS ? decodeThanos(r, x, s, si, labelSets, segmentLists, interner) : undefined;
      add(tenant, meta, true);
    }
  }
  if (r.off !== payload.length)
    throw new FrameDecodeError(`${payload.length - r.off} bytes after the last tenant`);
}

function decodeThanos(
  r: Source,
  x: Scratch,
  s: (i: number) => string,
  si: (i: number) => string,
  labelSets: readonly Record<string, string>[],
  segmentLists: (list: string[]) => string[],
  interner: Interner,
): ThanosMeta {
  const t = x.thanos;
  const labels = labelSets[r.u32()];
  if (labels === undefined) throw new FrameDecodeError('label set out of range');
  t.labels = labels;
  t.source = si(r.u32());
  const res = r.f64();
  // Mostly the previous block's resolution: no interner lookup.
  if (res !== x.resolution) x.downsample = interner.downsample((x.resolution = res));
  t.downsample = x.downsample!;
  const nSeg = r.u32();
  if (nSeg === NONE) t.segment_files = undefined;
  else if (!x.sameSegments(r, nSeg)) {
    const seg = new Array<string>(nSeg);
    for (let j = 0; j < nSeg; j++) seg[j] = s(x.segIdx[j]!);
    t.segment_files = x.segments = segmentLists(seg);
  } else t.segment_files = x.segments;
  t.files = undefined;
  const nFiles = r.u32();
  if (nFiles !== NONE) {
    const files = x.files;
    files.length = nFiles;
    for (let j = 0; j < nFiles; j++) {
      const rel = si(r.u32());
      files[j] = r.u8() === 1 ? x.file(j, rel, r.f64()) : fileEntry(rel, undefined, interner);
    }
    t.files = files;
  }
  t.index_stats = r.u8() === 1 ? EMPTY_INDEX_STATS : undefined;
  const up = r.u32();
  t.upload_time = up === NONE ? undefined : s(up);
  return t;
}
