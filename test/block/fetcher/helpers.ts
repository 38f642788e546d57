/** Fixtures for the fetcher tests: blocks on a bucket, a recording bucket, a capturing logger. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeTime } from 'ulidx';
import type { Bucket, IterEntry, IterOptions } from '../../../src/objstore/bucket.js';
import { FilesystemBucket } from '../../../src/objstore/filesystem.js';
import { ForwardingBucket } from '../../../src/objstore/forwarding.js';
import type { Layout } from '../../../src/block/layout.js';
import { formatMeta, type BlockMeta } from '../../../src/tsdb/meta.js';
import type { LogFields, Logger } from '../../../src/util/logger.js';

export const H = 3_600_000;
/** 2023-11-09T00:00Z: block times in the past, outside every relist window. */
export const T0 = 1_699_488_000_000;

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A deterministic ULID: time `ms`, random part encoding `seq`. */
export function ulidAt(ms: number, seq: number): string {
  let r = '';
  let n = seq;
  for (let i = 0; i < 16; i++) {
    r = CROCKFORD[n % 32]! + r;
    n = Math.floor(n / 32);
  }
  return encodeTime(ms, 10) + r;
}

export interface MetaSpec {
  minTime?: number;
  maxTime?: number;
  level?: number;
  sources?: string[];
  labels?: Record<string, string>;
  resolution?: number;
  source?: string;
  uploadTime?: string;
}

export function mkMeta(id: string, spec: MetaSpec = {}): BlockMeta {
  const minTime = spec.minTime ?? T0;
  return {
    ulid: id,
    minTime,
    maxTime: spec.maxTime ?? minTime + 2 * H,
    stats: { numSamples: 100, numSeries: 10, numChunks: 10, numTombstones: 0 },
    compaction: { level: spec.level ?? 1, sources: spec.sources ?? [id] },
    version: 1,
    thanos: {
      labels: spec.labels ?? { cluster: 'eu1', replica: 'a' },
      downsample: { resolution: spec.resolution ?? 0 },
      source: spec.source ?? 'sidecar',
      segment_files: ['000001'],
      files: [
        { rel_path: 'chunks/000001', size_bytes: 1024 },
        { rel_path: 'index', size_bytes: 512 },
        { rel_path: 'meta.json' },
      ],
      ...(spec.uploadTime !== undefined ? { upload_time: spec.uploadTime } : {}),
    },
  };
}

/** Uploads a block the way upload.ts does (meta.json last), with a tiny index as the other object. */
export async function putBlock(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
  meta: BlockMeta,
): Promise<void> {
  await bucket.upload(layout.indexKey(tenant, meta.ulid), Buffer.from('index'));
  await bucket.upload(layout.metaKey(tenant, meta.ulid), Buffer.from(formatMeta(meta)));
}

export interface TempBucket {
  dir: string;
  bucket: FilesystemBucket;
  cacheDir: string;
  cleanup(): Promise<void>;
}

export async function tempBucket(): Promise<TempBucket> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-fetcher-'));
  const bucket = new FilesystemBucket({ directory: join(dir, 'bucket'), fsync: false });
  return {
    dir,
    bucket,
    cacheDir: join(dir, 'cache'),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface IterCall {
  prefix: string;
  options: IterOptions;
}

/** Records calls and lets tests hold or fail meta.json reads. */
export class RecordingBucket extends ForwardingBucket {
  readonly iters: IterCall[] = [];
  readonly gets: string[] = [];
  /** Called before each get; may delay or throw. */
  beforeGet: ((key: string) => Promise<void>) | undefined;

  constructor(override readonly inner: Bucket) {
    super(inner);
  }

  reset(): void {
    this.iters.length = 0;
    this.gets.length = 0;
  }

  metaGets(): string[] {
    return this.gets.filter((k) => k.endsWith('/meta.json'));
  }

  override async get(key: string): Promise<Buffer> {
    this.gets.push(key);
    if (this.beforeGet) await this.beforeGet(key);
    return this.inner.get(key);
  }

  override iter(prefix: string, options: IterOptions = {}): AsyncIterable<IterEntry> {
    this.iters.push({ prefix, options: { ...options } });
    return this.inner.iter(prefix, options);
  }
}

export interface LogEntry {
  level: string;
  msg: string;
  fields: LogFields;
}

export function captureLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const make = (base: LogFields): Logger => ({
    debug: (msg, f) => entries.push({ level: 'debug', msg, fields: { ...base, ...f } }),
    info: (msg, f) => entries.push({ level: 'info', msg, fields: { ...base, ...f } }),
    warn: (msg, f) => entries.push({ level: 'warn', msg, fields: { ...base, ...f } }),
    error: (msg, f) => entries.push({ level: 'error', msg, fields: { ...base, ...f } }),
    child: (f) => make({ ...base, ...f }),
  });
  return { logger: make({}), entries };
}

/** Sorted block IDs of every tenant, for comparing block sets. */
export function blockSet(tenants: ReadonlyMap<string, { metas: ReadonlyMap<string, BlockMeta> }>): string[] {
  const out: string[] = [];
  for (const [t, r] of tenants) for (const id of r.metas.keys()) out.push(`${t}/${id}`);
  return out.sort();
}

export interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

export function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
