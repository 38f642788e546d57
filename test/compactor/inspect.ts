/**
 * What a bucket holds after `strata compact`, read independently of the compactor's own fetcher:
 * one recursive listing per tenant, meta.json and marker files parsed here, live blocks
 * downloaded and dumped with promtool one block at a time (so a sample stored twice shows twice).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Bucket } from '../../src/objstore/bucket.js';
import { multiTenantLayout } from '../../src/block/layout.js';
import { downloadBlock } from '../../src/block/download.js';
import { readBucketIndex } from '../../src/block/bucket-index.js';
import { parseMeta, type BlockMeta } from '../../src/tsdb/meta.js';
import { promtoolDump } from '../services/prometheus.js';
import { parseDumpLine, sortDumpLines } from '../support/dump.js';

export const layout = multiTenantLayout();

const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export interface NoCompactMarkJson {
  id: string;
  version: number;
  details?: string;
  no_compact_time: number;
  reason: string;
}

export interface DeletionMarkJson {
  id: string;
  version: number;
  details?: string;
  deletion_time: number;
}

export interface BucketBlock {
  ulid: string;
  /** Relative paths of its objects, sorted. */
  objects: string[];
  /** Newest object time (ms), when the listing has times. */
  newestMs: number | undefined;
  /** undefined: no (parsable) meta.json, a partial block. */
  meta: BlockMeta | undefined;
  deletionMark: DeletionMarkJson | undefined;
  noCompactMark: NoCompactMarkJson | undefined;
}

export interface TenantState {
  tenant: string;
  blocks: Map<string, BucketBlock>;
  /** `<tenant>/markers/` file names. */
  markerCopies: string[];
  /** Keys under the tenant that are neither block objects, marker copies nor the bucket index. */
  other: string[];
  hasBucketIndex: boolean;
}

async function getJson<T>(bucket: Bucket, key: string): Promise<T | undefined> {
  try {
    return JSON.parse((await bucket.get(key)).toString('utf8')) as T;
  } catch (err) {
    if (bucket.isNotFound(err)) return undefined;
    throw err;
  }
}

/** Lists and reads everything under `<tenant>/`. */
export async function readTenant(bucket: Bucket, tenant: string): Promise<TenantState> {
  const prefix = `${tenant}/`;
  const st: TenantState = { tenant, blocks: new Map(), markerCopies: [], other: [], hasBucketIndex: false };
  for await (const e of bucket.iter(prefix, { recursive: true })) {
    const rel = e.key.slice(prefix.length);
    const slash = rel.indexOf('/');
    const head = slash < 0 ? rel : rel.slice(0, slash);
    if (ULID_RE.test(head) && slash > 0) {
      let b = st.blocks.get(head);
      if (!b) {
        b = {
          ulid: head,
          objects: [],
          newestMs: undefined,
          meta: undefined,
          deletionMark: undefined,
          noCompactMark: undefined,
        };
        st.blocks.set(head, b);
      }
      b.objects.push(rel.slice(slash + 1));
      const t = e.lastModified?.getTime();
      if (t !== undefined) b.newestMs = Math.max(b.newestMs ?? 0, t);
    } else if (head === 'markers' && slash > 0) st.markerCopies.push(rel.slice(slash + 1));
    else if (rel === 'bucket-index.json.gz') st.hasBucketIndex = true;
    else st.other.push(rel);
  }
  for (const b of st.blocks.values()) {
    b.objects.sort();
    if (b.objects.includes('meta.json')) {
      try {
        b.meta = parseMeta((await bucket.get(layout.metaKey(tenant, b.ulid))).toString('utf8'), b.ulid);
      } catch {
        b.meta = undefined;
      }
    }
    if (b.objects.includes('deletion-mark.json'))
      b.deletionMark = await getJson(bucket, layout.deletionMarkKey(tenant, b.ulid));
    if (b.objects.includes('no-compact-mark.json'))
      b.noCompactMark = await getJson(bucket, layout.noCompactMarkKey(tenant, b.ulid));
  }
  st.markerCopies.sort();
  return st;
}

/** Complete blocks without a deletion mark: what a reader after the cleaner sees. */
export function liveBlocks(st: TenantState): BucketBlock[] {
  return [...st.blocks.values()]
    .filter((b) => b.meta !== undefined && b.deletionMark === undefined)
    .sort((a, b) => a.meta!.minTime - b.meta!.minTime || (a.ulid < b.ulid ? -1 : 1));
}

export function partialBlocks(st: TenantState): BucketBlock[] {
  return [...st.blocks.values()].filter((b) => b.meta === undefined);
}

/** Downloads blocks into `dir/<ULID>` (a fresh dir), returning the block dirs. */
export async function downloadBlocks(
  bucket: Bucket,
  tenant: string,
  ids: readonly string[],
  dir: string,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const out: string[] = [];
  for (const id of ids) {
    const dst = join(dir, id);
    await downloadBlock(bucket, layout, tenant, id, dst);
    out.push(dst);
  }
  return out;
}

/** promtool dump of each block on its own, concatenated and sorted into promtool order. */
export async function dumpBlocksSeparately(blockDirs: readonly string[]): Promise<string[]> {
  const all: string[] = [];
  for (const d of blockDirs) all.push(...(await promtoolDump(d)));
  return sortDumpLines(all);
}

/** (series, timestamp) pairs that occur more than once in a dump, at most `max` of them. */
export function duplicateSamples(lines: readonly string[], max = 5): string[] {
  const seen = new Set<string>();
  const dups: string[] = [];
  for (const l of lines) {
    const p = parseDumpLine(l);
    const k = `${p.labels} ${p.t}`;
    if (seen.has(k)) {
      if (dups.length < max) dups.push(k);
    } else seen.add(k);
  }
  return dups;
}

/**
 * The tenant's bucket index lists exactly the blocks that have a meta.json (marked or not) and
 * exactly their deletion marks, with the right time ranges.
 */
export async function expectBucketIndexMatches(bucket: Bucket, st: TenantState): Promise<void> {
  const idx = await readBucketIndex(bucket, layout, st.tenant);
  expect(idx, `${st.tenant}: bucket index`).toBeDefined();
  const complete = [...st.blocks.values()].filter((b) => b.meta !== undefined);
  expect(idx!.blocks.map((b) => b.blockId).sort(), `${st.tenant}: bucket index blocks`).toEqual(
    complete.map((b) => b.ulid).sort(),
  );
  for (const b of idx!.blocks) {
    const m = st.blocks.get(b.blockId)!.meta!;
    expect([b.minTime, b.maxTime], `${st.tenant}/${b.blockId} range in the index`).toEqual([
      m.minTime,
      m.maxTime,
    ]);
  }
  expect(
    idx!.blockDeletionMarks.map((m) => m.blockId).sort(),
    `${st.tenant}: bucket index deletion marks`,
  ).toEqual(
    complete
      .filter((b) => b.deletionMark !== undefined)
      .map((b) => b.ulid)
      .sort(),
  );
}
