/**
 * Checking that blocks can be compacted together, and the output block's meta. Pure functions.
 */
import type { BlockMeta, BlockDesc } from '../meta.js';
import { compareStrings } from '../labels.js';
import type { DedupMode } from '../samples/dedup.js';
import { StrataError } from '../../util/errors.js';

export interface InputCheckOptions {
  dedup: DedupMode;
  replicaLabels: readonly string[];
}

export function withoutLabels(
  labels: Readonly<Record<string, string>>,
  drop: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(labels).sort(compareStrings)) if (!drop.includes(k)) out[k] = labels[k]!;
  return out;
}

function labelsKey(l: Readonly<Record<string, string>>): string {
  return JSON.stringify(
    Object.keys(l)
      .sort(compareStrings)
      .map((k) => [k, l[k]]),
  );
}

/**
 * Refuses inputs with different resolutions, or different external labels once the replica
 * labels are removed. Returns the output's external labels.
 */
export function checkCompatible(metas: readonly BlockMeta[], o: InputCheckOptions): Record<string, string> {
  if (metas.length === 0) throw new StrataError('ERR_INVALID_ARGUMENT', 'no input blocks');
  const seen = new Set<string>();
  for (const m of metas) {
    if (seen.has(m.ulid)) throw new StrataError('ERR_INVALID_ARGUMENT', `block ${m.ulid} given twice`);
    seen.add(m.ulid);
  }
  const first = metas[0]!;
  const res0 = first.thanos?.downsample.resolution ?? 0;
  const lab0 = withoutLabels(first.thanos?.labels ?? {}, o.replicaLabels);
  const key0 = labelsKey(lab0);
  for (const m of metas.slice(1)) {
    const res = m.thanos?.downsample.resolution ?? 0;
    if (res !== res0) {
      throw new StrataError(
        'ERR_COMPACT_INCOMPATIBLE',
        `block ${m.ulid} has resolution ${res} ms, block ${first.ulid} has ${res0} ms: blocks of different resolutions are never compacted together`,
      );
    }
    const lab = withoutLabels(m.thanos?.labels ?? {}, o.replicaLabels);
    if (labelsKey(lab) !== key0) {
      const hint = o.replicaLabels.length
        ? ` (replica labels ignored: ${o.replicaLabels.join(', ')})`
        : ' (pass --replica-label to merge HA replicas)';
      throw new StrataError(
        'ERR_COMPACT_INCOMPATIBLE',
        `block ${m.ulid} has external labels ${JSON.stringify(lab)}, block ${first.ulid} has ${JSON.stringify(lab0)}${hint}`,
      );
    }
  }
  return lab0;
}

/** True when some two inputs overlap in time (vertical compaction). */
export function overlapping(metas: readonly BlockMeta[]): boolean {
  const s = [...metas].sort((a, b) => a.minTime - b.minTime);
  for (let i = 1; i < s.length; i++) if (s[i]!.minTime < s[i - 1]!.maxTime) return true;
  return false;
}

export interface OutputMetaParts {
  minTime: number;
  maxTime: number;
  level: number;
  sources: string[];
  parents: BlockDesc[];
  resolution: number;
}

export function outputMetaParts(metas: readonly BlockMeta[]): OutputMetaParts {
  const sources = new Set<string>();
  for (const m of metas)
    for (const s of m.compaction.sources.length ? m.compaction.sources : [m.ulid]) sources.add(s);
  return {
    minTime: Math.min(...metas.map((m) => m.minTime)),
    maxTime: Math.max(...metas.map((m) => m.maxTime)),
    level: Math.max(...metas.map((m) => m.compaction.level)) + 1,
    sources: [...sources].sort(),
    parents: metas.map((m) => ({ ulid: m.ulid, minTime: m.minTime, maxTime: m.maxTime })),
    resolution: metas[0]?.thanos?.downsample.resolution ?? 0,
  };
}
