/**
 * The parts of histogram chunks shared by both encodings (Prometheus histogram_meta.go): the
 * counter-reset header (top 2 bits of byte 2), the layout written with the first sample (zero
 * threshold, schema, positive and negative spans) and the zero-threshold byte form.
 */
import { MAX_SCHEMA, MIN_SCHEMA, type CounterResetHint, type Span } from '../histogram/types.js';
import { floatHi, lastLo, bitsToFloat } from './float-bits.js';
import { putVarbitInt, putVarbitUint, type HistBitReader, type HistBitWriter } from './hist-bits.js';

/** Counter-reset header values, as stored (already shifted into the top 2 bits). */
export const HEADER_UNKNOWN = 0b0000_0000;
export const HEADER_COUNTER_RESET = 0b1000_0000;
export const HEADER_NOT_COUNTER_RESET = 0b0100_0000;
export const HEADER_GAUGE = 0b1100_0000;
export const HEADER_MASK = 0b1100_0000;
export type CounterResetHeader = number;

/** Bytes before the first sample: uint16 sample count, then the header byte. */
export const HIST_HEADER_BYTES = 3;

export function headerName(h: CounterResetHeader): string {
  switch (h & HEADER_MASK) {
    case HEADER_COUNTER_RESET:
      return 'counter-reset';
    case HEADER_NOT_COUNTER_RESET:
      return 'not-counter-reset';
    case HEADER_GAUGE:
      return 'gauge';
    default:
      return 'unknown';
  }
}

/** The header a chunk starting with a sample of this hint gets. */
export function hintToHeader(hint: CounterResetHint): CounterResetHeader {
  return hint === 1
    ? HEADER_COUNTER_RESET
    : hint === 2
      ? HEADER_NOT_COUNTER_RESET
      : hint === 3
        ? HEADER_GAUGE
        : 0;
}

/** The hint of the i-th sample (0-based) of a chunk with this header (Prometheus' rule). */
export function sampleHint(header: CounterResetHeader, i: number): CounterResetHint {
  const h = header & HEADER_MASK;
  if (h === HEADER_GAUGE) return 3;
  if (i > 0) return 2;
  return h === HEADER_COUNTER_RESET ? 1 : 0;
}

/** Zero threshold: 0 → byte 0; 2^-243..2^10 powers of two → one byte; else 255 + 8 bytes. */
export function putZeroThreshold(w: HistBitWriter, v: number): void {
  if (v === 0) {
    w.write(0, 8);
    return;
  }
  const hi = floatHi(v);
  const lo = lastLo();
  const biased = (hi >>> 20) & 0x7ff;
  // Go's Frexp exponent of 2^(biased−1023) is biased − 1022.
  const exp = biased - 1022;
  if (hi >>> 31 === 0 && (hi & 0xfffff) === 0 && lo === 0 && biased !== 0 && exp >= -242 && exp <= 11) {
    w.write(exp + 243, 8);
    return;
  }
  w.write(255, 8);
  w.write64(hi, lo, 64);
}

export function readZeroThreshold(r: HistBitReader): number {
  const b = r.read(8, 'zero threshold');
  if (b === 0) return 0;
  if (b === 255) {
    r.read64(64, 'zero threshold');
    return bitsToFloat(r.hi, r.lo);
  }
  return 2 ** (b - 244);
}

export function writeLayout(
  w: HistBitWriter,
  schema: number,
  zeroThreshold: number,
  pos: readonly Span[],
  neg: readonly Span[],
): void {
  putZeroThreshold(w, zeroThreshold);
  putVarbitInt(w, schema);
  writeSpans(w, pos);
  writeSpans(w, neg);
}

function writeSpans(w: HistBitWriter, spans: readonly Span[]): void {
  putVarbitUint(w, spans.length);
  for (const s of spans) {
    putVarbitUint(w, s.length);
    putVarbitInt(w, s.offset);
  }
}

/** What readLayout found. Span arrays are fresh per chunk (they are handed out with samples). */
export interface Layout {
  schema: number;
  zeroThreshold: number;
  positiveSpans: Span[];
  negativeSpans: Span[];
  positiveBuckets: number;
  negativeBuckets: number;
}

export function newLayout(): Layout {
  return {
    schema: 0,
    zeroThreshold: 0,
    positiveSpans: [],
    negativeSpans: [],
    positiveBuckets: 0,
    negativeBuckets: 0,
  };
}

/**
 * Reads and checks a layout: schema within MIN_SCHEMA..MAX_SCHEMA, spans after the first with
 * offset >= 0 (as Prometheus validates histograms) and no more buckets than bits left to hold
 * them (each bucket costs at least one bit per sample).
 */
export function readLayout(r: HistBitReader, out: Layout, keepSpans = true): void {
  out.zeroThreshold = readZeroThreshold(r);
  const at = r.pos;
  const schema = r.varbitInt('schema');
  if (schema < MIN_SCHEMA || schema > MAX_SCHEMA) {
    throw r.corrupt(
      `histogram schema ${schema} out of range ${MIN_SCHEMA}..${MAX_SCHEMA}` +
        (schema === -53 ? ' (custom-bucket schema -53 is not supported)' : ''),
      at,
    );
  }
  out.schema = schema;
  // Without keepSpans (a head check) the spans are parsed and checked but not kept.
  out.positiveSpans = keepSpans ? [] : NO_SPANS;
  out.positiveBuckets = readSpans(r, 'positive', out.positiveSpans, 0);
  out.negativeSpans = keepSpans ? [] : NO_SPANS;
  out.negativeBuckets = readSpans(r, 'negative', out.negativeSpans, out.positiveBuckets);
}

const NO_SPANS: Span[] = [];

/** Field names for read errors, built once: a template string per field read cost ~1 µs a chunk. */
const SPAN_FIELDS = {
  positive: { count: 'positive span count', length: 'positive span length', offset: 'positive span offset' },
  negative: { count: 'negative span count', length: 'negative span length', offset: 'negative span offset' },
} as const;

/**
 * Reads spans into `into` (unless it is NO_SPANS) and returns their bucket count, checked against
 * the bits left (`before`: buckets read already).
 */
function readSpans(r: HistBitReader, what: 'positive' | 'negative', into: Span[], before: number): number {
  const fields = SPAN_FIELDS[what];
  const at = r.pos;
  const n = r.varbitUint(fields.count);
  // Each span takes at least 2 bits.
  if (n * 2 > r.bitsLeft) throw r.corrupt(`${n} ${what} spans cannot fit in ${r.bitsLeft} bits left`, at);
  let buckets = 0;
  for (let i = 0; i < n; i++) {
    const sAt = r.pos;
    const length = r.varbitUint(fields.length);
    const offset = r.varbitInt(fields.offset);
    if (length > 0xffff_ffff || offset < -0x8000_0000 || offset > 0x7fff_ffff) {
      throw r.corrupt(`${what} span ${i} {offset ${offset}, length ${length}} outside 32 bits`, sAt);
    }
    if (i > 0 && offset < 0) throw r.corrupt(`${what} span ${i} has negative offset ${offset}`, sAt);
    if (into !== NO_SPANS) into.push({ offset, length });
    buckets += length;
  }
  if (buckets + before > r.bitsLeft) {
    throw r.corrupt(`${what} spans describe ${buckets} buckets: impossible with ${r.bitsLeft} bits left`);
  }
  return buckets;
}

/** Spans equal element by element. */
export function sameSpans(a: readonly Span[], b: readonly Span[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.offset !== b[i]!.offset || a[i]!.length !== b[i]!.length) return false;
  }
  return true;
}
