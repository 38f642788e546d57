/**
 * When and how the metas file is written: new blocks appended before each checkpoint write, or a
 * full rewrite when the file cannot be trusted or is mostly dead records.
 */
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BlockMeta } from '../../tsdb/meta.js';
import { errorMessage } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import type { Interner } from './meta-read.js';
import {
  appendMetas,
  LEGACY_METAS_FILENAMES,
  MetasFileError,
  readMetasFile,
  rewriteMetasFile,
  type TableOf,
} from './metas-file.js';
import type { TenantState } from './tenant-state.js';

/** Dead records tolerated before a rewrite: max(live, this). */
const MIN_SLACK = 10_000;

export class MetasStore {
  readonly path: string;
  readonly #logger: Logger;
  readonly #onDamaged: () => void;
  /** The file on disk is missing or not a valid prefix of frames: the next write rewrites it. */
  #needsRewrite = true;
  #records = 0;
  #writes = 0;

  constructor(path: string, logger: Logger, onDamaged: () => void) {
    this.path = path;
    this.#logger = logger;
    this.#onDamaged = onDamaged;
  }

  /** Completed writes (appends and rewrites). */
  get writes(): number {
    return this.#writes;
  }

  /** Whether the next write rewrites the whole file. */
  get needsRewrite(): boolean {
    return this.#needsRewrite;
  }

  /**
   * The metas in the file, by tenant. A damaged file is logged (coded warning) and what was
   * verified before the damage is still returned; the file is rewritten at the next write.
   */
  async load(interner: Interner, tableOf?: TableOf): Promise<Map<string, Map<string, BlockMeta>>> {
    // An earlier version's file is not read: its blocks come from the meta cache or the bucket once.
    for (const name of LEGACY_METAS_FILENAMES) await rm(join(dirname(this.path), name), { force: true });
    try {
      const got = await readMetasFile(this.path, interner, tableOf);
      if (got === undefined) return new Map();
      this.#records = got.records;
      this.#needsRewrite = false;
      return got.tenants;
    } catch (err) {
      if (!(err instanceof MetasFileError)) throw err;
      this.#onDamaged();
      this.#logger.warn('discarding the damaged part of the metas file; those blocks are read again', {
        code: err.code,
        path: this.path,
        kept_blocks: err.partial.records,
        err: err.message,
      });
      return err.partial.tenants;
    }
  }

  /**
   * Takes, synchronously (one consistent state), what the next write stores, and returns the
   * write. Called with the checkpoint snapshot; the write runs before the checkpoint's.
   */
  prepare(states: ReadonlyMap<string, TenantState>): () => Promise<void> {
    let live = 0;
    const fresh = new Map<string, BlockMeta[]>();
    let freshCount = 0;
    for (const [name, st] of states) {
      live += st.metas.size;
      const got = st.takeFresh();
      if (got.length > 0) {
        fresh.set(name, got);
        freshCount += got.length;
      }
    }
    const rewrite = this.#needsRewrite || this.#records + freshCount > 2 * Math.max(live, MIN_SLACK);
    if (rewrite) {
      const source = [...states].map(([name, st]) => [name, st.metas.values()] as const);
      return async () => {
        this.#needsRewrite = true;
        try {
          if (live === 0) {
            // No known block, no file (a fresh data dir holds only the checkpoint); the first
            // block rewrites it, header included.
            await rm(this.path, { force: true });
            this.#records = 0;
            return;
          }
          this.#records = await rewriteMetasFile(this.path, source);
          this.#needsRewrite = false;
          this.#writes++;
        } catch (err) {
          this.#logger.warn('rewriting the metas file failed; a restart reads those blocks again', {
            path: this.path,
            err: errorMessage(err),
          });
        }
      };
    }
    if (freshCount === 0) return () => Promise.resolve();
    return async () => {
      if (this.#needsRewrite) return; // a rewrite is due anyway and will include these
      try {
        await appendMetas(this.path, fresh);
        this.#records += freshCount;
        this.#writes++;
      } catch (err) {
        // A torn append leaves a damaged tail: never append after it.
        this.#needsRewrite = true;
        this.#logger.warn('appending to the metas file failed; it will be rewritten', {
          path: this.path,
          err: errorMessage(err),
        });
      }
    };
  }
}
