/** `strata bucket mark`: writes deletion, no-compact or no-downsample marks (and tenant copies). */
import { markForDeletion } from '../block/delete.js';
import type { MarkerKind } from '../tsdb/markers.js';
import { type WriteMarkerOutcome, markNoCompact, markNoDownsample } from '../block/markers.js';
import { NO_COMPACT_REASONS, isNoCompactReason } from '../tsdb/markers.js';
import { isUlid } from '../tsdb/ulid.js';
import { InvalidArgumentError, StrataError } from '../util/errors.js';
import { type BucketFlags, blockRef, requireTenant, withBucket } from './bucket-common.js';

export interface MarkCliOptions extends BucketFlags {
  id: string[];
  marker: string;
  details: string;
  reason: string;
}

const KINDS: readonly MarkerKind[] = ['deletion', 'no-compact', 'no-downsample'];

export async function runBucketMark(
  o: MarkCliOptions,
  stdout: NodeJS.WritableStream,
  nowMs = Date.now(),
): Promise<void> {
  const kind = o.marker as MarkerKind;
  if (!KINDS.includes(kind)) throw new InvalidArgumentError(`--marker must be one of ${KINDS.join(', ')}`);
  if (o.id.length === 0) throw new InvalidArgumentError('--id is required');
  for (const id of o.id)
    if (!isUlid(id)) throw new InvalidArgumentError(`not a block ULID: ${JSON.stringify(id)}`);
  if (!isNoCompactReason(o.reason)) {
    throw new InvalidArgumentError(`--reason must be one of ${NO_COMPACT_REASONS.join(', ')}`);
  }
  const reason = o.reason;
  await withBucket(o, async (ctx) => {
    const tenant = requireTenant(ctx);
    for (const id of o.id) {
      // Every kind requires the block, so a typo in --id cannot leave a stray marker behind.
      if (!(await ctx.bucket.exists(ctx.layout.metaKey(tenant, id)))) {
        throw new StrataError('ERR_NOT_FOUND', `block ${blockRef(tenant, id)} not found (no meta.json)`);
      }
      let outcome: WriteMarkerOutcome;
      const opts = { logger: ctx.logger };
      if (kind === 'deletion') {
        outcome = await markForDeletion(ctx.bucket, ctx.layout, tenant, id, o.details, nowMs, opts);
      } else if (kind === 'no-compact') {
        outcome = await markNoCompact(ctx.bucket, ctx.layout, tenant, id, reason, o.details, nowMs, opts);
      } else {
        outcome = await markNoDownsample(ctx.bucket, ctx.layout, tenant, id, reason, o.details, nowMs, opts);
      }
      stdout.write(
        `${outcome === 'written' ? 'marked' : 'already marked'} ${blockRef(tenant, id)} ${kind}\n`,
      );
    }
  });
}
