/**
 * Pure helpers for `promtool tsdb dump` output (see docs/promtool-facts.md).
 *
 * A dump line is `{name="value", ...} VALUE TIMESTAMP_MS`: labels as Prometheus' labels.String()
 * (values through Go's strconv.Quote), the value through Go's `%g`, the timestamp in decimal ms.
 * This module parses such lines, orders and dedupes them like promtool, diffs two dumps for
 * assertion messages, and holds an independent reference formatter (Go `%g`, strconv.Quote as
 * promtool 2.42 / Go 1.19 prints it) used to state what promtool must print for given samples.
 */

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

/**
 * Code points that this Node (ICU, Unicode 15.1+) classes as L/M/N/P/S but that promtool 2.42
 * (Go 1.19, Unicode 13.0.0 tables) prints escaped: they were assigned after Unicode 13.
 * Measured by feeding every code point through promtool (docs/promtool-facts.md). Hex ranges.
 */
const ESCAPED_BY_GO119 =
  '61d 870-88f 897-89f 8b5 8c8-8d2 c3c c5c-c5d cdc-cdd cf3 ece 170d 1715 171f 180f 1ac1-1add 1ae0-1aeb ' +
  '1b4c 1b4e-1b4f 1b7d-1b7f 1c89-1c8a 1dfa 20c0-20c1 2427-2429 2b96 2c2f 2c5f 2e53-2e5d 2ffc-2fff ' +
  '31e4-31e5 31ef 9ffd-9fff a7c0-a7c1 a7cb-a7dc a7f1-a7f4 fbc2-fbd2 fd40-fd4f fd90-fd91 fdc8-fdcf ' +
  'fdfe-fdff 10570-1057a 1057c-1058a 1058c-10592 10594-10595 10597-105a1 105a3-105b1 105b3-105b9 ' +
  '105bb-105bc 105c0-105f3 10780-10785 10787-107b0 107b2-107ba 10940-10959 10d40-10d65 10d69-10d85 ' +
  '10d8e-10d8f 10ec2-10ec7 10ed0-10ed8 10efa-10eff 10f70-10f89 11070-11075 110c2 1123f-11241 ' +
  '11380-11389 1138b 1138e 11390-113b5 113b7-113c0 113c2 113c5 113c7-113ca 113cc-113d5 113d7-113d8 ' +
  '113e1-113e2 116b9 116d0-116e3 11740-11746 11ab0-11abf 11b00-11b09 11b60-11b67 11bc0-11be1 ' +
  '11bf0-11bf9 11db0-11ddb 11de0-11de9 11f00-11f10 11f12-11f3a 11f3e-11f5a 12f90-12ff2 1342f ' +
  '13440-13455 13460-143fa 16100-16139 16a70-16abe 16ac0-16ac9 16d40-16d79 16ea0-16eb8 16ebb-16ed3 ' +
  '16ff2-16ff6 187f8-187ff 18cff 18d09-18d1e 18d80-18df2 1aff0-1aff3 1aff5-1affb 1affd-1affe ' +
  '1b11f-1b122 1b132 1b155 1cc00-1ccfc 1cd00-1ceb3 1ceba-1ced0 1cee0-1cef0 1cf00-1cf2d 1cf30-1cf46 ' +
  '1cf50-1cfc3 1d1e9-1d1ea 1d2c0-1d2d3 1df00-1df1e 1df25-1df2a 1e030-1e06d 1e08f 1e290-1e2ae ' +
  '1e4d0-1e4f9 1e5d0-1e5fa 1e5ff 1e6c0-1e6de 1e6e0-1e6f5 1e6fe-1e6ff 1e7e0-1e7e6 1e7e8-1e7eb ' +
  '1e7ed-1e7ee 1e7f0-1e7fe 1f6d8 1f6dc-1f6df 1f774-1f77f 1f7d9 1f7f0 1f8b2-1f8bb 1f8c0-1f8c1 ' +
  '1f8d0-1f8d8 1f979 1f9cc 1fa54-1fa57 1fa75-1fa77 1fa7b-1fa7c 1fa87-1fa8a 1fa8e-1fa8f 1faa9-1faaf ' +
  '1fab7-1fabf 1fac3-1fac6 1fac8 1facd-1facf 1fad7-1fadc 1fadf-1faea 1faef-1faf8 1fbcb-1fbef 1fbfa ' +
  '2a6de-2a6df 2b735-2b73f 2cea2-2cead 2ebf0-2ee5d 31350-33479';

const ESCAPED_RANGES: readonly (readonly [number, number])[] = ESCAPED_BY_GO119.split(' ').map((r) => {
  const [a, b] = r.split('-');
  return [parseInt(a!, 16), parseInt(b ?? a!, 16)] as const;
});

function escapedByGo119(cp: number): boolean {
  let lo = 0;
  let hi = ESCAPED_RANGES.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [a, b] = ESCAPED_RANGES[mid]!;
    if (cp < a) hi = mid - 1;
    else if (cp > b) lo = mid + 1;
    else return true;
  }
  return false;
}

const GRAPHIC = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** strconv.IsPrint as compiled into promtool 2.42 (Go 1.19, Unicode 13.0.0). */
export function isGoPrint(cp: number): boolean {
  if (cp < 0x80) return cp >= 0x20 && cp < 0x7f;
  if (cp >= 0xd800 && cp <= 0xdfff) return false;
  return GRAPHIC.test(String.fromCodePoint(cp)) && !escapedByGo119(cp);
}

const HEX = '0123456789abcdef';
const NAMED_ESCAPES: Readonly<Record<number, string>> = {
  0x07: '\\a',
  0x08: '\\b',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x0b: '\\v',
};

/**
 * Go's strconv.Quote for a valid UTF-8 string (as promtool 2.42 prints label values): `"` and `\`
 * backslashed; printable runes raw; \a \b \f \n \r \t \v; other runes < 0x20 and 0x7F as `\xNN`;
 * other non-printable runes < 0x10000 as `\uNNNN`, above as `\UNNNNNNNN` (lowercase hex).
 * A lone surrogate (impossible in valid UTF-8) is printed as Go prints invalid UTF-8: `\ufffd`.
 */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0x22 || cp === 0x5c) out += '\\' + ch;
    else if (isGoPrint(cp)) out += ch;
    else if (NAMED_ESCAPES[cp] !== undefined) out += NAMED_ESCAPES[cp];
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${HEX[cp >> 4]}${HEX[cp & 15]}`;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd';
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return out + '"';
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
