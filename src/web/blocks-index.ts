/**
 * The Blocks APIs' view of a bucket, indexed once per refresh: per tenant, the metas sorted by
 * start time in flat arrays (times, level, resolution, marker flags, lane), sort orders built on
 * first use, so a filtered page is one pass over numbers and JSON of only the page's metas.
 */
import type { BlockMeta } from '../tsdb/meta.js';
import type { BlockMarker, DeletionMark, NoCompactMark, NoDownsampleMark } from '../tsdb/markers.js';
import type { BlockMarkers, FlagBits, PartialInfo, TimelineData, TimelineLane } from './blocks-types.js';
import { assignSubLanes, flagOverlaps } from './blocks-lanes.js';
import type { BlockFilter, BlockQuery, SortKey } from './blocks-query.js';
import { blockResolution } from '../tsdb/group-key.js';

/** One tenant as a BlockSource holds it (the single-tenant layout has one tenant, ''). */
export interface TenantBlocks {
  readonly metas: Iterable<BlockMeta>;
  readonly deletion: ReadonlyMap<string, DeletionMark>;
  readonly noCompact: ReadonlyMap<string, NoCompactMark>;
  readonly noDownsample?: ReadonlyMap<string, NoDownsampleMark>;
  readonly partial: readonly PartialInfo[];
}

export interface BlockSnapshot {
  readonly multiTenant: boolean;
  readonly refreshedAtMs: number;
  readonly tenants: ReadonlyMap<string, TenantBlocks>;
  /** The last refresh failed: the blocks are those of the refresh before. */
  readonly error?: string;
}

export const FLAGS: FlagBits = { deletion: 1, noCompact: 2, noDownsample: 4, overlap: 8 };
const {
  deletion: FLAG_DELETION,
  noCompact: FLAG_NO_COMPACT,
  noDownsample: FLAG_NO_DOWNSAMPLE,
  overlap: FLAG_OVERLAP,
} = FLAGS;

/** The external labels in a canonical order; `seen` maps each label set's JSON to it (few distinct sets). */
function labelsKey(m: BlockMeta, seen: Map<string, string>): string {
  const l = m.thanos?.labels;
  if (l === undefined) return '';
  const raw = JSON.stringify(l);
  let key = seen.get(raw);
  if (key === undefined) {
    key = JSON.stringify(
      Object.keys(l)
        .sort()
        .map((k) => [k, l[k]]),
    );
    seen.set(raw, key);
  }
  return key;
}

/** murmur3's finalizer: a well-mixed 32-bit hash of an integer. */
function mix32(x: number): number {
  let h = x ^ (x >>> 16);
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export interface Page {
  total: number;
  metas: BlockMeta[];
}

export class TenantIndex {
  readonly size: number;
  /** Sorted by (minTime, ulid). */
  readonly metas: readonly BlockMeta[];
  readonly minT: Float64Array;
  readonly maxT: Float64Array;
  readonly level: Int32Array;
  readonly res: Float64Array;
  readonly flags: Uint8Array;
  /** Index into `groups` (a (resolution, level) lane) and the sub-lane inside it. */
  readonly group: Int32Array;
  readonly subLane: Int32Array;
  readonly groups: { resolution: number; level: number; subLanes: number }[] = [];
  readonly partial: readonly PartialInfo[];
  readonly #pos = new Map<string, number>();
  readonly #orders = new Map<SortKey, Int32Array>();
  readonly #deletion: Map<string, DeletionMark>;
  readonly #noCompact: Map<string, NoCompactMark>;
  readonly #noDownsample: Map<string, NoDownsampleMark>;

  constructor(src: TenantBlocks) {
    const metas = [...src.metas].sort(
      (a, b) => a.minTime - b.minTime || (a.ulid < b.ulid ? -1 : a.ulid > b.ulid ? 1 : 0),
    );
    const n = metas.length;
    this.size = n;
    this.metas = metas;
    this.partial = src.partial;
    this.#deletion = new Map(src.deletion);
    this.#noCompact = new Map(src.noCompact);
    this.#noDownsample = new Map(src.noDownsample ?? []);
    this.minT = new Float64Array(n);
    this.maxT = new Float64Array(n);
    this.level = new Int32Array(n);
    this.res = new Float64Array(n);
    this.flags = new Uint8Array(n);
    this.group = new Int32Array(n);
    this.subLane = new Int32Array(n);
    const byLane = new Map<string, number[]>();
    const byCompactionGroup = new Map<string, number[]>();
    const seen = new Map<string, string>();
    for (let i = 0; i < n; i++) {
      const m = metas[i]!;
      this.#pos.set(m.ulid, i);
      this.minT[i] = m.minTime;
      this.maxT[i] = m.maxTime;
      this.level[i] = m.compaction.level;
      this.res[i] = blockResolution(m);
      this.flags[i] = this.#markerFlags(m.ulid);
      const lk = `${this.res[i]}/${this.level[i]}`;
      (byLane.get(lk) ?? byLane.set(lk, []).get(lk)!).push(i);
      const gk = `${this.res[i]}|${labelsKey(m, seen)}`;
      (byCompactionGroup.get(gk) ?? byCompactionGroup.set(gk, []).get(gk)!).push(i);
    }
    const laneKeys = [...byLane.values()].sort(
      (a, b) => this.res[a[0]!]! - this.res[b[0]!]! || this.level[a[0]!]! - this.level[b[0]!]!,
    );
    for (const members of laneKeys) {
      const g = this.groups.length;
      for (const i of members) this.group[i] = g;
      const subLanes = assignSubLanes(this, members, this.subLane);
      this.groups.push({ resolution: this.res[members[0]!]!, level: this.level[members[0]!]!, subLanes });
    }
    for (const members of byCompactionGroup.values()) flagOverlaps(this, members, this.flags, FLAG_OVERLAP);
  }

  #markerFlags(id: string): number {
    return (
      (this.#deletion.has(id) ? FLAG_DELETION : 0) |
      (this.#noCompact.has(id) ? FLAG_NO_COMPACT : 0) |
      (this.#noDownsample.has(id) ? FLAG_NO_DOWNSAMPLE : 0)
    );
  }

  get(id: string): BlockMeta | undefined {
    const i = this.#pos.get(id);
    return i === undefined ? undefined : this.metas[i];
  }

  markersOf(id: string): BlockMarkers | undefined {
    const d = this.#deletion.get(id);
    const nc = this.#noCompact.get(id);
    const nd = this.#noDownsample.get(id);
    if (d === undefined && nc === undefined && nd === undefined) return undefined;
    const out: BlockMarkers = {};
    if (d) out.deletion = { deletionTime: d.deletionTime, ...(d.details ? { details: d.details } : {}) };
    if (nc)
      out.noCompact = {
        noCompactTime: nc.noCompactTime,
        reason: nc.reason,
        ...(nc.details ? { details: nc.details } : {}),
      };
    if (nd)
      out.noDownsample = {
        noDownsampleTime: nd.noDownsampleTime,
        reason: nd.reason,
        ...(nd.details ? { details: nd.details } : {}),
      };
    return out;
  }

  /** A marker just written through the API: shown at once, before the next refresh has it. */
  applyMarker(m: BlockMarker): void {
    if (m.kind === 'deletion') this.#deletion.set(m.id, m);
    else if (m.kind === 'no-compact') this.#noCompact.set(m.id, m);
    else this.#noDownsample.set(m.id, m);
    const i = this.#pos.get(m.id);
    if (i !== undefined) this.flags[i] = (this.flags[i]! & FLAG_OVERLAP) | this.#markerFlags(m.id);
  }

  #order(key: SortKey): Int32Array | undefined {
    if (key === 'min_time') return undefined;
    let o = this.#orders.get(key);
    if (o === undefined) {
      const idx = Array.from({ length: this.size }, (_, i) => i);
      const ids = this.metas.map((m) => m.ulid);
      const cmp: (a: number, b: number) => number =
        key === 'max_time'
          ? (a, b) => this.maxT[a]! - this.maxT[b]! || a - b
          : key === 'level'
            ? (a, b) => this.level[a]! - this.level[b]! || a - b
            : (a, b) => (ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : 0);
      o = Int32Array.from(idx.sort(cmp));
      this.#orders.set(key, o);
    }
    return o;
  }

  /** A predicate over positions for the filter; undefined fields match everything. */
  matcher(f: BlockFilter): (i: number) => boolean {
    const { level, resolution, minTime, maxTime, labels, idPrefix } = f;
    return (i) => {
      if (level !== undefined && this.level[i] !== level) return false;
      if (resolution !== undefined && this.res[i] !== resolution) return false;
      if (minTime !== undefined && this.maxT[i]! <= minTime) return false;
      if (maxTime !== undefined && this.minT[i]! >= maxTime) return false;
      if (idPrefix !== undefined && !this.metas[i]!.ulid.startsWith(idPrefix)) return false;
      if (labels.length > 0) {
        const l = this.metas[i]!.thanos?.labels;
        if (l === undefined) return false;
        for (const [k, v] of labels) if (l[k] !== v) return false;
      }
      return true;
    };
  }

  /** The filtered, sorted page: one pass counting every match, keeping only the page's metas. */
  page(q: BlockQuery): Page {
    const match = this.matcher(q);
    const order = this.#order(q.sort);
    const n = this.size;
    const metas: BlockMeta[] = [];
    let total = 0;
    const end = q.offset + q.limit;
    for (let k = 0; k < n; k++) {
      const j = q.descending ? n - 1 - k : k;
      const i = order === undefined ? j : order[j]!;
      if (!match(i)) continue;
      if (total >= q.offset && total < end) metas.push(this.metas[i]!);
      total++;
    }
    return { total, metas };
  }

  /**
   * The timeline: lanes with whole counts; at most `limit` blocks, a spread sample when more
   * match (at the whole range's scale, a pixel holds many blocks; narrowing the range shows them
   * all). The sample keeps a block when a hash of its position falls under the fraction, not every
   * k-th block: blocks come in periodic patterns (one per source per 2h) that every k-th (or any
   * lattice sequence) would alias into a few sub-lanes or diagonals.
   */
  timeline(f: BlockFilter, limit: number, tenant: string, refreshedAt: string): TimelineData {
    const match = this.matcher(f);
    const hits: number[] = [];
    for (let i = 0; i < this.size; i++) if (match(i)) hits.push(i);
    const keep = Math.min(1, limit / Math.max(1, hits.length));
    const lanes: TimelineLane[] = this.groups.map((g) => ({ ...g, count: 0, blocks: [] }));
    let minTime = Infinity;
    let maxTime = -Infinity;
    for (const i of hits) {
      lanes[this.group[i]!]!.count++;
      if (this.minT[i]! < minTime) minTime = this.minT[i]!;
      if (this.maxT[i]! > maxTime) maxTime = this.maxT[i]!;
    }
    let listed = 0;
    for (let k = 0; k < hits.length && listed < limit; k++) {
      if (keep < 1 && mix32(k) / 4294967296 >= keep) continue;
      const i = hits[k]!;
      listed++;
      lanes[this.group[i]!]!.blocks.push([
        this.metas[i]!.ulid,
        this.minT[i]!,
        this.maxT[i]!,
        this.flags[i]!,
        this.subLane[i]!,
      ]);
    }
    const kept = lanes.filter((l) => l.count > 0);
    return {
      tenant,
      refreshedAt,
      minTime: hits.length === 0 ? 0 : minTime,
      maxTime: hits.length === 0 ? 0 : maxTime,
      total: hits.length,
      omitted: hits.length - listed,
      lanes: kept,
    };
  }
}

/** One snapshot of a source, with each tenant indexed on first use. */
export class BlocksView {
  readonly #indexes = new Map<string, TenantIndex>();

  constructor(readonly snapshot: BlockSnapshot) {}

  get refreshedAt(): string {
    return new Date(this.snapshot.refreshedAtMs).toISOString();
  }

  /** Indexes every tenant now (a process whose only job is the UI does it right after a refresh). */
  prepare(): void {
    for (const name of this.snapshot.tenants.keys()) this.tenant(name);
  }

  tenantNames(): string[] {
    return [...this.snapshot.tenants.keys()].sort();
  }

  tenant(name: string): TenantIndex | undefined {
    let idx = this.#indexes.get(name);
    if (idx === undefined) {
      const t = this.snapshot.tenants.get(name);
      if (t === undefined) return undefined;
      idx = new TenantIndex(t);
      this.#indexes.set(name, idx);
    }
    return idx;
  }
}
