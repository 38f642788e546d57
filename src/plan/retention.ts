/**
 * Retention per resolution (Thanos `--retention.resolution-raw|5m|1h`): a block is deleted once
 * `now > maxTime + retention` of its resolution. Unlike Thanos (thanos-io/thanos#7908), a block is
 * never deleted while a coarser resolution keeps data longer and that resolution's blocks do not
 * yet hold all its sources: it is held, reported, and downsampled first (downsample.ts plans it
 * whatever its span). A no-downsample mark lets retention delete it (it never will be).
 */
import { blockResolution } from '../tsdb/group-key.js';
import {
  coarserKeepsLonger,
  coarserResolution,
  DownsampleCoverage,
  retentionPassed,
  type RetentionPolicy,
} from './downsample.js';
import type { PlanBlock } from './types.js';

export interface RetentionOptions {
  readonly policy: RetentionPolicy;
  readonly nowMs: number;
  /** False with `--downsampling.disable`: nothing will ever cover a block, so nothing is held. */
  readonly downsampling: boolean;
  readonly noDownsample: (tenant: string, ulid: string) => boolean;
}

export interface RetentionResult {
  /** Past retention: to be marked for deletion. */
  readonly expired: readonly PlanBlock[];
  /** Past retention but held until the coarser resolution covers them. */
  readonly held: readonly PlanBlock[];
}

export function applyRetention(blocks: readonly PlanBlock[], o: RetentionOptions): RetentionResult {
  const expired: PlanBlock[] = [];
  const held: PlanBlock[] = [];
  let coverage: DownsampleCoverage | undefined;
  for (const b of blocks) {
    if (!retentionPassed(b, o.policy, o.nowMs)) continue;
    const res = blockResolution(b);
    const next = coarserResolution(res);
    if (
      o.downsampling &&
      next !== undefined &&
      coarserKeepsLonger(o.policy, res) &&
      !o.noDownsample(b.tenant, b.ulid) &&
      !(coverage ??= new DownsampleCoverage(blocks)).covers(b, next)
    ) {
      held.push(b);
      continue;
    }
    expired.push(b);
  }
  return { expired, held };
}
