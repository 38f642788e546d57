/**
 * The byte format of the metas file (metas-file.ts): the compacted metas of known blocks, so a
 * restart rebuilds the fetcher's state from one file instead of one cached meta.json per block.
 *
 * File: magic `STRMETAS`, u32 version, then frames. Frame: u32 payload length, u32 CRC-32C of the
 * payload, payload. A frame is a batch of blocks (a full rewrite writes many, each checkpoint write
 * appends one). Payload, little endian:
 *   u32 nStrings, nStrings × (u32 byte length, UTF-8)        frame-local string table
 *   u32 nLabelSets, nLabelSets × (u32 n, n × (u32 name, u32 value))
 *   u32 nTenants, per tenant:
 *     u32 tenant string, u32 n blocks,
 *     columns: n × 26 ASCII ULIDs; then f64 × n for each of minTime, maxTime, numSamples,
 *     numSeries, numChunks, numTombstones, level,
 *     then n variable records (kind u8; see encodeRest).
 * Metas of an unusual shape (extra compaction fields, rewrites, file hashes, ...) are stored as the
 * compacted meta's JSON and go through the meta.json parser again. Decoding: metas-decode.ts.
 */
import type { BlockMeta } from '../../tsdb/meta.js';
import { isCommonShape } from './meta-shape.js';

export const METAS_MAGIC = Buffer.from('STRMETAS', 'latin1');
export const METAS_VERSION = 1;
export const METAS_HEADER_LEN = 12;
export const FRAME_HEADER_LEN = 8;

export const ULID_LEN = 26;
export const NONE = 0xffffffff;
export const K_SELF_SOURCE = 1;
export const K_THANOS = 2;
export const K_JSON = 4;
export const NUM_COLUMNS = 7;

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
  const body = new Sink();
  body.u32(tenants.size);
  for (const [tenant, metas] of tenants) {
    body.u32(str(tenant));
    body.u32(metas.length);
    for (const m of metas) body.ascii(m.ulid);
    for (let col = 0; col < NUM_COLUMNS; col++) {
      for (const m of metas) body.f64(column(m, col));
    }
    for (const m of metas) encodeRest(body, m, str, labelSets);
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

function column(m: BlockMeta, col: number): number {
  switch (col) {
    case 0:
      return m.minTime;
    case 1:
      return m.maxTime;
    case 2:
      return m.stats.numSamples;
    case 3:
      return m.stats.numSeries;
    case 4:
      return m.stats.numChunks;
    case 5:
      return m.stats.numTombstones;
    default:
      return m.compaction.level;
  }
}

function encodeRest(
  out: Sink,
  m: BlockMeta,
  str: (s: string) => number,
  labelSets: Map<Readonly<Record<string, string>>, number>,
): void {
  if (!isCommonShape(m)) {
    out.u8(K_JSON);
    out.utf8(JSON.stringify(m));
    return;
  }
  const src = m.compaction.sources;
  const self = src.length === 1 && src[0] === m.ulid;
  const t = m.thanos;
  out.u8((self ? K_SELF_SOURCE : 0) | (t !== undefined ? K_THANOS : 0));
  if (!self) {
    out.u32(src.length);
    for (const s of src) out.utf8(s);
  }
  if (t === undefined) return;
  let ls = labelSets.get(t.labels);
  if (ls === undefined) {
    ls = labelSets.size;
    labelSets.set(t.labels, ls);
  }
  out.u32(ls);
  out.u32(str(t.source));
  out.f64(t.downsample.resolution);
  if (t.segment_files === undefined) out.u32(NONE);
  else {
    out.u32(t.segment_files.length);
    for (const s of t.segment_files) out.u32(str(s));
  }
  if (t.files === undefined) out.u32(NONE);
  else {
    out.u32(t.files.length);
    for (const f of t.files) {
      out.u32(str(f.rel_path));
      out.u8(f.size_bytes === undefined ? 0 : 1);
      if (f.size_bytes !== undefined) out.f64(f.size_bytes);
    }
  }
  out.u8(t.index_stats === undefined ? 0 : 1);
  out.u32(t.upload_time === undefined ? NONE : str(t.upload_time));
}
