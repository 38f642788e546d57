/**
 * The postings section and the postings offset table, written by IndexWriter.close() after the
 * series: from the postings collected in memory, or, for an index derived from a source index
 * (same symbols, a subset of its series in the same order), from the source's own postings with
 * series IDs mapped, walked twice from the source file so nothing per label value is held.
 */
import { Encbuf } from '../encoding/encbuf.js';
import { crc32c } from '../encoding/crc32c.js';
import { InvalidArgumentError } from '../../util/errors.js';
import { grownTo } from '../../util/typed-arrays.js';
import { uvarintSize } from '../../util/varint.js';
import { MAX_UINT32, POSTINGS_ALIGN } from './format.js';
import type { BufferedFileWriter } from './io.js';
import type { LeanIndex } from './lean.js';
import type { PostingsCollector } from './postings-collector.js';
import { CHUNK_IDS, POSTINGS_SCRATCH, encodePostingsList, writePostingsList } from './postings.js';
import { checkAscending } from './write-checks.js';

export type PostingsHook = (ids: Uint32Array) => void;

/** A step's result: a write still in flight, possibly behind a read. */
function isAscending(ids: Uint32Array): boolean {
  for (let i = 1; i < ids.length; i++) if (ids[i]! <= ids[i - 1]!) return false;
  return true;
}

function unwrap(
  r: Promise<void> | undefined | Promise<Promise<void> | undefined>,
): Promise<void> | undefined {
  return r instanceof Promise ? r.then((q) => q) : r;
}

/** Where the postings offset table starts and how many entries it has. */
export interface PostingsWritten {
  tableAt: number;
  entries: number;
}

/** Source series ID → written series ID, added in ascending order of both: 8 bytes per series. */
export class IdMap {
  private from = new Uint32Array(1024);
  private to = new Uint32Array(1024);
  private n = 0;

  /** A derived series must come after the previous one in the source too. */
  checkNext(source: number): void {
    if (this.n > 0 && source <= this.from[this.n - 1]!) {
      throw new InvalidArgumentError(
        `index: source series ${source} added after ${this.from[this.n - 1]}: derived series must keep the source order`,
      );
    }
  }

  add(source: number, id: number): void {
    if (this.n === this.from.length) {
      this.from = grownTo(this.from, 2 * this.from.length);
      this.to = grownTo(this.to, 2 * this.to.length);
    }
    this.from[this.n] = source;
    this.to[this.n++] = id;
  }

  /** Maps an ascending list into `out` (dropping IDs not written); returns the count. */
  mapList(ids: Uint32Array, out: Uint32Array): number {
    const from = this.from;
    let k = 0;
    let lo = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      let hi = this.n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (from[mid]! < id) lo = mid + 1;
        else hi = mid;
      }
      if (lo < this.n && from[lo] === id) out[k++] = this.to[lo]!;
    }
    return k;
  }
}

function writeList(out: BufferedFileWriter, ids: Uint32Array, scratch: Buffer): Promise<void> | undefined {
  if (ids.length <= CHUNK_IDS) {
    const n = encodePostingsList(scratch, ids, ids.length);
    return out.writeRange(scratch, 0, n);
  }
  return writePostingsList(out, ids, ids.length, scratch);
}

/** Writes `len count` of a table of `bodyLen` bytes (count included) and returns the running CRC. */
async function writeTableHead(out: BufferedFileWriter, bodyLen: number, entries: number): Promise<number> {
  if (entries > MAX_UINT32 || bodyLen > MAX_UINT32) {
    throw new InvalidArgumentError(`index: postings offset table of ${bodyLen} bytes exceeds 4 GiB`);
  }
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32BE(bodyLen, 0);
  head.writeUInt32BE(entries, 4);
  const p = out.write(head);
  if (p) await p;
  return crc32c(head.subarray(4));
}

async function writeCrc(out: BufferedFileWriter, crc: number): Promise<void> {
  const tail = Buffer.allocUnsafe(4);
  tail.writeUInt32BE(crc, 0);
  const p = out.write(tail);
  if (p) await p;
}

/** From the collector: names in symbol order, each name's values grouped by a counting sort. */
export async function writeCollectedPostings(
  out: BufferedFileWriter,
  postings: PostingsCollector,
  symbols: readonly string[],
  hook: PostingsHook | undefined,
): Promise<PostingsWritten> {
  const p = out.pad(POSTINGS_ALIGN);
  if (p) await p;
  const scratch = Buffer.allocUnsafe(POSTINGS_SCRATCH);
  const table = new Encbuf(1 << 16);
  let entries = 0;
  const counts = new Uint32Array(symbols.length);
  const names = postings.nameRefs();
  // i = -1 is the all-postings list under ("", "").
  for (let i = -1; i < names.length; i++) {
    const name = i < 0 ? '' : symbols[names[i]!]!;
    const g = i < 0 ? null : postings.takeGroups(names[i]!, counts);
    const numValues = g === null ? 1 : g.values.length;
    for (let j = 0; j < numValues; j++) {
      const ids = g === null ? postings.allPostings() : g.ids.subarray(g.starts[j]!, g.starts[j + 1]!);
      const value = g === null ? '' : symbols[g.values[j]!]!;
      hook?.(ids);
      checkAscending(ids, name, value);
      table.putUvarint(2);
      table.putUvarintString(name);
      table.putUvarintString(value);
      table.putUvarint(out.pos);
      entries++;
      const q = writeList(out, ids, scratch);
      if (q) await q;
    }
  }
  const tableAt = out.pos;
  const crc = await writeTableHead(out, 4 + table.len, entries);
  const q = out.write(table.view());
  if (q) await q;
  await writeCrc(out, crc32c(table.view(), crc));
  return { tableAt, entries };
}

/**
 * From the source index: each of its postings lists mapped through `ids` (lists left empty are
 * dropped). First walk: the lists, and the table's size; second walk: the table, its offsets
 * recomputed from the mapped counts.
 */
export async function writeDerivedPostings(
  out: BufferedFileWriter,
  source: LeanIndex,
  ids: IdMap,
  hook: PostingsHook | undefined,
): Promise<PostingsWritten> {
  let p = out.pad(POSTINGS_ALIGN);
  if (p) await p;
  const scratch = Buffer.allocUnsafe(POSTINGS_SCRATCH);
  let mapped = new Uint32Array(1024);
  const read = source.postingsReader();
  // Mostly synchronous: a promise only when the source or the output waits for I/O.
  const mapAt = <T>(off: number, then: (list: Uint32Array) => T): T | Promise<T> => {
    const map = (list: Uint32Array): T => {
      if (mapped.length < list.length) mapped = new Uint32Array(Math.max(list.length, 2 * mapped.length));
      return then(mapped.subarray(0, ids.mapList(list, mapped)));
    };
    const r = read(off);
    return r instanceof Promise ? r.then(map) : map(r);
  };
  const postingsAt = out.pos;
  let entries = 0;
  let tableLen = 4;
  // The all-postings entry ("", "") stays even when no series is left, as a fresh index has it.
  await source.forEachPostingsEntry((en) =>
    unwrap(
      mapAt(en.offset, (list) => {
        if (list.length === 0 && !en.isAll) return undefined;
        hook?.(list);
        if (!isAscending(list)) checkAscending(list, en.name(), en.value());
        const nl = en.nameLength;
        const vl = en.valueLength;
        tableLen += 1 + uvarintSize(nl) + nl + uvarintSize(vl) + vl + uvarintSize(out.pos);
        entries++;
        return writeList(out, list, scratch);
      }),
    ),
  );
  const tableAt = out.pos;
  let crc = await writeTableHead(out, tableLen, entries);
  const e = new Encbuf(1 << 16);
  let at = postingsAt;
  let written = 0;
  await source.forEachPostingsEntry((en) =>
    unwrap(
      mapAt(en.offset, (list): Promise<void> | undefined => {
        const n = list.length;
        if (n === 0 && !en.isAll) return undefined;
        e.putUvarint(2);
        e.putUvarint(en.nameLength);
        e.putRange(en.buf, en.nameStart, en.nameEnd);
        e.putUvarint(en.valueLength);
        e.putRange(en.buf, en.valueStart, en.valueEnd);
        e.putUvarint(at);
        at += 12 + 4 * n;
        written++;
        if (e.len < 1 << 15) return undefined;
        crc = crc32c(e.view(), crc);
        const q = out.write(e.view());
        e.reset();
        return q;
      }),
    ),
  );
  crc = crc32c(e.view(), crc);
  p = out.write(e.view());
  if (p) await p;
  if (written !== entries || at !== tableAt || out.pos !== tableAt + 4 + tableLen) {
    throw new InvalidArgumentError(
      `index: the source index ${source.path} changed while its postings were derived`,
    );
  }
  await writeCrc(out, crc);
  return { tableAt, entries };
}
