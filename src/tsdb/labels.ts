/**
 * Label sets as Prometheus orders and prints them. Strings compare by UTF-8 bytes (Go's string
 * order), which differs from JS's UTF-16 order for characters above U+FFFF vs U+E000..U+FFFF.
 */
import { goQuote } from './goquote.js';

export interface Label {
  readonly name: string;
  readonly value: string;
}

/** Sorted by name, names unique. */
export type Labels = readonly Label[];

export const METRIC_NAME = '__name__';

/** Maps a UTF-16 code unit so that comparing mapped units orders strings like their UTF-8 bytes. */
function utf8Rank(c: number): number {
  if (c < 0xd800) return c;
  if (c < 0xe000) return c + 0x2000; // surrogates encode code points above U+FFFF
  return c - 0x800;
}

/** Go-style bytewise comparison of two strings' UTF-8 encodings. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca !== cb) return utf8Rank(ca) - utf8Rank(cb);
  }
  return a.length - b.length;
}

export function compareLabels(a: Labels, b: Labels): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.name !== y.name) return compareStrings(x.name, y.name);
    if (x.value !== y.value) return compareStrings(x.value, y.value);
  }
  return a.length - b.length;
}

export function labelsEqual(a: Labels, b: Labels): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.name !== b[i]!.name || a[i]!.value !== b[i]!.value) return false;
  }
  return true;
}

/** Sorted labels from a plain object; empty values are dropped, as Prometheus does. */
export function labelsFromRecord(rec: Readonly<Record<string, string>>): Labels {
  return Object.keys(rec)
    .filter((k) => rec[k] !== '')
    .sort(compareStrings)
    .map((name) => ({ name, value: rec[name]! }));
}

export function labelsToRecord(ls: Labels): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of ls) out[l.name] = l.value;
  return out;
}

export function getLabel(ls: Labels, name: string): string {
  for (const l of ls) if (l.name === name) return l.value;
  return '';
}

/** Prometheus' labels.String(): `{__name__="m", a="b"}`. */
export function formatLabels(ls: Labels): string {
  let out = '{';
  for (let i = 0; i < ls.length; i++) {
    if (i > 0) out += ', ';
    out += ls[i]!.name + '=' + goQuote(ls[i]!.value);
  }
  return out + '}';
}
