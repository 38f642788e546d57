/** `strata bucket ls`: complete blocks of the bucket, one `<tenant>/<ULID>` (or `<ULID>`) a line. */
import { scanTenantBlocks } from '../block/scan.js';
import { InvalidArgumentError } from '../util/errors.js';
import { BufferedOut } from './output.js';
import { type BucketFlags, blockRef, targetTenants, withBucket } from './bucket-common.js';

export interface LsOptions extends BucketFlags {
  output: string;
}

export async function runBucketLs(o: LsOptions, stdout: NodeJS.WritableStream): Promise<void> {
  if (o.output !== 'text' && o.output !== 'json') {
    throw new InvalidArgumentError('--output must be text or json');
  }
  await withBucket(o, async (ctx) => {
    const out = new BufferedOut(stdout);
    const progress = ctx.progress();
    for (const tenant of await targetTenants(ctx)) {
      const scan = await scanTenantBlocks(ctx.bucket, ctx.layout, tenant, {
        onBlock: (d, n) => progress.update(`${tenant || 'bucket'}: read ${d}/${n} meta.json`),
      });
      progress.done();
      for (const b of scan.blocks) {
        if (o.output === 'json') {
          await out.write(
            JSON.stringify({
              tenant,
              ulid: b.id,
              minTime: b.meta.minTime,
              maxTime: b.meta.maxTime,
              level: b.meta.compaction.level,
              resolution: b.meta.thanos?.downsample.resolution ?? 0,
              labels: b.meta.thanos?.labels ?? {},
            }) + '\n',
          );
        } else {
          await out.write(blockRef(tenant, b.id) + '\n');
        }
      }
      if (scan.partials.length > 0) {
        ctx.logger.info('partial blocks not listed', { tenant, count: scan.partials.length });
      }
    }
    await out.flush();
  });
}
