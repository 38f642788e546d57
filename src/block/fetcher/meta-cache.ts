/**
 * Local copies of meta.json, one file per block: `<dir>/<tenant>/<ULID>.json`. meta.json never
 * changes once uploaded, so a cached copy is as good as the object and a restart reads the bucket
 * only for blocks it has never seen. Writes are not atomic on purpose: a torn file fails to parse
 * and is fetched again, which is cheaper than a rename per block. Every operation is best effort.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorCode } from '../../util/errors.js';
import { isUlid } from '../../tsdb/ulid.js';

/** Folder of the single-tenant layout's tenant (''); '@' is not allowed in tenant IDs. */
const SINGLE_TENANT_DIR = '@single';

export class MetaCache {
  readonly dir: string;
  #made = new Set<string>();
  /** Cached files read so far (hits and misses). */
  reads = 0;

  constructor(dir: string) {
    this.dir = dir;
  }

  tenantDir(tenant: string): string {
    return join(this.dir, tenant === '' ? SINGLE_TENANT_DIR : tenant);
  }

  path(tenant: string, id: string): string {
    return join(this.tenantDir(tenant), `${id}.json`);
  }

  /** The cached bytes, or undefined when absent (any read error counts as absent). */
  async read(tenant: string, id: string): Promise<Buffer | undefined> {
    this.reads++;
    try {
      return await readFile(this.path(tenant, id));
    } catch {
      return undefined;
    }
  }

  /** Synchronous variant for bulk loads at start, where a thread-pool hop per small file costs more. */
  readSync(tenant: string, id: string): Buffer | undefined {
    this.reads++;
    try {
      return readFileSync(this.path(tenant, id));
    } catch {
      return undefined;
    }
  }

  async write(tenant: string, id: string, bytes: Buffer): Promise<void> {
    const d = this.tenantDir(tenant);
    if (!this.#made.has(d)) {
      await mkdir(d, { recursive: true });
      this.#made.add(d);
    }
    try {
      await writeFile(this.path(tenant, id), bytes);
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') throw err;
      // The folder went away underneath us (tenant removed): make it again once.
      await mkdir(d, { recursive: true });
      await writeFile(this.path(tenant, id), bytes);
    }
  }

  async remove(tenant: string, id: string): Promise<void> {
    try {
      await unlink(this.path(tenant, id));
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') throw err;
    }
  }

  async removeTenant(tenant: string): Promise<void> {
    this.#made.delete(this.tenantDir(tenant));
    await rm(this.tenantDir(tenant), { recursive: true, force: true });
  }

  /** Block IDs with a cached file (any order). */
  async ids(tenant: string): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.tenantDir(tenant));
    } catch {
      return [];
    }
    return idsOf(names);
  }

  idsSync(tenant: string): string[] {
    try {
      return idsOf(readdirSync(this.tenantDir(tenant)));
    } catch {
      return [];
    }
  }
}

function idsOf(names: string[]): string[] {
  const out: string[] = [];
  for (const n of names) {
    if (n.length === 31 && n.endsWith('.json') && isUlid(n.slice(0, 26))) out.push(n.slice(0, 26));
  }
  return out;
}
