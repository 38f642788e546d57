/**
 * The tombstones file: deleted time intervals per series. Intervals are closed [mint, maxt].
 * Prometheus stores int64 extremes for open-ended deletes; those read as ±Infinity here (every real
 * sample time lies inside ±2^53) and are written back as the int64 extremes.
 */
import { readFile, writeFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Decbuf } from '../encoding/decbuf.js';
import { Encbuf } from '../encoding/encbuf.js';
import { crc32c } from '../encoding/crc32c.js';
import { FormatError, errorCode } from '../../util/errors.js';

export const TOMBSTONES_FILENAME = 'tombstones';
export const TOMBSTONES_MAGIC = 0x0130ba30;
const VERSION = 1;
const MAX_FILE = 1 << 30;

export interface Interval {
  mint: number;
  maxt: number;
}

/** Series ref → sorted, merged intervals. */
export type Tombstones = ReadonlyMap<number, readonly Interval[]>;

const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;

function toNumber(v: bigint): number {
  if (v < -BigInt(Number.MAX_SAFE_INTEGER)) return -Infinity;
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) return Infinity;
  return Number(v);
}

function toBig(v: number): bigint {
  if (v === -Infinity) return MIN_INT64;
  if (v === Infinity) return MAX_INT64;
  return BigInt(v);
}

/** Adds an interval to a sorted, merged list (adjacent intervals merge, as in Prometheus). */
export function addInterval(list: Interval[], iv: Interval): Interval[] {
  const all = [...list, iv].sort((a, b) => a.mint - b.mint);
  const out: Interval[] = [];
  for (const x of all) {
    const last = out[out.length - 1];
    if (last && x.mint <= last.maxt + 1) {
      if (x.maxt > last.maxt) last.maxt = x.maxt;
    } else {
      out.push({ mint: x.mint, maxt: x.maxt });
    }
  }
  return out;
}

/** True when t falls inside one of the sorted intervals. */
export function isDeleted(intervals: readonly Interval[], t: number): boolean {
  for (const iv of intervals) {
    if (t < iv.mint) return false;
    if (t <= iv.maxt) return true;
  }
  return false;
}

export function countIntervals(ts: Tombstones): number {
  let n = 0;
  for (const list of ts.values()) n += list.length;
  return n;
}

export function decodeTombstones(buf: Uint8Array, file: string): Tombstones {
  const d = new Decbuf(buf, 0, buf.length, file);
  if (buf.length < 9) d.fail('ERR_TSDB_TRUNCATED', `tombstones file of ${buf.length} bytes (minimum 9)`);
  const magic = d.be32();
  if (magic !== TOMBSTONES_MAGIC) d.fail('ERR_TSDB_BAD_MAGIC', `bad magic 0x${magic.toString(16)}`, 0);
  const version = d.byte();
  if (version !== VERSION) d.fail('ERR_TSDB_BAD_VERSION', `unsupported tombstones version ${version}`, 4);
  const body = buf.subarray(5, buf.length - 4);
  const want = new Decbuf(buf, buf.length - 4, buf.length, file).be32();
  if (crc32c(body) !== want) d.fail('ERR_TSDB_CHECKSUM', 'tombstones CRC mismatch', buf.length - 4);
  const entries = new Decbuf(buf, 5, buf.length - 4, file);
  const out = new Map<number, Interval[]>();
  while (entries.remaining > 0) {
    const ref = entries.uvarint();
    const mint = toNumber(entries.varintBig());
    const maxt = toNumber(entries.varintBig());
    if (maxt < mint) entries.fail('ERR_TSDB_CORRUPT', `tombstone interval [${mint}, ${maxt}] is inverted`);
    out.set(ref, addInterval(out.get(ref) ?? [], { mint, maxt }));
  }
  return out;
}

export function encodeTombstones(ts: Tombstones): Uint8Array {
  const e = new Encbuf(64);
  e.putBE32(TOMBSTONES_MAGIC);
  e.putByte(VERSION);
  const refs = [...ts.keys()].sort((a, b) => a - b);
  for (const ref of refs) {
    for (const iv of ts.get(ref)!) {
      e.putUvarint(ref);
      e.putVarintBig(toBig(iv.mint));
      e.putVarintBig(toBig(iv.maxt));
    }
  }
  e.putBE32(crc32c(e.view().subarray(5)));
  return e.view().slice();
}

/** Reads `<blockDir>/tombstones`; a missing file means no tombstones (Thanos never uploads it). */
export async function readTombstones(blockDir: string): Promise<Tombstones> {
  const file = join(blockDir, TOMBSTONES_FILENAME);
  try {
    const st = await stat(file);
    if (st.size > MAX_FILE)
      throw new FormatError('ERR_TSDB_CORRUPT', file, 0, `tombstones file of ${st.size} bytes`);
    return decodeTombstones(await readFile(file), file);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return new Map();
    throw err;
  }
}

export async function writeTombstones(blockDir: string, ts: Tombstones): Promise<number> {
  const file = join(blockDir, TOMBSTONES_FILENAME);
  const bytes = encodeTombstones(ts);
  await writeFile(file + '.tmp', bytes);
  await rename(file + '.tmp', file);
  return bytes.length;
}
