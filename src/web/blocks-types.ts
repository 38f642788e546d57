/**
 * The JSON shapes of the Blocks page's APIs, shared by the server (src/web/blocks-*.ts) and the
 * browser (src/web/ui/pages/blocks*.ts). Types only: the browser build compiles this file too.
 */

/** meta.json as Thanos writes it (the fields the UI reads; the server sends the whole object). */
export interface MetaJson {
  ulid: string;
  minTime: number;
  maxTime: number;
  version: number;
  stats?: { numSeries?: number; numSamples?: number; numChunks?: number; numTombstones?: number };
  compaction: {
    level: number;
    sources?: string[];
    parents?: { ulid: string; minTime: number; maxTime: number }[];
  };
  thanos?: {
    labels?: Record<string, string>;
    downsample?: { resolution: number };
    source?: string;
    files?: { rel_path: string; size_bytes?: number }[];
  };
}

/** The markers of one block, beside (not inside) its meta.json. */
export interface BlockMarkers {
  deletion?: { deletionTime: number; details?: string };
  noCompact?: { noCompactTime: number; reason: string; details?: string };
  noDownsample?: { noDownsampleTime: number; reason: string; details?: string };
}

/** `GET /api/v1/blocks`: Thanos' `data` (blocks, label, err, refreshedAt) plus Strata's paging and markers. */
export interface BlocksData {
  blocks: MetaJson[];
  label: string;
  err: string | null;
  refreshedAt: string;
  tenant: string;
  /** Blocks matching the filters (the page is `blocks`, from `offset`, at most `limit`). */
  total: number;
  offset: number;
  limit: number;
  /** Markers of the blocks of this page, by ULID (blocks without markers are absent). */
  markers: Record<string, BlockMarkers>;
}

export interface ApiSuccess<T> {
  status: 'success';
  data: T;
}

/**
 * Flag bits of a timeline block. A type, not constants (this file has no runtime code): each side
 * writes `const F: FlagBits = {...}` and the compiler holds both to these values.
 */
export interface FlagBits {
  deletion: 1;
  noCompact: 2;
  noDownsample: 4;
  /** Overlaps another block of its compaction group (same resolution and external labels). */
  overlap: 8;
}

/** One block on the timeline: [ulid, minTime, maxTime, flags, sub-lane index]. */
export type TimelineBlock = [string, number, number, number, number];

/** Blocks of one (resolution, level) group, in non-overlapping sub-lanes. */
export interface TimelineLane {
  resolution: number;
  level: number;
  /** Sub-lanes: no two blocks of one sub-lane overlap in time. */
  subLanes: number;
  /** Blocks of this group matching the filters (all of them, shown or not). */
  count: number;
  blocks: TimelineBlock[];
}

/** `GET /api/v1/strata/blocks/timeline`. */
export interface TimelineData {
  tenant: string;
  refreshedAt: string;
  /** Time range of all matching blocks (0, 0 when none). */
  minTime: number;
  maxTime: number;
  total: number;
  /** Blocks left out of `lanes[].blocks` (over `limit`): counts stay whole. */
  omitted: number;
  lanes: TimelineLane[];
}

/** A ULID folder without a usable meta.json. */
export interface PartialInfo {
  id: string;
  reason: string;
  detail: string;
  firstSeen: string;
}

/** `GET /api/v1/strata/tenants`. */
export interface TenantsData {
  multiTenant: boolean;
  tenants: { name: string; blocks: number; partial: number }[];
  refreshedAt: string;
}
