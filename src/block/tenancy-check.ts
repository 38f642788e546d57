/**
 * Messages that say why a bucket does not fit the layout Strata was told to use: tenant folder
 * names Cortex/Mimir would refuse, and `--tenancy` set to the other layout than the bucket's.
 */
import type { Bucket } from '../objstore/bucket.js';
import { META_FILENAME } from '../tsdb/meta.js';
import { isUlid } from '../tsdb/ulid.js';
import { InvalidArgumentError } from '../util/errors.js';
import { type Tenancy, isReservedTopLevelName, isValidTenantId } from './layout.js';

/** Cortex/Mimir's rule (tenant.ValidTenantID plus the names they reserve), in words. */
export const TENANT_ID_RULES =
  `tenant IDs are 1 to 150 characters out of A-Z a-z 0-9 ! - _ . * ' ( ), ` +
  `not "." or ".." or a reserved __name__`;

const ALLOWED = /^[A-Za-z0-9!\-_.*'()]$/;

/** Why `name` is not a tenant ID, or undefined when it is one. */
export function tenantIdProblem(name: string): string | undefined {
  if (isValidTenantId(name) && !isReservedTopLevelName(name)) return undefined;
  if (name === '') return 'empty';
  if (name === '.' || name === '..') return `"${name}" is not allowed`;
  let pos = 0;
  for (const ch of name) {
    if (!ALLOWED.test(ch)) return `character ${JSON.stringify(ch)} at position ${pos + 1} is not allowed`;
    pos++;
  }
  if (pos > 150) return `${pos} characters, at most 150 are allowed`;
  return 'reserved name';
}

/** `invalid tenant ID "a b": character " " at position 2 is not allowed (tenant IDs are ...)`. */
export function invalidTenantIdMessage(name: string): string {
  const why = tenantIdProblem(name) ?? 'not allowed';
  return `invalid tenant ID ${JSON.stringify(name)}: ${why} (${TENANT_ID_RULES})`;
}

/** Why a top-level key of a multi-tenant bucket is skipped (the fetcher's garbage-key detail). */
export function rootKeyProblem(key: string): string {
  if (!key.endsWith('/')) return 'a file at the bucket root, not a tenant folder';
  return invalidTenantIdMessage(key.slice(0, -1));
}

async function firstBlockFolder(bucket: Bucket, prefix: string): Promise<string | undefined> {
  for await (const e of bucket.iter(prefix)) {
    if (e.key.endsWith('/') && isUlid(e.key.slice(prefix.length, -1))) return e.key;
  }
  return undefined;
}

/** Folders at the bucket root that look like tenants holding blocks (Cortex/Mimir), up to 3. */
async function tenantFolders(bucket: Bucket): Promise<string[] | undefined> {
  const candidates: string[] = [];
  for await (const e of bucket.iter('')) {
    if (!e.key.endsWith('/')) continue;
    const name = e.key.slice(0, -1);
    if (isUlid(name)) return undefined; // a block at the root: the Thanos layout
    if (isValidTenantId(name) && !isReservedTopLevelName(name) && name !== 'debug') candidates.push(name);
  }
  const withBlocks: string[] = [];
  for (const t of candidates.slice(0, 3)) {
    if ((await firstBlockFolder(bucket, `${t}/`)) !== undefined) withBlocks.push(t);
  }
  return withBlocks;
}

/** A block folder (`<ULID>/meta.json`) at the bucket root, checking at most 3 ULID-named folders. */
async function rootBlock(bucket: Bucket): Promise<string | undefined> {
  let checked = 0;
  for await (const e of bucket.iter('')) {
    if (!e.key.endsWith('/')) continue;
    const name = e.key.slice(0, -1);
    if (!isUlid(name)) {
      if (isValidTenantId(name) && !isReservedTopLevelName(name)) return undefined; // a tenant
      continue;
    }
    if (await bucket.exists(`${name}/${META_FILENAME}`)) return name;
    if (++checked >= 3) return undefined;
  }
  return undefined;
}

/**
 * Throws ERR_INVALID_ARGUMENT when the bucket has the other layout: with `single`, tenant folders
 * holding blocks and no block at the root; with `multi`, blocks at the root. An empty or mixed
 * bucket passes. Costs a listing of the root (stopping early) and a few small requests.
 */
export async function checkTenancy(bucket: Bucket, tenancy: Tenancy): Promise<void> {
  if (tenancy === 'single') {
    const tenants = await tenantFolders(bucket);
    if (tenants !== undefined && tenants.length > 0) {
      throw new InvalidArgumentError(
        `--tenancy single, but the bucket has the Cortex/Mimir layout: its blocks are in tenant folders ` +
          `(${tenants.map((t) => `${t}/`).join(', ')}), none at its root; use --tenancy multi`,
      );
    }
    return;
  }
  const block = await rootBlock(bucket);
  if (block !== undefined) {
    throw new InvalidArgumentError(
      `--tenancy multi, but the bucket has the Thanos layout: block ${block}/ is at its root, ` +
        `not in a tenant folder; use --tenancy single`,
    );
  }
}
