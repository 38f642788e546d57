/**
 * One block served from a bucket. What stays in memory per block (the "index header") is what
 * IndexReader.open loads: the TOC, the symbol table (every distinct label name and value once)
 * and the postings offset table (one offset per label name/value pair). It grows with the number
 * of distinct label values, not with series or samples. Series entries, postings lists and
 * chunks are read on demand with range requests (see chunks.ts and the index cache).
 */
import type { Bucket } from '../objstore/bucket.js';
import type { Layout } from '../block/layout.js';
import type { BlockMeta } from '../tsdb/meta.js';
import { IndexReader, type IndexCache } from '../tsdb/index/reader.js';
import { compareStrings, type Labels } from '../tsdb/labels.js';
import { BucketObjectReader } from './bucket-reader.js';
import { BucketChunkReader } from './chunks.js';

export class StoreBlock {
  private constructor(
    readonly tenant: string,
    readonly meta: BlockMeta,
    readonly index: IndexReader,
    readonly chunks: BucketChunkReader,
    /** thanos.labels of the meta, sorted by name. */
    readonly extLabels: Labels,
  ) {}

  static async open(
    bucket: Bucket,
    layout: Layout,
    tenant: string,
    meta: BlockMeta,
    cache?: IndexCache,
  ): Promise<StoreBlock> {
    const id = meta.ulid;
    const segments: string[] = [];
    const prefix = layout.chunksPrefix(tenant, id);
    for await (const e of bucket.iter(prefix)) {
      if (!e.key.endsWith('/') && /^\d+$/.test(e.key.slice(prefix.length))) segments.push(e.key);
    }
    segments.sort();
    const index = await IndexReader.openReader(
      await BucketObjectReader.open(bucket, layout.indexKey(tenant, id)),
    );
    index.cache = cache;
    const ext = Object.entries(meta.thanos?.labels ?? {})
      .map(([name, value]) => ({ name, value }))
      .sort((a, b) => compareStrings(a.name, b.name));
    return new StoreBlock(tenant, meta, index, new BucketChunkReader(bucket, segments), ext);
  }

  get id(): string {
    return this.meta.ulid;
  }

  /** Downsampling resolution in ms (0: raw). */
  get resolution(): number {
    return this.meta.thanos?.downsample.resolution ?? 0;
  }

  /** True when the block holds samples in [mint, maxt] (meta maxTime is exclusive). */
  overlaps(mint: number, maxt: number): boolean {
    return this.meta.minTime <= maxt && this.meta.maxTime > mint;
  }

  close(): Promise<void> {
    return this.index.close();
  }
}
