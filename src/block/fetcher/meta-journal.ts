/**
 * meta.json bytes read since the last checkpoint write, appended to one file
 * (`<cacheDir>/meta-journal.<generation>.bin`) instead of one cache file per block: a killed sync
 * resumes without reading them again, at the cost of one write(2) per block instead of a
 * mkdir/open/write/close through the thread pool.
 *
 * Generations: each checkpoint snapshot rotates to a new file; once the checkpoint and the metas
 * file holding that snapshot are on disk, the older generations are deleted. Record: u32 payload
 * length, u32 CRC-32C of the payload, then u16 tenant length, tenant, u8 ID length, ID, meta.json
 * bytes. Reading stops at the first bad record of a file (a torn tail after a kill).
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '../../tsdb/encoding/crc32c.js';
import { errorCode, errorMessage } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';

const PREFIX = 'meta-journal.';
const SUFFIX = '.bin';
const RECORD_HEADER_LEN = 8;

export interface JournalRecord {
  readonly tenant: string;
  readonly id: string;
  readonly bytes: Buffer;
}

export class MetaJournal {
  readonly #dir: string;
  readonly #logger: Logger;
  /** Generation new records go to. */
  #gen = 0;
  #fd: number | undefined;
  /** Generations with a file on disk. */
  readonly #onDisk = new Set<number>();
  #failed = false;
  /** Records appended so far. */
  appends = 0;

  constructor(dir: string, logger: Logger) {
    this.#dir = dir;
    this.#logger = logger;
  }

  #path(gen: number): string {
    return join(this.#dir, `${PREFIX}${gen}${SUFFIX}`);
  }

  /**
   * Every intact record of every generation on disk, oldest first. New records go to a new
   * generation, so nothing is ever appended after a torn tail.
   */
  async load(): Promise<JournalRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return [];
      throw err;
    }
    const gens: number[] = [];
    for (const n of names) {
      if (!n.startsWith(PREFIX) || !n.endsWith(SUFFIX)) continue;
      const g = Number(n.slice(PREFIX.length, -SUFFIX.length));
      if (Number.isSafeInteger(g) && g >= 0) gens.push(g);
    }
    gens.sort((a, b) => a - b);
    const out: JournalRecord[] = [];
    for (const g of gens) {
      this.#onDisk.add(g);
      this.#gen = Math.max(this.#gen, g + 1);
      let buf: Buffer;
      try {
        buf = await readFile(this.#path(g));
      } catch {
        continue;
      }
      decodeRecords(buf, out);
    }
    return out;
  }

  /** Appends one record (synchronously: a block recorded in memory is on disk as well). */
  append(tenant: string, id: string, bytes: Buffer): void {
    if (this.#failed) return;
    try {
      if (this.#fd === undefined) {
        mkdirSync(this.#dir, { recursive: true });
        this.#fd = openSync(this.#path(this.#gen), 'a');
        this.#onDisk.add(this.#gen);
      }
      const rec = encodeRecord(tenant, id, bytes);
      writeSync(this.#fd, rec, 0, rec.length);
      this.appends++;
    } catch (err) {
      // Best effort: without the journal a restart reads these blocks from the bucket again.
      this.#failed = true;
      this.#logger.warn('writing the meta journal failed; a restart reads recent blocks again', {
        path: this.#path(this.#gen),
        err: errorMessage(err),
      });
    }
  }

  /**
   * Starts a new generation; returns the last generation whose records the current state holds
   * (release it once that state is on disk). Synchronous, taken with the checkpoint snapshot.
   */
  rotate(): number {
    if (this.#fd === undefined) return this.#gen - 1;
    const done = this.#gen;
    try {
      closeSync(this.#fd);
    } catch {
      // closing a written fd cannot lose the bytes already written
    }
    this.#fd = undefined;
    this.#gen++;
    this.#failed = false;
    return done;
  }

  /** Deletes the files of generations up to `upTo` (their records are in the checkpoint now). */
  async release(upTo: number): Promise<void> {
    for (const g of [...this.#onDisk]) {
      if (g > upTo) continue;
      this.#onDisk.delete(g);
      await unlink(this.#path(g)).catch(() => undefined);
    }
  }

  /** Closes the open generation (its file stays for the next start). */
  close(): void {
    if (this.#fd === undefined) return;
    try {
      closeSync(this.#fd);
    } catch {
      // nothing to do
    }
    this.#fd = undefined;
    this.#gen++;
  }
}

export function encodeRecord(tenant: string, id: string, bytes: Uint8Array): Buffer {
  const tl = Buffer.byteLength(tenant);
  const il = Buffer.byteLength(id);
  const payloadLen = 2 + tl + 1 + il + bytes.length;
  const rec = Buffer.allocUnsafe(RECORD_HEADER_LEN + payloadLen);
  let o = RECORD_HEADER_LEN;
  rec.writeUInt16LE(tl, o);
  o += 2;
  o += rec.write(tenant, o, 'utf8');
  rec[o++] = il;
  o += rec.write(id, o, 'latin1');
  rec.set(bytes, o);
  rec.writeUInt32LE(payloadLen, 0);
  rec.writeUInt32LE(crc32c(rec.subarray(RECORD_HEADER_LEN)), 4);
  return rec;
}

/** Appends the intact records of `buf` to `out`; stops at the first damaged or torn one. */
export function decodeRecords(buf: Buffer, out: JournalRecord[]): void {
  let off = 0;
  while (off + RECORD_HEADER_LEN <= buf.length) {
    const len = buf.readUInt32LE(off);
    const start = off + RECORD_HEADER_LEN;
    const end = start + len;
    if (len < 4 || end > buf.length) return;
    if (crc32c(buf.subarray(start, end)) !== buf.readUInt32LE(off + 4)) return;
    let o = start;
    const tl = buf.readUInt16LE(o);
    o += 2;
    if (o + tl + 1 > end) return;
    const tenant = buf.toString('utf8', o, o + tl);
    o += tl;
    const il = buf[o++]!;
    if (o + il > end) return;
    const id = buf.toString('latin1', o, o + il);
    o += il;
    // A copy: a slice would keep the whole file alive.
    out.push({ tenant, id, bytes: Buffer.from(buf.subarray(o, end)) });
    off = end;
  }
}
