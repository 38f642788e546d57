/** Label matchers with Prometheus semantics; a missing label matches as the empty string. */
import { goQuote } from '../goquote.js';
import { InvalidArgumentError } from '../../util/errors.js';
import { compileRegex, type RegexOptions } from './regex.js';

export type MatchType = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  readonly type: MatchType;
  readonly name: string;
  readonly value: string;
  /** Literal values a `=~` matcher matches exactly (alternation of literals), else null. */
  readonly setMatches: readonly string[] | null;
  matches(value: string): boolean;
}

const TYPES: ReadonlySet<string> = new Set(['=', '!=', '=~', '!~']);

/** Builds a matcher, compiling regexes (RegexSyntaxError, an InvalidArgumentError, when invalid). */
export function newMatcher(
  type: MatchType,
  name: string,
  value: string,
  options: RegexOptions = {},
): Matcher {
  if (!TYPES.has(type)) throw new InvalidArgumentError(`unknown match type ${JSON.stringify(type)}`);
  if (typeof name !== 'string' || typeof value !== 'string') {
    throw new InvalidArgumentError('matcher name and value must be strings');
  }
  switch (type) {
    case '=':
      return { type, name, value, setMatches: [value], matches: (v) => v === value };
    case '!=':
      return { type, name, value, setMatches: null, matches: (v) => v !== value };
    case '=~': {
      const re = compileRegex(value, options);
      return { type, name, value, setMatches: re.setMatches, matches: re.matches };
    }
    case '!~': {
      const re = compileRegex(value, options);
      const m = re.matches;
      return { type, name, value, setMatches: null, matches: (v) => !m(v) };
    }
  }
}

/** Match types by their number in the Thanos Store API and Prometheus' prompb (same in both). */
const WIRE_TYPES: readonly MatchType[] = ['=', '!=', '=~', '!~'];

/** A matcher from a wire LabelMatcher (type EQ=0, NEQ=1, RE=2, NRE=3); an unknown type is an InvalidArgumentError. */
export function matcherFromWire(
  type: number,
  name: string,
  value: string,
  options: RegexOptions = {},
): Matcher {
  const t = WIRE_TYPES[type];
  if (t === undefined)
    throw new InvalidArgumentError(`unknown label matcher type ${type} for label ${JSON.stringify(name)}`);
  // No label has an empty name, so such a matcher is a malformed request, not an empty answer.
  if (name === '')
    throw new InvalidArgumentError(`label matcher ${t}${JSON.stringify(value)} has an empty label name`);
  return newMatcher(t, name, value, options);
}

/** The wire number of a match type (inverse of matcherFromWire). */
export function wireMatchType(type: MatchType): number {
  return WIRE_TYPES.indexOf(type);
}

const INVERSE: Record<MatchType, MatchType> = { '=': '!=', '!=': '=', '=~': '!~', '!~': '=~' };

/** The opposite matcher, sharing the compiled regex. */
export function inverseMatcher(m: Matcher): Matcher {
  const type = INVERSE[m.type];
  const inner = m.matches;
  const setMatches = type === '=' ? [m.value] : null;
  return { type, name: m.name, value: m.value, setMatches, matches: (v) => !inner(v) };
}

/** Prometheus' Matcher.String(): name, operator, Go-quoted value. */
export function formatMatcher(m: Matcher): string {
  return `${m.name}${m.type}${goQuote(m.value)}`;
}

export { parseSelector, SelectorParseError } from './selector.js';
