/** `strata bucket upload DIR...`: uploads local blocks (chunks, index, meta.json last). */
import { uploadBlock } from '../block/upload.js';
import { StrataError } from '../util/errors.js';
import { blockDirsOf } from './paths.js';
import { formatBytes } from './output.js';
import { type BucketFlags, blockRef, requireTenant, withBucket } from './bucket-common.js';

export interface UploadCliOptions extends BucketFlags {
  label: Record<string, string>;
  requireLabels: boolean;
  concurrency: number;
}

export async function runBucketUpload(
  dirs: readonly string[],
  o: UploadCliOptions,
  stdout: NodeJS.WritableStream,
): Promise<void> {
  const blockDirs = await blockDirsOf(dirs);
  if (blockDirs.length === 0) throw new StrataError('ERR_NOT_FOUND', `no blocks in ${dirs.join(', ')}`);
  await withBucket(o, async (ctx) => {
    const tenant = requireTenant(ctx);
    const progress = ctx.progress();
    for (const [i, dir] of blockDirs.entries()) {
      const r = await uploadBlock(ctx.bucket, ctx.layout, tenant, dir, {
        concurrency: o.concurrency,
        requireExternalLabels: o.requireLabels,
        externalLabels: o.label,
        logger: ctx.logger,
        onProgress: (p) =>
          progress.update(
            `[${i + 1}/${blockDirs.length}] ${p.blockId} ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}`,
          ),
      });
      progress.done();
      stdout.write(`uploaded ${blockRef(tenant, r.id)} (${r.files} files, ${formatBytes(r.bytes)})\n`);
    }
  });
}
