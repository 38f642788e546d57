/** Prometheus duration syntax: `0s`, `30m`, `48h`, `2d`, `1h30m`, `500ms`, `1w`, `1y`. */
import { InvalidArgumentError } from './errors.js';

const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
};
const ORDER = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];
const PART = /(\d+)(ms|y|w|d|h|m|s)/y;

/** Milliseconds in a Prometheus duration string; throws InvalidArgumentError naming the input. */
export function parseDuration(text: string): number {
  const s = text.trim();
  if (s === '0') return 0;
  if (s === '') throw new InvalidArgumentError('empty duration');
  let total = 0;
  let lastUnit = -1;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const at = PART.lastIndex;
    const m = PART.exec(s);
    if (!m)
      throw new InvalidArgumentError(
        `not a valid duration: "${text}" (at "${s.slice(at)}"; e.g. 30m, 48h, 2d)`,
      );
    const unitIdx = ORDER.indexOf(m[2]!);
    if (unitIdx <= lastUnit)
      throw new InvalidArgumentError(`not a valid duration: "${text}" (units out of order)`);
    lastUnit = unitIdx;
    total += Number(m[1]) * UNITS[m[2]!]!;
  }
  if (!Number.isSafeInteger(total)) throw new InvalidArgumentError(`duration out of range: "${text}"`);
  return total;
}

/**
 * `1h30m`, `2d`. With `largest: 'h'` no days or longer (`48h`, as Thanos' flag help and this
 * README spell defaults).
 */
export function formatDuration(ms: number, largest: 'y' | 'h' = 'y'): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const u of ORDER.slice(ORDER.indexOf(largest))) {
    const n = Math.floor(rest / UNITS[u]!);
    if (n > 0) {
      out += `${n}${u}`;
      rest -= n * UNITS[u]!;
    }
  }
  return out;
}
