/** Option parsers shared by commands; bad values are InvalidArgumentErrors (exit code 2). */
import { Option } from 'commander';
import { InvalidArgumentError } from '../util/errors.js';
import { parseDuration } from '../util/duration.js';

export function intArg(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new InvalidArgumentError(`not a non-negative integer: "${value}"`);
  return n;
}

/** A millisecond timestamp, or an RFC 3339 time. */
export function timeArg(value: string): number {
  if (/^-?\d+$/.test(value)) {
    const n = Number(value);
    if (Number.isSafeInteger(n)) return n;
  }
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new InvalidArgumentError(`not a timestamp in ms or RFC 3339: "${value}"`);
  return t;
}

export function durationArg(value: string): number {
  return parseDuration(value);
}

export function listArg(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

/** `--log.format logfmt|json` for commands that build no logger of their own (stderr format only). */
export function logFormatOption(what = 'stderr format: logfmt or json'): Option {
  return new Option('--log.format <format>', what).choices(['logfmt', 'json']).default('logfmt');
}
