/**
 * The compacted metas of every known block in one file beside the checkpoint
 * (`<cacheDir>/metas.bin`, format in metas-codec.ts), so a restart needs no read per block.
 *
 * Written with the checkpoint: each checkpoint write first appends frames with the blocks
 * learnt since the previous write; the whole file is rewritten (temp, fsync, rename) when it has
 * no trustworthy state (missing, damaged, a failed append) or holds more than twice the live
 * blocks (dropped blocks are never erased in place). A block's meta.json never changes, so a
 * stale or extra entry cannot give a wrong answer: the checkpoint says which blocks are known,
 * and known blocks missing here are read from the meta cache as before.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { writeAtomically } from '../../util/atomic-file.js';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { crc32c } from '../../tsdb/encoding/crc32c.js';
import type { BlockMeta } from '../../tsdb/meta.js';
import { errorCode, errorMessage, StrataError } from '../../util/errors.js';
import type { Interner } from './meta-read.js';
import { MetaTable } from './meta-table.js';
import { decodeFrame } from './metas-decode.js';
import {
  encodeFrame,
  FRAME_HEADER_LEN,
  METAS_HEADER_LEN,
  METAS_MAGIC,
  METAS_VERSION,
  metasHeader,
} from './metas-codec.js';

export const METAS_FILENAME = 'metas.bin';
/** Earlier names of the file (version 1): removed at load, their blocks are read again once. */
export const LEGACY_METAS_FILENAMES: readonly string[] = ['metas.v1.bin'];
/** Blocks per frame: bounds the memory of one encode or decode and the loop stall. */
const FRAME_BLOCKS = 8192;

/** The file is damaged; what was verified before the damage is in `partial`. */
export class MetasFileError extends StrataError {
  readonly partial: LoadedMetas;
  constructor(message: string, partial: LoadedMetas, options?: { cause?: unknown }) {
    super('ERR_FETCHER_BAD_METAS_FILE', message, options);
    this.partial = partial;
  }
}

export interface LoadedMetas {
  /** Tenant → block ID → meta (the last record of a block wins). */
  readonly tenants: Map<string, Map<string, BlockMeta>>;
  /** Records in the file (live or not). */
  readonly records: number;
}

/** The meta table of a tenant, where its loaded metas of the usual shape become rows. */
export type TableOf = (tenant: string) => MetaTable;

/**
 * Reads and verifies the file a frame at a time (memory: one frame, not the file); undefined when
 * there is none. Damage throws MetasFileError carrying the frames verified before it. Metas of the
 * usual shape are rows of `tableOf(tenant)` (a new table per tenant when not given).
 */
export async function readMetasFile(
  path: string,
  interner: Interner,
  tableOf: TableOf = newTables(),
): Promise<LoadedMetas | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  const tenants = new Map<string, Map<string, BlockMeta>>();
  let records = 0;
  const fail = (detail: string, cause?: unknown): never => {
    throw new MetasFileError(`metas file ${path}: ${detail}`, { tenants, records }, { cause });
  };
  let lastTenant: string | undefined;
  let last: Map<string, BlockMeta> | undefined;
  const add = (tenant: string, meta: BlockMeta): void => {
    if (tenant !== lastTenant) {
      last = tenants.get(tenant);
      if (last === undefined) tenants.set(tenant, (last = new Map()));
      lastTenant = tenant;
    }
    last!.set(meta.ulid, meta);
    records++;
  };
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(METAS_HEADER_LEN);
    const got = size < METAS_HEADER_LEN ? 0 : (await fh.read(head, 0, METAS_HEADER_LEN, 0)).bytesRead;
    if (got < METAS_HEADER_LEN || !head.subarray(0, 8).equals(METAS_MAGIC)) fail('bad magic');
    const version = head.readUInt32LE(8);
    if (version !== METAS_VERSION) fail(`unsupported version ${version}`);
    let off = METAS_HEADER_LEN;
    let buf = Buffer.allocUnsafe(1 << 20);
    const frameTenants: string[] = [];
    const frameMetas: BlockMeta[] = [];
    let inFrame = 0;
    const stage = (t: string, m: BlockMeta): void => {
      frameTenants[inFrame] = t;
      frameMetas[inFrame++] = m;
    };
    while (off < size) {
      if (off + FRAME_HEADER_LEN > size) fail(`truncated frame header at offset ${off}`);
      await fh.read(head, 0, FRAME_HEADER_LEN, off);
      const len = head.readUInt32LE(0);
      const crc = head.readUInt32LE(4);
      const start = off + FRAME_HEADER_LEN;
      if (start + len > size) fail(`truncated frame at offset ${off} (${len} bytes announced)`);
      if (buf.length < len) buf = Buffer.allocUnsafe(len);
      const { bytesRead } = await fh.read(buf, 0, len, start);
      if (bytesRead !== len) fail(`short read in the frame at offset ${off}`);
      const payload = buf.subarray(0, len);
      if (crc32c(payload) !== crc) fail(`checksum mismatch in the frame at offset ${off}`);
      // A frame counts whole or not at all: its metas are staged and added once it decoded. The
      // two arrays are reused across frames, never shrunk (a shrunk array regrows as garbage).
      inFrame = 0;
      try {
        decodeFrame(payload, interner, tableOf, stage);
      } catch (err) {
        fail(`frame at offset ${off}: ${errorMessage(err)}`, err);
      }
      for (let i = 0; i < inFrame; i++) add(frameTenants[i]!, frameMetas[i]!);
      off = start + len;
    }
  } finally {
    await fh.close();
  }
  return { tenants, records };
}

function frameBytes(tenants: ReadonlyMap<string, readonly BlockMeta[]>): Buffer {
  const payload = encodeFrame(tenants);
  const head = Buffer.alloc(FRAME_HEADER_LEN);
  head.writeUInt32LE(payload.length, 0);
  head.writeUInt32LE(crc32c(payload), 4);
  return Buffer.concat([head, payload]);
}

/**
 * Appends the metas to an existing, valid file (a cold sync learns hundreds of thousands between
 * two checkpoint writes: they go in frames of FRAME_BLOCKS, not one frame a later restart reads
 * into one buffer of its size).
 */
export async function appendMetas(
  path: string,
  tenants: ReadonlyMap<string, readonly BlockMeta[]>,
): Promise<void> {
  const fh = await open(path, 'a');
  try {
    await writeFrames(fh, tenants);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Rewrites the whole file from `source` (tenant → metas; iterated lazily, a frame at a time, with
 * a yield between frames so a million blocks do not stall the event loop). Returns the records.
 */
export async function rewriteMetasFile(
  path: string,
  source: Iterable<readonly [string, Iterable<BlockMeta>]>,
): Promise<number> {
  return writeAtomically(path, async (fh) => {
    await fh.write(metasHeader());
    return writeFrames(fh, source);
  });
}

/** Writes `source` as frames of at most FRAME_BLOCKS blocks, yielding between them; the records. */
async function writeFrames(
  fh: FileHandle,
  source: Iterable<readonly [string, Iterable<BlockMeta>]>,
): Promise<number> {
  let records = 0;
  let batch = new Map<string, BlockMeta[]>();
  let inBatch = 0;
  const flush = async (): Promise<void> => {
    if (inBatch === 0) return;
    await fh.write(frameBytes(batch));
    batch = new Map();
    inBatch = 0;
    await yieldToLoop();
  };
  for (const [tenant, metas] of source) {
    for (const m of metas) {
      let list = batch.get(tenant);
      if (list === undefined) batch.set(tenant, (list = []));
      list.push(m);
      records++;
      if (++inBatch >= FRAME_BLOCKS) await flush();
    }
  }
  await flush();
  return records;
}

/** A new table per tenant (readers without a fetcher's tables: tools, tests). */
function newTables(): TableOf {
  return tableIn(new Map());
}

/** The table of each tenant in `tables`, made when first asked for. */
export function tableIn(tables: Map<string, MetaTable>): TableOf {
  return (tenant) => {
    let t = tables.get(tenant);
    if (t === undefined) tables.set(tenant, (t = new MetaTable()));
    return t;
  };
}
