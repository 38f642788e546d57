/**
 * meta.json's `thanos.upload_time`: how Strata writes it, and the two forms that are a millisecond
 * time and nothing more (so a table can keep 8 bytes instead of the text and give the same text
 * back).
 */

/** RFC 3339 with nanoseconds-style fraction trimmed like Go's RFC3339Nano (no trailing zeros). */
export function formatUploadTime(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2024-01-02T03:04:05.678Z
  return iso.replace(/\.?0+Z$/, 'Z');
}

/**
 * How an upload time's text follows from its milliseconds: 1, `Date#toISOString` (always three
 * fraction digits); 2, formatUploadTime (no trailing zeros, no fraction when zero).
 */
export type UploadTimeForm = 1 | 2;
export const UPLOAD_TIME_ISO = 1;
export const UPLOAD_TIME_TRIMMED = 2;

/** The upload time text of `ms` in `form`. */
export function uploadTimeText(ms: number, form: UploadTimeForm): string {
  return form === UPLOAD_TIME_ISO ? new Date(ms).toISOString() : formatUploadTime(ms);
}

/** The form of a text exactUploadTimeMs accepted. */
export function uploadTimeForm(s: string): UploadTimeForm {
  return s.length === 24 ? UPLOAD_TIME_ISO : UPLOAD_TIME_TRIMMED;
}

/**
 * The milliseconds of `s` when uploadTimeText(ms, uploadTimeForm(s)) gives `s` back exactly (UTC,
 * years 1970–9999, every field in range), else NaN. Character by character: called per block.
 */
export function exactUploadTimeMs(s: string): number {
  const n = s.length;
  if (n < 20 || n > 24 || s.charCodeAt(n - 1) !== 0x5a /* Z */) return NaN;
  if (s[4] !== '-' || s[7] !== '-' || s[10] !== 'T' || s[13] !== ':' || s[16] !== ':') return NaN;
  const y = digits(s, 0, 4);
  const mo = digits(s, 5, 2);
  const d = digits(s, 8, 2);
  const h = digits(s, 11, 2);
  const mi = digits(s, 14, 2);
  const sec = digits(s, 17, 2);
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo)) return NaN;
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) return NaN;
  let frac = 0;
  if (n > 20) {
    // '.', one to three digits, 'Z'. Three are toISOString's (a trailing zero included); fewer
    // are formatUploadTime's, which never ends the fraction in a zero.
    if (s[19] !== '.' || n === 21) return NaN;
    const k = n - 21;
    const f = digits(s, 20, k);
    if (f < 0) return NaN;
    frac = f * (k === 1 ? 100 : k === 2 ? 10 : 1);
    if (k < 3 && s.charCodeAt(n - 2) === 0x30) return NaN;
  }
  return Date.UTC(y, mo - 1, d, h, mi, sec, frac);
}

/** The decimal value of s[at, at + n), or -1 when a character is not a digit. */
function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

function daysIn(y: number, mo: number): number {
  if (mo === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31;
}
