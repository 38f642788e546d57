/**
 * Metas found locally instead of in the bucket, for blocks the checkpoint does not name: records
 * of the meta journal (reads finished after the last checkpoint write), metas of the metas file
 * the checkpoint does not cover (an unreadable checkpoint, a checkpoint older than the file), and
 * the one-file-per-block cache (`<dir>/<tenant>/<ULID>.json`: written only when checkpoints are
 * off, otherwise read and pruned as left by earlier versions). A meta.json never changes once
 * uploaded, so any of these is as good as the object. Every operation is best effort.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, readdir, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { BlockMeta } from '../../tsdb/meta.js';
import { errorCode } from '../../util/errors.js';
import { isUlid } from '../../tsdb/ulid.js';
import type { MetaJournal } from './meta-journal.js';

/** Folder of the single-tenant layout's tenant (''); '@' is not allowed in tenant IDs. */
const SINGLE_TENANT_DIR = '@single';

/** meta.json bytes (journal, old cache files) or an already compacted meta (metas file). */
export type CachedMeta = Buffer | BlockMeta;

export class MetaCache {
  /** The per-block cache folder of earlier versions. */
  readonly dir: string;
  readonly #journal: MetaJournal | undefined;
  /** Tenant → block ID → local copy (taken out when read). */
  readonly #spare = new Map<string, Map<string, CachedMeta>>();
  /** Tenant folders made by write(). */
  readonly #made = new Set<string>();
  /** Tenants whose old cache folder was found missing: not looked at again. */
  readonly #noLegacy = new Set<string>();
  /** Names in the cache folder when ids() first looked (folders made later are in #made). */
  #folders: Promise<Set<string>> | undefined;
  /** Local copies read so far (hits and misses). */
  reads = 0;

  constructor(dir: string, journal?: MetaJournal) {
    this.dir = dir;
    this.#journal = journal;
  }

  tenantDir(tenant: string): string {
    return join(this.dir, tenant === '' ? SINGLE_TENANT_DIR : tenant);
  }

  path(tenant: string, id: string): string {
    return join(this.tenantDir(tenant), `${id}.json`);
  }

  /** Offers a local copy (journal record, metas file entry) for later lookups. */
  addSpare(tenant: string, id: string, m: CachedMeta): void {
    let t = this.#spare.get(tenant);
    if (t === undefined) this.#spare.set(tenant, (t = new Map()));
    t.set(id, m);
  }

  #take(tenant: string, id: string): CachedMeta | undefined {
    const t = this.#spare.get(tenant);
    const m = t?.get(id);
    if (m !== undefined) t!.delete(id);
    return m;
  }

  /** The local copy, or undefined when absent (any read error counts as absent). */
  async read(tenant: string, id: string): Promise<CachedMeta | undefined> {
    this.reads++;
    const m = this.#take(tenant, id);
    if (m !== undefined || this.#noLegacy.has(tenant)) return m;
    try {
      return await readFile(this.path(tenant, id));
    } catch {
      return undefined;
    }
  }

  /** Synchronous variant for bulk loads at start. */
  readSync(tenant: string, id: string): CachedMeta | undefined {
    this.reads++;
    const m = this.#take(tenant, id);
    if (m !== undefined || this.#noLegacy.has(tenant)) return m;
    try {
      return readFileSync(this.path(tenant, id));
    } catch {
      return undefined;
    }
  }

  /**
   * Keeps the bytes of a block just read from the bucket: in the journal, or without one (no
   * checkpoints, so nothing would ever trim a journal) as a file per block, as before.
   */
  write(tenant: string, id: string, bytes: Buffer): void {
    if (this.#journal !== undefined) {
      this.#journal.append(tenant, id, bytes);
      return;
    }
    try {
      if (!this.#made.has(tenant)) {
        mkdirSync(this.tenantDir(tenant), { recursive: true });
        this.#made.add(tenant);
        this.#noLegacy.delete(tenant);
      }
      writeFileSync(this.path(tenant, id), bytes);
    } catch {
      this.#made.delete(tenant); // best effort: the block is read from the bucket next time
    }
  }

  async remove(tenant: string, id: string): Promise<void> {
    this.#spare.get(tenant)?.delete(id);
    if (this.#noLegacy.has(tenant)) return;
    try {
      await unlink(this.path(tenant, id));
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') throw err;
    }
  }

  async removeTenant(tenant: string): Promise<void> {
    this.#spare.delete(tenant);
    this.#made.delete(tenant);
    await rm(this.tenantDir(tenant), { recursive: true, force: true });
  }

  /** Block IDs with a local copy (any order). */
  async ids(tenant: string): Promise<string[]> {
    const out = [...(this.#spare.get(tenant)?.keys() ?? [])];
    if (this.#noLegacy.has(tenant)) return out;
    // One listing of the cache folder instead of a failed read per tenant (a restart of a
    // hundred tenants queued a hundred of them in the thread pool).
    const folders = await (this.#folders ??= readdir(this.dir).then(
      (names) => new Set(names),
      () => new Set<string>(),
    ));
    const folder = this.tenantDir(tenant);
    if (!this.#made.has(tenant) && dirname(folder) === this.dir && !folders.has(basename(folder))) {
      this.#noLegacy.add(tenant);
      return out;
    }
    let names: string[];
    try {
      names = await readdir(folder);
    } catch {
      this.#noLegacy.add(tenant);
      return out;
    }
    for (const n of names) {
      if (n.length === 31 && n.endsWith('.json') && isUlid(n.slice(0, 26))) out.push(n.slice(0, 26));
    }
    return out;
  }
}
