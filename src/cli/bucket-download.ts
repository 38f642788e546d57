/** `strata bucket download ULID DIR`: downloads one block into DIR/<ULID>. */
import { join } from 'node:path';
import { downloadBlock } from '../block/download.js';
import { isUlid } from '../tsdb/ulid.js';
import { InvalidArgumentError } from '../util/errors.js';
import { prepareDir } from '../util/dirs.js';
import { formatBytes } from './output.js';
import { type BucketFlags, blockRef, requireTenant, withBucket } from './bucket-common.js';

export interface DownloadCliOptions extends BucketFlags {
  overwrite: boolean;
  concurrency: number;
}

export async function runBucketDownload(
  id: string,
  dir: string,
  o: DownloadCliOptions,
  stdout: NodeJS.WritableStream,
): Promise<void> {
  if (!isUlid(id)) throw new InvalidArgumentError(`not a block ULID: ${JSON.stringify(id)}`);
  await prepareDir(dir, 'DIR');
  await withBucket(o, async (ctx) => {
    const tenant = requireTenant(ctx);
    const progress = ctx.progress();
    const r = await downloadBlock(ctx.bucket, ctx.layout, tenant, id, join(dir, id), {
      overwrite: o.overwrite,
      concurrency: o.concurrency,
      logger: ctx.logger,
      onProgress: (p) =>
        progress.update(`${p.blockId} ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}`),
    });
    progress.done();
    stdout.write(
      `downloaded ${blockRef(tenant, id)} to ${r.dir} (${r.files} files, ${formatBytes(r.bytes)})\n`,
    );
  });
}
