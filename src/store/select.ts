/**
 * Selecting series in one block: matchers on the block's external labels are decided once per
 * block (like Thanos), the rest go to the index with Prometheus' PostingsForMatchers semantics;
 * series come back with the external labels added (they win over a series label of the same
 * name), sorted by their full label set.
 */
import type { ChunkMeta } from '../tsdb/index/format.js';
import type { Matcher } from '../tsdb/index/matchers.js';
import { compareLabels, compareStrings, type Label, type Labels } from '../tsdb/labels.js';
import type { StoreBlock } from './block.js';

export interface BlockSeries {
  /** Series labels with the block's external labels, sorted by name. */
  readonly labels: Labels;
  /** Chunks overlapping the request's time range, by min time. */
  readonly chunks: readonly ChunkMeta[];
}

/**
 * The matchers left for the index after deciding those on external labels; undefined when an
 * external label rejects the whole block.
 */
export function splitExternal(b: StoreBlock, matchers: readonly Matcher[]): Matcher[] | undefined {
  const rest: Matcher[] = [];
  for (const m of matchers) {
    const ext = b.extLabels.find((l) => l.name === m.name);
    if (ext === undefined) rest.push(m);
    else if (!m.matches(ext.value)) return undefined;
  }
  return rest;
}

/** Series IDs of the block matching `matchers` (all series when none are left after splitExternal). */
async function selectIds(b: StoreBlock, matchers: readonly Matcher[]): Promise<Uint32Array | undefined> {
  const rest = splitExternal(b, matchers);
  if (rest === undefined) return undefined;
  return rest.length === 0 ? b.index.allPostings() : b.index.select(rest);
}

/** Adds `ext` to `labels` (both sorted by name); ext wins on equal names. */
export function withExternal(labels: Labels, ext: Labels): Labels {
  if (ext.length === 0) return labels;
  const out: Label[] = [];
  let i = 0;
  let j = 0;
  while (i < labels.length || j < ext.length) {
    const a = labels[i];
    const e = ext[j];
    const c = a === undefined ? 1 : e === undefined ? -1 : compareStrings(a.name, e.name);
    if (c < 0) {
      out.push(a!);
      i++;
    } else {
      out.push(e!);
      j++;
      if (c === 0) i++;
    }
  }
  return out;
}

/** `labels` without the names in `without` (the request's without_replica_labels). */
export function withoutLabels(labels: Labels, without: ReadonlySet<string>): Labels {
  if (without.size === 0 || !labels.some((l) => without.has(l.name))) return labels;
  return labels.filter((l) => !without.has(l.name));
}

/**
 * Series of one block matching `matchers` with chunks overlapping [mint, maxt]; series without
 * such chunks are left out, also for skip_chunks requests (as Thanos and Prometheus' series API:
 * a series is in a range when one of its chunks is). Labels named in `without` are removed after
 * the external labels are added (Thanos' without_replica_labels), so series can become equal;
 * they stay adjacent and mergeBlockSeries combines them.
 */
export async function selectBlockSeries(
  b: StoreBlock,
  matchers: readonly Matcher[],
  mint: number,
  maxt: number,
  without: ReadonlySet<string> = new Set(),
): Promise<BlockSeries[]> {
  const ids = await selectIds(b, matchers);
  if (ids === undefined || ids.length === 0) return [];
  const entries = await b.index.seriesMany(ids);
  const out: BlockSeries[] = [];
  for (const s of entries) {
    const chunks = s.chunks.filter((c) => c.maxt >= mint && c.mint <= maxt);
    if (chunks.length === 0) continue;
    out.push({ labels: withoutLabels(withExternal(s.labels, b.extLabels), without), chunks });
  }
  // External labels (a label inserted after a prefix) and removed labels can reorder series.
  if (b.extLabels.length > 0 || without.size > 0) out.sort((x, y) => compareLabels(x.labels, y.labels));
  return out;
}

/**
 * Label names of series matching `matchers` in one block (external labels included), unsorted;
 * the caller removes the request's without_replica_labels.
 */
export async function blockLabelNames(
  b: StoreBlock,
  matchers: readonly Matcher[],
  into: Set<string>,
): Promise<void> {
  if (matchers.length === 0) {
    for (const n of b.index.labelNames()) into.add(n);
    for (const l of b.extLabels) into.add(l.name);
    return;
  }
  const ids = await selectIds(b, matchers);
  if (ids === undefined || ids.length === 0) return;
  for (const l of b.extLabels) into.add(l.name);
  for (const s of await b.index.seriesMany(ids)) for (const l of s.labels) into.add(l.name);
}

/** Values of label `name` on series matching `matchers` in one block, unsorted. */
export async function blockLabelValues(
  b: StoreBlock,
  name: string,
  matchers: readonly Matcher[],
  into: Set<string>,
): Promise<void> {
  const ext = b.extLabels.find((l) => l.name === name);
  if (matchers.length === 0) {
    if (ext !== undefined) into.add(ext.value);
    else for (const v of b.index.labelValues(name)) into.add(v);
    return;
  }
  const ids = await selectIds(b, matchers);
  if (ids === undefined || ids.length === 0) return;
  if (ext !== undefined) {
    into.add(ext.value);
    return;
  }
  for (const s of await b.index.seriesMany(ids)) {
    for (const l of s.labels) if (l.name === name && l.value !== '') into.add(l.value);
  }
}
