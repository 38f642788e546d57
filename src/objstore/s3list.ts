/**
 * ListObjectsV2 as a Bucket listing: url-encoded keys (so any byte survives the XML), one page
 * at a time, each page's objects and common prefixes merged into one byte-ordered run.
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { InvalidArgumentError } from '../util/errors.js';
import { compareKeys, type IterEntry, type IterOptions } from './bucket.js';

export interface ListContext {
  readonly bucket: string;
  /** MaxKeys per request (1..1000). */
  readonly pageSize: number;
  call<T>(op: string, key: string | undefined, fn: (client: S3Client) => Promise<T>): Promise<T>;
}

/** url-encoded listing keys ('+' is a space, as AWS encodes them). */
function decodeListingKey(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, ' '));
}

export async function* listObjects(
  ctx: ListContext,
  prefix: string,
  options: IterOptions = {},
): AsyncGenerator<IterEntry> {
  if (prefix.startsWith('/'))
    throw new InvalidArgumentError(`iter: prefix must not start with '/': ${prefix}`);
  const recursive = options.recursive ?? false;
  let token: string | undefined;
  do {
    const res = await ctx.call('iter', prefix, (c) =>
      c.send(
        new ListObjectsV2Command({
          Bucket: ctx.bucket,
          Prefix: prefix === '' ? undefined : prefix,
          Delimiter: recursive ? undefined : '/',
          StartAfter: options.startAfter,
          ContinuationToken: token,
          MaxKeys: ctx.pageSize,
          EncodingType: 'url',
        }),
      ),
    );
    const page: IterEntry[] = [];
    for (const o of res.Contents ?? []) {
      if (o.Key === undefined) continue;
      page.push({
        key: decodeListingKey(o.Key),
        size: o.Size ?? 0,
        lastModified: o.LastModified ?? new Date(0),
      });
    }
    for (const p of res.CommonPrefixes ?? []) {
      if (p.Prefix !== undefined) page.push({ key: decodeListingKey(p.Prefix) });
    }
    // Each page holds two sorted lists; pages follow each other in key order.
    page.sort((a, b) => compareKeys(a.key, b.key));
    yield* page;
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token !== undefined);
}
