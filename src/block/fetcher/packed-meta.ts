/**
 * A meta of the usual shape as a row of its table (meta-table.ts, layout in meta-page.ts): one
 * small object per block whose getters build the nested sections on access.
 */
import type { BlockCompaction, BlockMeta, BlockStats, ThanosFile, ThanosMeta } from '../../tsdb/meta.js';
import { uploadTimeText, type UploadTimeForm } from '../../tsdb/upload-time.js';
import { EMPTY_INDEX_STATS } from './meta-read.js';
import {
  B,
  F,
  FLAG_INDEX_STATS,
  FLAG_SELF_SOURCE,
  FLAG_UPLOAD_FORM,
  FLAG_UPLOAD_MASK,
  U,
  type Page,
  type Shape,
} from './meta-page.js';

/**
 * One block's meta, read from its table row. Its nested sections are new objects on each access
 * (their shared parts, labels included, are the same objects every time); `toJSON` gives the
 * plain meta, so JSON.stringify writes what a plain compacted meta would.
 */
export class PackedMeta implements BlockMeta {
  readonly ulid: string;
  readonly #p: Page;
  readonly #i: number;

  constructor(ulid: string, page: Page, i: number) {
    this.ulid = ulid;
    this.#p = page;
    this.#i = i;
  }

  /** Whether this meta is a row of `table`. */
  isIn(table: object): boolean {
    return this.#p.owner === table;
  }

  get version(): 1 {
    return 1;
  }
  get minTime(): number {
    return this.#p.f64[this.#i * F]!;
  }
  get maxTime(): number {
    return this.#p.f64[this.#i * F + 1]!;
  }
  get stats(): BlockStats {
    const u = this.#p.u32;
    const o = this.#i * U;
    return {
      numSamples: this.#p.f64[this.#i * F + 2]!,
      numSeries: u[o + 4]!,
      numChunks: u[o + 5]!,
      numTombstones: u[o + 6]!,
    };
  }
  get compaction(): BlockCompaction {
    const self = (this.#p.u8[this.#i * B + 1]! & FLAG_SELF_SOURCE) !== 0;
    const sources = self ? [this.ulid] : [...(this.#p.sources.get(this.#i) ?? [])];
    return { level: this.#p.u32[this.#i * U]!, sources };
  }
  get thanos(): ThanosMeta {
    return new PackedThanos(this.#p, this.#i);
  }

  /** The shared parts of its thanos section (labels, source, resolution...): nothing built. */
  shape(): Shape {
    return this.#p.shapeOf(this.#i);
  }

  /** Whether compaction.sources is exactly [ulid], without building it. */
  hasOwnSourceOnly(): boolean {
    return (this.#p.u8[this.#i * B + 1]! & FLAG_SELF_SOURCE) !== 0;
  }

  /** thanos.upload_time as milliseconds when the row keeps it so (Date.parse of the text), else NaN. */
  uploadTimeMs(): number {
    return (this.#p.u8[this.#i * B + 1]! & FLAG_UPLOAD_MASK) === 0 ? NaN : this.#p.f64[this.#i * F + 3]!;
  }

  /** The plain compacted meta (compactMeta's shape and key order). */
  toJSON(): BlockMeta {
    return {
      ulid: this.ulid,
      minTime: this.minTime,
      maxTime: this.maxTime,
      stats: this.stats,
      compaction: this.compaction,
      version: 1,
      thanos: new PackedThanos(this.#p, this.#i).toJSON(),
    };
  }
}

/** The thanos section of a packed meta; `files` and `upload_time` are built when read. */
class PackedThanos implements ThanosMeta {
  readonly #p: Page;
  readonly #i: number;

  constructor(page: Page, i: number) {
    this.#p = page;
    this.#i = i;
  }

  get labels(): Record<string, string> {
    return this.#p.shapeOf(this.#i).labels;
  }
  get source(): string {
    return this.#p.shapeOf(this.#i).source;
  }
  get downsample(): { resolution: number } {
    return this.#p.shapeOf(this.#i).downsample;
  }
  get segment_files(): string[] | undefined {
    return this.#p.shapeOf(this.#i).segments;
  }
  get files(): ThanosFile[] | undefined {
    return this.#p.filesOf(this.#i);
  }
  get index_stats(): Record<string, never> | undefined {
    return (this.#p.u8[this.#i * B + 1]! & FLAG_INDEX_STATS) !== 0 ? EMPTY_INDEX_STATS : undefined;
  }
  get upload_time(): string | undefined {
    const n = this.#p.u8[this.#i * B]!;
    if (n === 0) {
      const form = (this.#p.u8[this.#i * B + 1]! & FLAG_UPLOAD_MASK) / FLAG_UPLOAD_FORM;
      return form === 0 ? undefined : uploadTimeText(this.#p.f64[this.#i * F + 3]!, form as UploadTimeForm);
    }
    const at = this.#p.u32[this.#i * U + 3]!;
    return this.#p.uploads.toString('latin1', at, at + n - 1);
  }

  /** compactMeta's usual shape: only the sections present. */
  toJSON(): ThanosMeta {
    const out: ThanosMeta = { labels: this.labels, downsample: this.downsample, source: this.source };
    const seg = this.segment_files;
    if (seg !== undefined) out.segment_files = seg;
    const files = this.files;
    if (files !== undefined) out.files = files;
    const is = this.index_stats;
    if (is !== undefined) out.index_stats = is;
    const up = this.upload_time;
    if (up !== undefined) out.upload_time = up;
    return out;
  }
}
