/**
 * The fetcher's on-disk checkpoint: gzip-compressed JSON, written atomically (tmp, fsync, rename)
 * so a crash leaves the previous checkpoint or the new one, never a torn one.
 *
 * Per tenant: the watermark (`after`: every listed block ID up to it was handled), the IDs of
 * every block whose meta.json was read (their copies are in the meta cache), partial blocks, the
 * parsed tenant markers, and how many syncs ago the tenant was fully listed. `known` is one string
 * of 26-character ULIDs back to back: for a million blocks that is 26 MB of JSON instead of 29, and
 * one string instead of a million for the parser.
 */
import { readFile } from 'node:fs/promises';
import { writeAtomically } from '../../util/atomic-file.js';
import { promisify } from 'node:util';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, gunzip, constants as zlibConstants } from 'node:zlib';
import { isAsciiUlidAt, isUlid } from '../../tsdb/ulid.js';
import { errorCode, errorMessage } from '../../util/errors.js';
import type { PartialBlock, PartialReason } from './types.js';

const gunzipAsync = promisify(gunzip);

export const CHECKPOINT_VERSION = 1;
const ULID_LEN = 26;

export interface MarkSummary {
  readonly id: string;
  /** Unix seconds (deletion_time / no_compact_time). */
  readonly time: number;
  /** no-compact reason; '' for deletion marks. */
  readonly reason: string;
}

export interface TenantCheckpoint {
  readonly after: string | undefined;
  /** Decoded checkpoints give an array; live snapshots an iterator over the fetcher's map. */
  readonly known: Iterable<string>;
  readonly partial: readonly PartialBlock[];
  readonly syncsSinceFullList: number;
  readonly deletionMarks: readonly MarkSummary[];
  readonly noCompactMarks: readonly MarkSummary[];
}

export interface Checkpoint {
  readonly version: typeof CHECKPOINT_VERSION;
  readonly writtenAtMs: number;
  readonly tenants: ReadonlyMap<string, TenantCheckpoint>;
}

export class CheckpointError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CheckpointError';
  }
}

/**
 * The checkpoint JSON in pieces, so a million-block checkpoint is streamed into gzip instead of
 * being built as one string (and its copies) in memory.
 */
export function* encodeCheckpointChunks(cp: Checkpoint): Generator<string> {
  yield `{"version":${cp.version},"written_at_ms":${cp.writtenAtMs},"tenants":{`;
  let first = true;
  for (const [name, t] of cp.tenants) {
    yield `${first ? '' : ','}${JSON.stringify(name)}:{`;
    first = false;
    if (t.after !== undefined) yield `"after":${JSON.stringify(t.after)},`;
    yield '"known":"';
    // ULIDs are plain Crockford base32: no escaping needed.
    let chunk = '';
    let n = 0;
    for (const id of t.known) {
      chunk += id;
      if (++n === KNOWN_CHUNK) {
        yield chunk;
        chunk = '';
        n = 0;
      }
    }
    if (chunk !== '') yield chunk;
    const partial = t.partial.map((p) => ({
      id: p.id,
      reason: p.reason,
      detail: p.detail,
      first_seen_ms: p.firstSeenMs,
    }));
    yield `","partial":${JSON.stringify(partial)}`;
    yield `,"syncs_since_full_list":${t.syncsSinceFullList}`;
    yield `,"deletion_marks":${JSON.stringify(t.deletionMarks.map((m) => [m.id, m.time]))}`;
    yield `,"no_compact_marks":${JSON.stringify(t.noCompactMarks.map((m) => [m.id, m.time, m.reason]))}}`;
  }
  yield '}}';
}

const KNOWN_CHUNK = 8192;

export function encodeCheckpoint(cp: Checkpoint): string {
  return [...encodeCheckpointChunks(cp)].join('');
}

const PARTIAL_REASONS: ReadonlySet<string> = new Set([
  'no-meta-json',
  'corrupted-meta-json',
  'unsupported-meta-version',
]);

/**
 * A tenant's checkpointed block IDs, read by position from the bytes of the file they are in (26
 * ASCII characters each, back to back): a restart that finds them all in the metas file compares
 * them there and never holds a million ID strings, nor the file as one string.
 */
export class KnownIds implements Iterable<string> {
  readonly #b: Buffer;
  readonly #at: number;
  readonly length: number;
  /** `b[at, at + 26 × n)`: IDs checked by the caller. */
  constructor(b: Buffer, at: number, n: number) {
    this.#b = b;
    this.#at = at;
    this.length = n;
  }
  /** The i-th ID (a new string on each call). */
  at(i: number): string {
    const o = this.#at + i * ULID_LEN;
    return this.#b.toString('latin1', o, o + ULID_LEN);
  }
  /** Whether the IDs are the map's keys, in any order (no ID twice, as the writer writes them). */
  sameAsKeys(map: ReadonlyMap<string, unknown>): boolean {
    if (map.size !== this.length) return false;
    // Usually both list the blocks in the order they were learnt: compared in place, no string.
    let i = 0;
    for (const k of map.keys()) {
      if (!this.#equalsAt(i, k)) break;
      i++;
    }
    if (i === this.length) return true;
    for (; i < this.length; i++) if (!map.has(this.at(i))) return false;
    return true;
  }

  #equalsAt(i: number, id: string): boolean {
    if (id.length !== ULID_LEN) return false;
    const o = this.#at + i * ULID_LEN;
    for (let j = 0; j < ULID_LEN; j++) if (this.#b[o + j] !== id.charCodeAt(j)) return false;
    return true;
  }
  *[Symbol.iterator](): Iterator<string> {
    for (let i = 0; i < this.length; i++) yield this.at(i);
  }
}

/**
 * A checkpoint read back from disk: `known` lists are KnownIds; the map is the loader's own (it
 * drops each tenant once restored).
 */
export interface LoadedCheckpoint extends Checkpoint {
  readonly tenants: Map<string, TenantCheckpoint & { readonly known: KnownIds }>;
}

const KNOWN_KEY = Buffer.from('"known":"', 'latin1');
const QUOTE = 0x22;

/**
 * Parses and validates; any inconsistency throws CheckpointError (the caller starts afresh).
 * The known lists are not parsed as JSON strings: each `"known":"…"` value is checked in place and
 * replaced by its number in the text JSON.parse sees (a JSON string cannot hold that byte sequence
 * unescaped, so every match is a key). An ID with a non-ASCII character, which the writer never
 * writes, makes the checkpoint unreadable.
 */
export function decodeCheckpoint(input: Buffer | string): LoadedCheckpoint {
  const bad = (detail: string): never => {
    throw new CheckpointError(`checkpoint: ${detail}`);
  };
  const b = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const lists: { at: number; n: number }[] = [];
  let text = '';
  let from = 0;
  for (let k = b.indexOf(KNOWN_KEY); k >= 0; k = b.indexOf(KNOWN_KEY, from)) {
    const at = k + KNOWN_KEY.length;
    const end = b.indexOf(QUOTE, at);
    if (end < 0 || (end - at) % ULID_LEN !== 0) return bad(`known list ${lists.length}: bad length`);
    for (let i = at; i < end; i += ULID_LEN) {
      if (!isAsciiUlidAt(b, i)) return bad(`known list ${lists.length}: bad ID at ${(i - at) / ULID_LEN}`);
    }
    text += `${b.toString('utf8', from, at)}${lists.length}`;
    lists.push({ at, n: (end - at) / ULID_LEN });
    from = end;
  }
  text += b.toString('utf8', from);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return bad(`not valid JSON (${errorMessage(err).slice(0, 100)})`);
  }
  if (!isRecord(raw)) return bad('not an object');
  if (raw['version'] !== CHECKPOINT_VERSION) return bad(`unsupported version ${String(raw['version'])}`);
  const writtenAtMs = raw['written_at_ms'];
  if (typeof writtenAtMs !== 'number') return bad('written_at_ms missing');
  const rawTenants = raw['tenants'];
  if (!isRecord(rawTenants)) return bad('tenants missing');
  const tenants = new Map<string, TenantCheckpoint & { readonly known: KnownIds }>();
  for (const [name, v] of Object.entries(rawTenants)) {
    if (!isRecord(v)) return bad(`tenant ${name}: not an object`);
    const after = v['after'];
    if (after !== undefined && (typeof after !== 'string' || !isUlid(after))) {
      return bad(`tenant ${name}: bad watermark`);
    }
    // The number decodeCheckpoint put there, exactly as it wrote it.
    const ref = v['known'];
    const list = typeof ref === 'string' && String(Number(ref)) === ref ? lists[Number(ref)] : undefined;
    if (list === undefined) return bad(`tenant ${name}: bad known list`);
    const known = new KnownIds(b, list.at, list.n);
    const partial: PartialBlock[] = [];
    for (const p of arrayOf(v['partial'])) {
      if (
        !isRecord(p) ||
        typeof p['id'] !== 'string' ||
        !isUlid(p['id']) ||
        typeof p['reason'] !== 'string' ||
        !PARTIAL_REASONS.has(p['reason']) ||
        typeof p['first_seen_ms'] !== 'number'
      ) {
        return bad(`tenant ${name}: bad partial entry`);
      }
      partial.push({
        id: p['id'],
        reason: p['reason'] as PartialReason,
        detail: typeof p['detail'] === 'string' ? p['detail'] : '',
        firstSeenMs: p['first_seen_ms'],
      });
    }
    const marks = (x: unknown, what: string): MarkSummary[] =>
      arrayOf(x).map((m) => {
        if (!Array.isArray(m) || typeof m[0] !== 'string' || !isUlid(m[0]) || typeof m[1] !== 'number') {
          return bad(`tenant ${name}: bad ${what} entry`);
        }
        return { id: m[0], time: m[1], reason: typeof m[2] === 'string' ? m[2] : '' };
      });
    const syncs = v['syncs_since_full_list'];
    tenants.set(name, {
      after,
      known,
      partial,
      syncsSinceFullList: typeof syncs === 'number' && syncs >= 0 ? syncs : 0,
      deletionMarks: marks(v['deletion_marks'], 'deletion mark'),
      noCompactMarks: marks(v['no_compact_marks'], 'no-compact mark'),
    });
  }
  return { version: CHECKPOINT_VERSION, writtenAtMs, tenants };
}

/** Writes the checkpoint atomically. Level-1 gzip: the IDs are mostly random bits anyway. */
export async function writeCheckpointFile(path: string, cp: Checkpoint): Promise<number> {
  // A fresh data dir on a bucket without tenants has had nothing else write into it yet: the
  // helper creates the directory.
  return writeAtomically(path, async (fh) => {
    let bytes = 0;
    const gz = createGzip({ level: zlibConstants.Z_BEST_SPEED });
    const sink = new Writable({
      write(chunk: Buffer, _enc, done): void {
        bytes += chunk.length;
        fh.write(chunk).then(() => done(), done);
      },
    });
    await pipeline(Readable.from(encodeCheckpointChunks(cp)), gz, sink);
    return bytes;
  });
}

/** The checkpoint at `path`, or undefined when there is none; a damaged one throws CheckpointError. */
export async function readCheckpointFile(path: string): Promise<LoadedCheckpoint | undefined> {
  let body: Buffer;
  try {
    body = await readFile(path);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  let text: Buffer;
  try {
    // One output buffer of the size the gzip trailer announces (mod 2^32; a wrong one only costs
    // more chunks), instead of 16 KiB chunks and their concatenation: half the memory.
    const announced = body.length >= 4 ? body.readUInt32LE(body.length - 4) : 0;
    const chunkSize = Math.max(64 * 1024, Math.min(announced + 1, body.length * 64, 2 ** 30));
    text = await gunzipAsync(body, { chunkSize });
  } catch (err) {
    throw new CheckpointError(`checkpoint: not gzip (${errorMessage(err)})`, { cause: err });
  }
  return decodeCheckpoint(text);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function arrayOf(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
