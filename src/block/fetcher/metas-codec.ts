/**
 * The byte format of the metas file (metas-file.ts): the compacted metas of known blocks, so a
 * restart rebuilds the fetcher's state from one file instead of one cached meta.json per block.
 *
 * File: magic `STRMETAS`, u32 version, then frames. Frame: u32 payload length, u32 CRC-32C of the
 * payload, payload. A frame is a batch of blocks (a full rewrite writes many, each checkpoint write
 * appends one). Version 2 stores a tenant's metas of the usual shape as the rows of its meta table
 * (meta-page.ts), so a restart copies them into the fetcher's table instead of decoding each
 * field. Payload, little endian:
 *   u32 nStrings, nStrings × (u32 byte length, UTF-8)        frame-local string table
 *   u32 nLabelSets, nLabelSets × (u32 n, n × (u32 name, u32 value))
 *   u32 nTenants, per tenant:
 *     u32 tenant string
 *     u32 nShapes, nShapes × (u32 label set, u32 source, f64 resolution,
 *       u32 nSegments | NONE, nSegments × u32 string, u32 nFiles | NONE, nFiles × (u32 string, u8 sized))
 *     u32 nRows, nRows × 26 ASCII ULIDs, then per page of up to PAGE_ROWS rows:
 *       rows × F f64, rows × U u32, rows × B u8 (the table's row arrays; a row's shape number is
 *       the frame's, its size and text offsets are the page's), u32 nSizes, nSizes × u32,
 *       u32 upload text bytes, the bytes (latin1), u32 nSources, nSources × (u32 row, u32 n, n × (u32 length, UTF-8))
 *     u32 nJson, nJson × (26 ASCII ULID, u32 length, UTF-8 JSON): metas of an unusual shape (extra
 *       compaction fields, rewrites, file hashes, ...) as the compacted meta's JSON
 * Decoding: metas-decode.ts. A change to the row layout is a new version.
 */
import type { BlockMeta } from '../../tsdb/meta.js';
import { leBytes } from '../../util/typed-arrays.js';
import { B, F, PAGE_ROWS, U, type Page, type Shape } from './meta-page.js';
import { MetaTable } from './meta-table.js';

export const METAS_MAGIC = Buffer.from('STRMETAS', 'latin1');
export const METAS_VERSION = 2;
export const METAS_HEADER_LEN = 12;
export const FRAME_HEADER_LEN = 8;

export const ULID_LEN = 26;
export const NONE = 0xffffffff;

export function metasHeader(): Buffer {
  const b = Buffer.alloc(METAS_HEADER_LEN);
  METAS_MAGIC.copy(b, 0);
  b.writeUInt32LE(METAS_VERSION, 8);
  return b;
}

/** A growable little-endian byte sink. */
class Sink {
  buf = Buffer.allocUnsafe(64 * 1024);
  len = 0;

  #room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  u8(v: number): void {
    this.#room(1);
    this.buf[this.len++] = v;
  }
  u32(v: number): void {
    this.#room(4);
    this.buf.writeUInt32LE(v, this.len);
    this.len += 4;
  }
  f64(v: number): void {
    this.#room(8);
    this.buf.writeDoubleLE(v, this.len);
    this.len += 8;
  }
  bytes(b: Uint8Array): void {
    this.#room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  ascii(s: string): void {
    this.#room(s.length);
    this.len += this.buf.write(s, this.len, 'latin1');
  }
  utf8(s: string): void {
    const n = Buffer.byteLength(s);
    this.u32(n);
    this.#room(n);
    this.len += this.buf.write(s, this.len, 'utf8');
  }
}

/** One frame's payload for the given metas (grouped by tenant). */
export function encodeFrame(tenants: ReadonlyMap<string, readonly BlockMeta[]>): Buffer {
  const strings = new Map<string, number>();
  const str = (s: string): number => {
    let i = strings.get(s);
    if (i === undefined) {
      i = strings.size;
      strings.set(s, i);
    }
    return i;
  };
  const labelSets = new Map<Readonly<Record<string, string>>, number>();
  const labelSet = (ls: Readonly<Record<string, string>>): number => {
    let i = labelSets.get(ls);
    if (i === undefined) {
      i = labelSets.size;
      labelSets.set(ls, i);
    }
    return i;
  };
  const body = new Sink();
  body.u32(tenants.size);
  for (const [tenant, metas] of tenants) {
    body.u32(str(tenant));
    // The table decides what packs (the usual shape); the rest goes as JSON.
    const table = new MetaTable();
    const ids: string[] = [];
    const json: BlockMeta[] = [];
    for (const m of metas) {
      if (table.pack(m) === m) json.push(m);
      else ids.push(m.ulid);
    }
    body.u32(table.shapes.length);
    for (const shape of table.shapes) encodeShape(body, shape, str, labelSet);
    body.u32(ids.length);
    for (const id of ids) body.ascii(id);
    for (let k = 0; k < table.pages.length; k++) {
      encodePage(body, table.pages[k]!, Math.min(PAGE_ROWS, ids.length - k * PAGE_ROWS));
    }
    body.u32(json.length);
    for (const m of json) {
      body.ascii(m.ulid);
      body.utf8(JSON.stringify(m));
    }
  }
  // Label names and values join the string table before it is written.
  for (const ls of labelSets.keys()) {
    for (const n of Object.keys(ls)) {
      str(n);
      str(ls[n]!);
    }
  }
  const head = new Sink();
  head.u32(strings.size);
  for (const s of strings.keys()) head.utf8(s);
  head.u32(labelSets.size);
  for (const ls of labelSets.keys()) {
    const names = Object.keys(ls);
    head.u32(names.length);
    for (const n of names) {
      head.u32(str(n));
      head.u32(str(ls[n]!));
    }
  }
  return Buffer.concat([head.buf.subarray(0, head.len), body.buf.subarray(0, body.len)]);
}

function encodeShape(
  out: Sink,
  shape: Shape,
  str: (s: string) => number,
  labelSet: (ls: Readonly<Record<string, string>>) => number,
): void {
  out.u32(labelSet(shape.labels));
  out.u32(str(shape.source));
  out.f64(shape.downsample.resolution);
  if (shape.segments === undefined) out.u32(NONE);
  else {
    out.u32(shape.segments.length);
    for (const s of shape.segments) out.u32(str(s));
  }
  if (shape.files === undefined) out.u32(NONE);
  else {
    const { names, sized } = shape.files;
    out.u32(names.length);
    for (let j = 0; j < names.length; j++) {
      out.u32(str(names[j]!));
      out.u8(sized[j] ? 1 : 0);
    }
  }
}

/** The first `rows` rows of `page`, with what they refer to in the page. */
function encodePage(out: Sink, page: Page, rows: number): void {
  out.bytes(leBytes(page.f64, rows * F));
  out.bytes(leBytes(page.u32, rows * U));
  out.bytes(page.u8.subarray(0, rows * B));
  out.u32(page.nSizes);
  out.bytes(leBytes(page.sizes, page.nSizes));
  out.u32(page.nUploads);
  out.bytes(page.uploads.subarray(0, page.nUploads));
  out.u32(page.sources.size);
  for (const [row, sources] of page.sources) {
    out.u32(row);
    out.u32(sources.length);
    for (const s of sources) out.utf8(s);
  }
}
