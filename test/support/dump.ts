/**
 * Pure helpers for `promtool tsdb dump` output (see docs/promtool-facts.md).
 *
 * A dump line is `{name="value", ...} VALUE TIMESTAMP_MS`: labels as Prometheus' labels.String()
 * (values through Go's strconv.Quote), the value through Go's `%g`, the timestamp in decimal ms.
 * This module parses such lines, orders and dedupes them like promtool, diffs two dumps for
 * assertion messages, and holds an independent reference formatter (Go `%g`; strconv.Quote as promtool
 * 2.42 / Go 1.19 prints it comes from src/tsdb/goquote.ts, measured against promtool) used to state what promtool must print for given samples.
 */
import { goQuote } from '../../src/tsdb/goquote.js';

export { goQuote, isGoPrint } from '../../src/tsdb/goquote.js';

/** One sample: the full label set (including `__name__`), timestamp in ms, float value. */
export interface Sample {
  labels: Record<string, string>;
  t: number;
  v: number;
}

/** A dump line split into its three fields, all kept as promtool printed them. */
export interface DumpLine {
  /** The `{...}` part, exactly as printed. */
  labels: string;
  /** The `%g` value text, e.g. `1e+06`, `-0`, `NaN`, `+Inf`. */
  value: string;
  /** Timestamp in ms. */
  t: number;
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** Splits a dump line at its last two spaces (values and timestamps never contain spaces). */
export function parseDumpLine(line: string): DumpLine {
  const tsSpace = line.lastIndexOf(' ');
  const valueSpace = tsSpace > 0 ? line.lastIndexOf(' ', tsSpace - 1) : -1;
  if (valueSpace <= 0 || !line.startsWith('{')) throw new Error(`not a dump line: ${JSON.stringify(line)}`);
  const labels = line.slice(0, valueSpace);
  const value = line.slice(valueSpace + 1, tsSpace);
  const tText = line.slice(tsSpace + 1);
  if (!labels.endsWith('}') || !/^-?\d+$/.test(tText))
    throw new Error(`not a dump line: ${JSON.stringify(line)}`);
  return { labels, value, t: Number(tText) };
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
  "'": "'",
};

/**
 * Reads one Go double-quoted string literal starting at `s[start]` (which must be `"`).
 * Returns the decoded text and the index just past the closing quote.
 * `\xNN` escapes of bytes >= 0x80 (invalid UTF-8 in the original) decode to U+FFFD.
 */
export function readGoQuoted(s: string, start: number): { text: string; end: number } {
  if (s[start] !== '"') throw new Error(`expected '"' at ${start} in ${JSON.stringify(s)}`);
  let out = '';
  let i = start + 1;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '"') return { text: out, end: i + 1 };
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const e = s[i + 1];
    if (e === undefined) break;
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      out += simple;
      i += 2;
      continue;
    }
    const width = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (width === 0) throw new Error(`unknown escape \\${e} in ${JSON.stringify(s)}`);
    const hex = s.slice(i + 2, i + 2 + width);
    if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== width)
      throw new Error(`bad escape in ${JSON.stringify(s)}`);
    const cp = parseInt(hex, 16);
    out += e === 'x' && cp >= 0x80 ? '\ufffd' : String.fromCodePoint(cp);
    i += 2 + width;
  }
  throw new Error(`unterminated quoted string in ${JSON.stringify(s)}`);
}

/** Parses a labels.String() text `{a="x", b="y"}` into a record. */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text.startsWith('{') || !text.endsWith('}'))
    throw new Error(`not a label set: ${JSON.stringify(text)}`);
  let i = 1;
  if (text[i] === '}') return out;
  for (;;) {
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`bad label set: ${JSON.stringify(text)}`);
    const name = text.slice(i, eq);
    const { text: value, end } = readGoQuoted(text, eq + 1);
    out[name] = value;
    if (text[end] === '}' && end === text.length - 1) return out;
    if (text.slice(end, end + 2) !== ', ') throw new Error(`bad label set: ${JSON.stringify(text)}`);
    i = end + 2;
  }
}

/** Parses a `%g` value as promtool prints it (`NaN`, `+Inf`, `-Inf`, `-0` included). */
export function parseDumpValue(text: string): number {
  if (text === 'NaN') return NaN;
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  const v = Number(text);
  if (Number.isNaN(v)) throw new Error(`not a %g value: ${JSON.stringify(text)}`);
  return v;
}

/** A dump line as a Sample. */
export function dumpLineToSample(line: string): Sample {
  const d = parseDumpLine(line);
  return { labels: parseLabels(d.labels), t: d.t, v: parseDumpValue(d.value) };
}

// ---------------------------------------------------------------------------------------------
// Ordering (Go string order = UTF-8 byte order)

/** Maps a UTF-16 code unit so that comparing mapped units orders strings like their UTF-8 bytes. */
function utf8Rank(unit: number): number {
  if (unit < 0xd800) return unit;
  if (unit < 0xe000) return unit + 0x2000; // surrogate pairs encode U+10000.., above U+E000..U+FFFF
  return unit - 0x800;
}

/** Compares two strings by their UTF-8 bytes, as Go does. */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return utf8Rank(x) - utf8Rank(y);
  }
  return a.length - b.length;
}

/** Label pairs sorted by name (UTF-8 byte order). */
export function sortedLabelPairs(labels: Readonly<Record<string, string>>): [string, string][] {
  return Object.keys(labels)
    .sort(compareUtf8)
    .map((k): [string, string] => [k, labels[k]!]);
}

/** Prometheus' labels.Compare: pairwise by name then value; a prefix sorts first. */
export function compareLabelSets(
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
): number {
  const pa = sortedLabelPairs(a);
  const pb = sortedLabelPairs(b);
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const c = compareUtf8(pa[i]![0], pb[i]![0]) || compareUtf8(pa[i]![1], pb[i]![1]);
    if (c !== 0) return c;
  }
  return pa.length - pb.length;
}

/**
 * Samples in promtool dump order: series by labels.Compare, then timestamp. Returns a new array.
 * Samples sharing one labels object are keyed once (fast for generated data).
 */
export function sortSamples(samples: readonly Sample[]): Sample[] {
  const pairsByObject = new Map<Readonly<Record<string, string>>, [string, string][]>();
  const keyed = samples.map((s) => {
    let pairs = pairsByObject.get(s.labels);
    if (pairs === undefined) {
      pairs = sortedLabelPairs(s.labels);
      pairsByObject.set(s.labels, pairs);
    }
    return { s, pairs };
  });
  keyed.sort((x, y) => (x.pairs === y.pairs ? 0 : comparePairs(x.pairs, y.pairs)) || x.s.t - y.s.t);
  return keyed.map((k) => k.s);
}

function comparePairs(pa: readonly [string, string][], pb: readonly [string, string][]): number {
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const c = compareUtf8(pa[i]![0], pb[i]![0]) || compareUtf8(pa[i]![1], pb[i]![1]);
    if (c !== 0) return c;
  }
  return pa.length - pb.length;
}

/**
 * Dump lines in promtool's order (series by labels.Compare on the parsed labels, then ts; value
 * text breaks ties so the result does not depend on input order).
 * promtool already prints one DIR in this order; use this for concatenated or crafted dumps.
 * Plain string sorting is NOT the same order (`{a="x"}` sorts after `{a="x", b="y"}`).
 */
export function sortDumpLines(lines: readonly string[]): string[] {
  const cache = new Map<string, [string, string][]>();
  const pairsOf = (labels: string): [string, string][] => {
    let p = cache.get(labels);
    if (p === undefined) {
      p = sortedLabelPairs(parseLabels(labels));
      cache.set(labels, p);
    }
    return p;
  };
  const keyed = lines.map((line) => ({ line, d: parseDumpLine(line) }));
  keyed.sort(
    (x, y) =>
      comparePairs(pairsOf(x.d.labels), pairsOf(y.d.labels)) ||
      x.d.t - y.d.t ||
      compareUtf8(x.d.value, y.d.value),
  );
  return keyed.map((k) => k.line);
}

/** Keeps the first line for each (series, timestamp); order otherwise unchanged. */
export function dedupeDump(lines: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const line of lines) {
    const d = parseDumpLine(line);
    const key = `${d.t} ${d.labels}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(line);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Diff

export interface DiffOptions {
  /** How many differences to list (default 10). */
  maxLines?: number;
  /** Sort both sides into promtool order first (default true). */
  sort?: boolean;
}

/**
 * Compares two dumps line by line, keyed by (series, timestamp). Returns undefined when they are
 * identical, otherwise a short text for an assertion message: counts, then the first differences as
 * `- expected`, `+ actual` and `~ series t: expected V1, got V2` lines.
 */
export function diffDumps(
  expected: readonly string[],
  actual: readonly string[],
  opts: DiffOptions = {},
): string | undefined {
  const maxLines = opts.maxLines ?? 10;
  const sort = opts.sort ?? true;
  const e = sort ? sortDumpLines(expected) : [...expected];
  const a = sort ? sortDumpLines(actual) : [...actual];
  if (e.length === a.length && e.every((l, i) => l === a[i])) return undefined;

  const cmp = (x: DumpLine, y: DumpLine): number =>
    (x.labels === y.labels ? 0 : comparePairs(pairs(x.labels), pairs(y.labels))) || x.t - y.t;
  const pairCache = new Map<string, [string, string][]>();
  const pairs = (labels: string): [string, string][] => {
    let p = pairCache.get(labels);
    if (p === undefined) {
      p = sortedLabelPairs(parseLabels(labels));
      pairCache.set(labels, p);
    }
    return p;
  };

  const diffs: string[] = [];
  let missing = 0;
  let extra = 0;
  let changed = 0;
  let i = 0;
  let j = 0;
  while (i < e.length || j < a.length) {
    const de = i < e.length ? parseDumpLine(e[i]!) : undefined;
    const da = j < a.length ? parseDumpLine(a[j]!) : undefined;
    const c = de === undefined ? 1 : da === undefined ? -1 : cmp(de, da);
    if (c < 0) {
      missing++;
      if (diffs.length < maxLines) diffs.push(`- ${e[i]}`);
      i++;
    } else if (c > 0) {
      extra++;
      if (diffs.length < maxLines) diffs.push(`+ ${a[j]}`);
      j++;
    } else {
      if (de!.value !== da!.value) {
        changed++;
        if (diffs.length < maxLines)
          diffs.push(`~ ${de!.labels} ${de!.t}: expected ${de!.value}, got ${da!.value}`);
      }
      i++;
      j++;
    }
  }
  if (missing + extra + changed === 0) {
    // Same (series, ts, value) multiset but different order or duplicates.
    return `dumps differ only in order or duplicate lines (expected ${e.length} lines, got ${a.length})`;
  }
  const total = missing + extra + changed;
  const head = `dumps differ: expected ${e.length} lines, got ${a.length}; ${missing} missing (-), ${extra} unexpected (+), ${changed} with other values (~)`;
  const more = total > diffs.length ? `\n  ... and ${total - diffs.length} more` : '';
  return `${head}\n  ${diffs.join('\n  ')}${more}`;
}

// ---------------------------------------------------------------------------------------------
// Reference formatter: what promtool 2.42 prints

/** Decimal digits (no leading/trailing zeros) and decimal point position of JS's shortest repr. */
function shortestDigits(abs: number): { digits: string; dp: number } {
  // Number.prototype.toString gives the shortest round-trip digits, nearest on ties (like Go).
  let s = String(abs);
  let exp = 0;
  const ei = s.indexOf('e');
  if (ei >= 0) {
    exp = Number(s.slice(ei + 1));
    s = s.slice(0, ei);
  }
  const dot = s.indexOf('.');
  const intPart = dot >= 0 ? s.slice(0, dot) : s;
  const fracPart = dot >= 0 ? s.slice(dot + 1) : '';
  let digits = intPart + fracPart;
  let dp = intPart.length + exp;
  const lead = /^0*/.exec(digits)![0].length;
  digits = digits.slice(lead);
  dp -= lead;
  digits = digits.replace(/0+$/, '');
  return { digits, dp };
}

/**
 * Go's `fmt.Sprintf("%g", v)` for a float64: shortest round-trip digits d1..dn with decimal
 * exponent x = dp-1; exponent form `d1.d2..dne±XX` (at least two exponent digits) when x < -4 or
 * x >= 6, otherwise plain decimal with exactly those digits; `NaN`, `+Inf`, `-Inf`, `-0`.
 */
export function formatGoG(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const sign = v < 0 ? '-' : '';
  const { digits, dp } = shortestDigits(Math.abs(v));
  const x = dp - 1;
  if (x < -4 || x >= 6) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const ax = Math.abs(x);
    return `${sign}${mant}e${x < 0 ? '-' : '+'}${ax < 10 ? '0' : ''}${ax}`;
  }
  if (dp <= 0) return `${sign}0.${'0'.repeat(-dp)}${digits}`;
  if (dp >= digits.length) return `${sign}${digits}${'0'.repeat(dp - digits.length)}`;
  return `${sign}${digits.slice(0, dp)}.${digits.slice(dp)}`;
}

/** Prometheus labels.String(): `{__name__="m", a="b"}`, names sorted by UTF-8 bytes, raw. */
export function formatLabelSet(labels: Readonly<Record<string, string>>): string {
  return `{${sortedLabelPairs(labels)
    .map(([k, v]) => `${k}=${goQuote(v)}`)
    .join(', ')}}`;
}

/** The line promtool 2.42 prints for one sample. */
export function formatDumpLine(s: Sample): string {
  return `${formatLabelSet(s.labels)} ${formatGoG(s.v)} ${s.t}`;
}

/** The dump promtool prints for these samples: promtool order, one line per (series, ts) (first kept). */
export function samplesToDump(samples: readonly Sample[]): string[] {
  return dedupeDump(sortSamples(samples).map(formatDumpLine));
}
