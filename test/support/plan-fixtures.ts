/** Compact PlanBlock builders for tests and benchmarks (planner, scheduler). */
import type { PlanBlock } from '../../src/plan/types.js';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Go's `ulid.MustNew(n, nil)`: time n ms, zero entropy. Orders like n. */
export function ulidOf(n: number, entropy = 0): string {
  let time = '';
  let t = n;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  let rand = '';
  let e = entropy;
  for (let i = 0; i < 16; i++) {
    rand = CROCKFORD[e % 32]! + rand;
    e = Math.floor(e / 32);
  }
  return time + rand;
}

export interface BlockSpec {
  /** ULID, or n for ulidOf(n). */
  readonly id: string | number;
  readonly min: number;
  readonly max: number;
  readonly level?: number;
  /** Source ULIDs (or numbers); default: the block itself. */
  readonly sources?: readonly (string | number)[];
  readonly tenant?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly resolution?: number;
  readonly noCompact?: boolean;
  readonly failed?: boolean;
  readonly indexSize?: number;
}

function id(x: string | number): string {
  return typeof x === 'number' ? ulidOf(x) : x;
}

export function mkBlock(spec: BlockSpec): PlanBlock {
  const ulid = id(spec.id);
  const b: PlanBlock = {
    ulid,
    minTime: spec.min,
    maxTime: spec.max,
    stats: { numSamples: 0, numSeries: 0, numChunks: 0, numTombstones: 0 },
    compaction: {
      level: spec.level ?? 1,
      sources: (spec.sources ?? [ulid]).map(id).sort(),
      ...(spec.failed ? { failed: true } : {}),
    },
    version: 1,
    thanos: {
      labels: { ...(spec.labels ?? {}) },
      downsample: { resolution: spec.resolution ?? 0 },
      source: 'test',
      ...(spec.indexSize !== undefined ? { files: [{ rel_path: 'index', size_bytes: spec.indexSize }] } : {}),
    },
    tenant: spec.tenant ?? '',
    noCompact: spec.noCompact ?? false,
  };
  return b;
}
