/** `strata bucket index write|show`: the per-tenant bucket index (Cortex bucket-index.json.gz). */
import { formatBucketIndex, readBucketIndex, updateBucketIndex } from '../block/bucket-index.js';
import { StrataError } from '../util/errors.js';
import { type BucketFlags, targetTenants, withBucket } from './bucket-common.js';

export async function runBucketIndexWrite(
  o: BucketFlags,
  stdout: NodeJS.WritableStream,
  nowMs: () => number = Date.now,
): Promise<void> {
  await withBucket(o, async (ctx) => {
    const progress = ctx.progress();
    for (const tenant of await targetTenants(ctx)) {
      progress.update(`${tenant || 'bucket'}: building bucket index`);
      const b = await updateBucketIndex(ctx.bucket, ctx.layout, tenant, {
        nowMs: nowMs(),
        logger: ctx.logger,
      });
      progress.done();
      const parts = [
        `${b.index.blocks.length} blocks`,
        `${b.index.blockDeletionMarks.length} deletion marks`,
      ];
      if (b.partials.length > 0) parts.push(`${b.partials.length} partial blocks skipped`);
      if (b.invalidMarkers.length > 0) parts.push(`${b.invalidMarkers.length} unparsable markers skipped`);
      stdout.write(`wrote ${ctx.layout.bucketIndexKey(tenant)}: ${parts.join(', ')}\n`);
    }
  });
}

/** Prints each tenant's index as indented JSON in the stored (Cortex) field names. */
export async function runBucketIndexShow(o: BucketFlags, stdout: NodeJS.WritableStream): Promise<void> {
  await withBucket(o, async (ctx) => {
    const tenants = await targetTenants(ctx);
    const missing: string[] = [];
    for (const tenant of tenants) {
      const idx = await readBucketIndex(ctx.bucket, ctx.layout, tenant);
      if (idx === undefined) {
        missing.push(tenant);
        continue;
      }
      const body: unknown = JSON.parse(formatBucketIndex(idx));
      const doc = ctx.layout.tenancy === 'multi' ? { tenant, index: body } : body;
      stdout.write(JSON.stringify(doc, null, 2) + '\n');
    }
    // None at all is the error (one line); some missing among several tenants is a warning each.
    if (missing.length === tenants.length) {
      const where = tenants.filter((t) => t !== '').join(', ');
      throw new StrataError('ERR_NOT_FOUND', `no bucket index found${where ? ` (tenants: ${where})` : ''}`);
    }
    for (const tenant of missing) ctx.logger.warn('no bucket index', { tenant });
  });
}
