/**
 * meta.json: the Prometheus block meta plus the Thanos section. Key order follows the Go structs
 * (Prometheus tsdb.BlockMeta, Thanos metadata.Thanos) so files diff cleanly against theirs.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FormatError, errorMessage } from '../util/errors.js';
import { writeAtomically } from '../util/atomic-file.js';

export const META_FILENAME = 'meta.json';

export interface BlockStats {
  numSamples: number;
  numSeries: number;
  numChunks: number;
  numTombstones: number;
}

export interface BlockDesc {
  ulid: string;
  minTime: number;
  maxTime: number;
}

export interface BlockCompaction {
  level: number;
  sources: string[];
  deletable?: boolean;
  parents?: BlockDesc[];
  failed?: boolean;
  hints?: string[];
}

export type SourceType =
  | ''
  | 'sidecar'
  | 'receive'
  | 'compactor'
  | 'compactor.repair'
  | 'ruler'
  | 'bucket.repair'
  | 'bucket.rewrite'
  | 'bucket.upload'
  | 'test';

export interface ThanosFile {
  rel_path: string;
  size_bytes?: number;
  hash?: unknown;
}

export interface ThanosIndexStats {
  series_max_size?: number;
  chunk_max_size?: number;
}

export interface ThanosMeta {
  version?: number;
  labels: Record<string, string>;
  downsample: { resolution: number };
  source: SourceType | string;
  segment_files?: string[];
  files?: ThanosFile[];
  rewrites?: unknown[];
  index_stats?: ThanosIndexStats;
  extensions?: unknown;
  upload_time?: string;
}

export interface BlockMeta {
  ulid: string;
  minTime: number;
  maxTime: number;
  stats: BlockStats;
  compaction: BlockCompaction;
  version: 1;
  thanos?: ThanosMeta;
}

/**
 * A plain copy of the top level, field by field: a meta may be an object whose fields are getters
 * (the fetcher's packed metas), which an object spread would silently drop.
 */
export function copyMeta(m: BlockMeta): BlockMeta {
  const out: BlockMeta = {
    ulid: m.ulid,
    minTime: m.minTime,
    maxTime: m.maxTime,
    stats: m.stats,
    compaction: m.compaction,
    version: 1,
  };
  const t = m.thanos;
  if (t !== undefined) out.thanos = t;
  return out;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** Parses and validates meta.json text. `file` names the source in errors. */
export function parseMeta(text: string, file: string): BlockMeta {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new FormatError('ERR_TSDB_BAD_META', file, 0, `not valid JSON: ${errorMessage(err)}`);
  }
  const bad = (detail: string): never => {
    throw new FormatError('ERR_TSDB_BAD_META', file, 0, detail);
  };
  if (!isObj(raw)) return bad('not a JSON object');
  if (raw['version'] !== 1) return bad(`unsupported meta version ${JSON.stringify(raw['version'])} (want 1)`);
  const ulid = raw['ulid'];
  if (typeof ulid !== 'string' || ulid.length !== 26) return bad('missing or malformed ulid');
  const minTime = raw['minTime'];
  const maxTime = raw['maxTime'];
  if (!Number.isSafeInteger(minTime) || !Number.isSafeInteger(maxTime))
    return bad('minTime/maxTime not integers');
  if ((maxTime as number) < (minTime as number)) return bad(`maxTime ${maxTime} < minTime ${minTime}`);
  const s = isObj(raw['stats']) ? raw['stats'] : {};
  const c = isObj(raw['compaction']) ? raw['compaction'] : bad('missing compaction section');
  const level = c['level'];
  if (!Number.isSafeInteger(level) || (level as number) < 0)
    return bad('compaction.level not a non-negative integer');
  const sources = c['sources'] ?? [];
  if (!Array.isArray(sources) || sources.some((x) => typeof x !== 'string'))
    return bad('compaction.sources malformed');
  const meta: BlockMeta = {
    ulid,
    minTime: minTime as number,
    maxTime: maxTime as number,
    stats: {
      numSamples: num(s['numSamples']),
      numSeries: num(s['numSeries']),
      numChunks: num(s['numChunks']),
      numTombstones: num(s['numTombstones']),
    },
    compaction: { ...(c as object), level: level as number, sources: sources as string[] } as BlockCompaction,
    version: 1,
  };
  const t = raw['thanos'];
  if (t !== undefined && t !== null) {
    if (!isObj(t)) return bad('thanos section not an object');
    const tv = t['version'] ?? 0;
    if (tv !== 0 && tv !== 1) return bad(`unsupported thanos section version ${JSON.stringify(tv)}`);
    const labels = t['labels'] ?? {};
    if (!isObj(labels) || Object.values(labels).some((v) => typeof v !== 'string')) {
      return bad('thanos.labels is not a string map');
    }
    const ds = isObj(t['downsample']) ? t['downsample'] : {};
    const resolution = ds['resolution'] ?? 0;
    if (!Number.isSafeInteger(resolution)) return bad('thanos.downsample.resolution not an integer');
    meta.thanos = {
      ...(t as object),
      labels: labels as Record<string, string>,
      downsample: { resolution: resolution as number },
      source: typeof t['source'] === 'string' ? t['source'] : '',
    } as ThanosMeta;
  }
  return meta;
}

/** Serializes like Go's encoding/json with tab indent; zero stats and empty fields omitted. */
export function formatMeta(m: BlockMeta): string {
  const stats: Record<string, number> = {};
  if (m.stats.numSamples) stats['numSamples'] = m.stats.numSamples;
  if (m.stats.numSeries) stats['numSeries'] = m.stats.numSeries;
  if (m.stats.numChunks) stats['numChunks'] = m.stats.numChunks;
  if (m.stats.numTombstones) stats['numTombstones'] = m.stats.numTombstones;
  const c = m.compaction;
  const compaction: Record<string, unknown> = { level: c.level };
  if (c.sources.length) compaction['sources'] = c.sources;
  if (c.deletable) compaction['deletable'] = true;
  if (c.parents?.length) compaction['parents'] = c.parents;
  if (c.failed) compaction['failed'] = true;
  if (c.hints?.length) compaction['hints'] = c.hints;
  const out: Record<string, unknown> = {
    ulid: m.ulid,
    minTime: m.minTime,
    maxTime: m.maxTime,
    stats,
    compaction,
    version: 1,
  };
  if (m.thanos) {
    const t = m.thanos;
    const th: Record<string, unknown> = {};
    if (t.version) th['version'] = t.version;
    const sortedLabels: Record<string, string> = {};
    for (const k of Object.keys(t.labels).sort()) sortedLabels[k] = t.labels[k]!;
    th['labels'] = sortedLabels;
    th['downsample'] = { resolution: t.downsample.resolution };
    th['source'] = t.source;
    if (t.segment_files?.length) th['segment_files'] = t.segment_files;
    if (t.files?.length) th['files'] = t.files.map(formatFile);
    if (t.rewrites?.length) th['rewrites'] = t.rewrites;
    const is: Record<string, number> = {};
    if (t.index_stats?.series_max_size) is['series_max_size'] = t.index_stats.series_max_size;
    if (t.index_stats?.chunk_max_size) is['chunk_max_size'] = t.index_stats.chunk_max_size;
    th['index_stats'] = is;
    if (t.extensions !== undefined) th['extensions'] = t.extensions;
    if (t.upload_time) th['upload_time'] = t.upload_time;
    out['thanos'] = th;
  }
  return JSON.stringify(out, null, '\t') + '\n';
}

function formatFile(f: ThanosFile): Record<string, unknown> {
  const o: Record<string, unknown> = { rel_path: f.rel_path };
  if (f.size_bytes) o['size_bytes'] = f.size_bytes;
  if (f.hash !== undefined) o['hash'] = f.hash;
  return o;
}

export async function readMetaFile(blockDir: string): Promise<BlockMeta> {
  const file = join(blockDir, META_FILENAME);
  return parseMeta(await readFile(file, 'utf8'), file);
}

/** Writes meta.json atomically (tmp + fsync + rename). */
export async function writeMetaFile(blockDir: string, meta: BlockMeta): Promise<number> {
  const text = formatMeta(meta);
  return writeAtomically(join(blockDir, META_FILENAME), async (fh) => {
    await fh.writeFile(text);
    return Buffer.byteLength(text);
  });
}
