/**
 * Series entries: uvarint len, body, CRC32C(body). Body: label refs, then chunk metas
 * delta-encoded against the previous chunk.
 */
import { Decbuf, be32At } from '../encoding/decbuf.js';
import { FormatError } from '../../util/errors.js';
import type { Encbuf } from '../encoding/encbuf.js';
import { crc32cRange } from '../encoding/crc32c.js';
import type { ChunkMeta } from './format.js';

/** A label whose fields the series decoder overwrites in place. */
export interface MutableLabel {
  name: string;
  value: string;
}

/**
 * The symbol table series labels resolve through, or only its size: then the decoders fill
 * `labelRefs` and leave `labels` empty (the lean reader's walks).
 */
export type SeriesSymbols = readonly string[] | number;

/** Decoded series, reused between decodes: copy what you keep. */
export class SeriesScratch {
  id = 0;
  labels: MutableLabel[] = [];
  chunks: ChunkMeta[] = [];
  /** nameRef, valueRef pairs of the labels, 2 per label: the first 2 * numLabels are valid. */
  labelRefs = new Uint32Array(32);
  numLabels = 0;
  /** Entry size in bytes: uvarint len + body + CRC. */
  entrySize = 0;
}

/** Appends uvarint(len) body CRC for the given label refs and chunks. */
export function encodeSeriesEntry(
  out: Encbuf,
  body: Encbuf,
  refs: Uint32Array,
  numLabels: number,
  chunks: readonly ChunkMeta[],
): void {
  body.reset();
  body.putUvarint(numLabels);
  for (let i = 0; i < 2 * numLabels; i++) body.putUvarint(refs[i]!);
  body.putUvarint(chunks.length);
  let prevMaxt = 0;
  let prevRef = 0;
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i]!;
    if (i === 0) {
      body.putVarint(c.mint);
      body.putUvarint(c.maxt - c.mint);
      body.putUvarint(c.ref);
    } else {
      body.putUvarint(c.mint - prevMaxt);
      body.putUvarint(c.maxt - c.mint);
      body.putVarint(c.ref - prevRef);
    }
    prevMaxt = c.maxt;
    prevRef = c.ref;
  }
  const view = body.view();
  out.putUvarint(view.length);
  out.putBytes(view);
  out.putBE32(crc32cRange(view, 0, view.length));
}

const TWO_49 = 2 ** 49;

/**
 * A uvarint that Go wrote from an int64 difference: negative deltas (overlapping chunks in
 * damaged blocks) arrive as huge uint64 values and must wrap back, not be rejected.
 */
function deltaInt64(d: Decbuf): number {
  const b = d.buf;
  const start = d.pos;
  let value = 0;
  let mul = 1;
  let p = start;
  while (mul < TWO_49 && p < d.end) {
    const byte = b[p++]!;
    value += (byte & 0x7f) * mul;
    if (byte < 0x80) {
      d.pos = p;
      return value;
    }
    mul *= 128;
  }
  const big = BigInt.asIntN(64, d.uvarintBig());
  if (big > 9007199254740991n || big < -9007199254740991n) {
    d.fail('ERR_TSDB_CORRUPT', `chunk time delta ${big} exceeds 2^53`, start);
  }
  return Number(big);
}

function safe(d: Decbuf, v: number, what: string, at: number): number {
  if (!Number.isSafeInteger(v))
    d.fail('ERR_TSDB_CORRUPT', `${what} ${v} is outside the exact integer range`, at);
  return v;
}

/**
 * Decodes a series body from `d` (positioned at the body, ending at the body end) into `out`.
 * Every count is checked against the bytes left before anything is allocated.
 */
export function decodeSeriesBody(d: Decbuf, symbols: SeriesSymbols, out: SeriesScratch): void {
  const resolve = typeof symbols !== 'number';
  const nsym = resolve ? symbols.length : symbols;
  const kAt = d.pos;
  const k = d.uvarint();
  if (k * 2 > d.remaining)
    d.fail('ERR_TSDB_CORRUPT', `series claims ${k} labels in ${d.remaining} bytes`, kAt);
  if (out.labelRefs.length < 2 * k)
    out.labelRefs = new Uint32Array(Math.max(2 * k, out.labelRefs.length * 2));
  const refs = out.labelRefs;
  const labels = out.labels;
  for (let i = 0; i < k; i++) {
    const at = d.pos;
    const n = d.uvarint();
    const v = d.uvarint();
    if (n >= nsym) d.fail('ERR_TSDB_CORRUPT', `label name symbol ${n} out of range (${nsym} symbols)`, at);
    if (v >= nsym) d.fail('ERR_TSDB_CORRUPT', `label value symbol ${v} out of range (${nsym} symbols)`, at);
    refs[2 * i] = n;
    refs[2 * i + 1] = v;
    if (!resolve) continue;
    const l = labels[i];
    if (l === undefined) {
      labels.push({ name: symbols[n]!, value: symbols[v]! });
    } else {
      l.name = symbols[n]!;
      l.value = symbols[v]!;
    }
  }
  labels.length = resolve ? k : 0;
  out.numLabels = k;

  const cAt = d.pos;
  const c = d.uvarint();
  if (c * 3 > d.remaining)
    d.fail('ERR_TSDB_CORRUPT', `series claims ${c} chunks in ${d.remaining} bytes`, cAt);
  const chunks = out.chunks;
  let prevMaxt = 0;
  let prevRef = 0;
  for (let i = 0; i < c; i++) {
    const at = d.pos;
    let mint: number;
    let maxt: number;
    let ref: number;
    if (i === 0) {
      mint = d.varint();
      maxt = safe(d, mint + deltaInt64(d), 'chunk maxt', at);
      ref = d.uvarint();
    } else {
      mint = safe(d, prevMaxt + deltaInt64(d), 'chunk mint', at);
      maxt = safe(d, mint + deltaInt64(d), 'chunk maxt', at);
      ref = prevRef + d.varint();
      if (ref < 0 || !Number.isSafeInteger(ref))
        d.fail('ERR_TSDB_CORRUPT', `chunk reference ${ref} is invalid`, at);
    }
    const m = chunks[i];
    if (m === undefined) {
      chunks.push({ mint, maxt, ref });
    } else {
      m.mint = mint;
      m.maxt = maxt;
      m.ref = ref;
    }
    prevMaxt = maxt;
    prevRef = ref;
  }
  chunks.length = c;
  if (d.remaining !== 0)
    d.fail('ERR_TSDB_CORRUPT', `${d.remaining} unexpected bytes at the end of a series entry`);
}

/**
 * Decodes one entry starting at `start` within `buf` (file offset `baseOffset` of buf[0]); the
 * series section ends at file offset `limit`. Returns the entry's end position in `buf`, or -1
 * when `buf` (valid up to `end`) does not hold the whole entry: then `out.entrySize` is the number
 * of bytes needed from `start` (0 if not known yet), always within `limit`.
 */
export function decodeSeriesEntry(
  buf: Uint8Array,
  start: number,
  end: number,
  limit: number,
  file: string,
  baseOffset: number,
  symbols: SeriesSymbols,
  out: SeriesScratch,
): number {
  const atLimit = baseOffset + end >= limit;
  const stop = atLimit ? limit - baseOffset : end;
  // A uvarint needs at most 10 bytes; short of that near the buffer end, ask for more data.
  if (!atLimit && end - start < 10) {
    let complete = false;
    for (let p = start; p < end; p++) {
      if (buf[p]! < 0x80) {
        complete = true;
        break;
      }
    }
    if (!complete) {
      out.entrySize = 0;
      return -1;
    }
  }
  // Entry length: a uvarint, read by hand to keep this path to one Decbuf.
  let len = 0;
  let mul = 1;
  let p = start;
  for (;;) {
    if (p >= stop || mul >= 2 ** 49) {
      throw new FormatError('ERR_TSDB_CORRUPT', file, baseOffset + start, 'bad series entry length');
    }
    const b = buf[p++]!;
    len += (b & 0x7f) * mul;
    if (b < 0x80) break;
    mul *= 128;
  }
  if (len === 0)
    throw new FormatError('ERR_TSDB_CORRUPT', file, baseOffset + start, 'series entry of length 0');
  const bodyStart = p;
  const bodyEnd = bodyStart + len;
  const entryEnd = bodyEnd + 4;
  if (baseOffset + entryEnd > limit) {
    throw new FormatError(
      'ERR_TSDB_TRUNCATED',
      file,
      baseOffset + start,
      `series entry of ${len} bytes runs past the end of the series section`,
    );
  }
  if (entryEnd > end) {
    out.entrySize = entryEnd - start;
    return -1;
  }
  const want = be32At(buf, bodyEnd);
  if (crc32cRange(buf, bodyStart, bodyEnd) !== want) {
    throw new FormatError('ERR_TSDB_CHECKSUM', file, baseOffset + start, 'series entry checksum mismatch');
  }
  decodeSeriesBody(new Decbuf(buf, bodyStart, bodyEnd, file, baseOffset), symbols, out);
  out.entrySize = entryEnd - start;
  return entryEnd;
}
