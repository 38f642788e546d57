import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../util/errors.js';
import { formatMatcher, inverseMatcher, newMatcher, parseSelector, SelectorParseError } from './matchers.js';

const show = (text: string): string[] => parseSelector(text).map(formatMatcher);

describe('parseSelector', () => {
  it('parses metric names, braces, all operators and trailing commas', () => {
    expect(show('up')).toEqual(['__name__="up"']);
    expect(show('  ns:rate_5m  ')).toEqual(['__name__="ns:rate_5m"']);
    expect(show('up{job="api", instance=~"a.*", x!="", y!~"b|c",}')).toEqual([
      '__name__="up"',
      'job="api"',
      'instance=~"a.*"',
      'x!=""',
      'y!~"b|c"',
    ]);
    expect(show('{__name__="m"}')).toEqual(['__name__="m"']);
    expect(show("{ a = 'b' }")).toEqual(['a="b"']);
  });

  it('decodes Go escapes, single quotes and raw strings', () => {
    const [m] = parseSelector('{a="\\x41\\u00e9\\U0001F600\\101\\n\\t\\"\\\\\\a\\b\\f\\r\\v"}');
    expect(m!.value).toBe('Aé😀A\n\t"\\\x07\b\f\r\v');
    expect(parseSelector("{a='it\\'s \"q\"'}")[0]!.value).toBe('it\'s "q"');
    expect(parseSelector('{a=`raw\\n"x"\nline`}')[0]!.value).toBe('raw\\n"x"\nline');
    expect(parseSelector('{a="\\xc3\\xa9"}')[0]!.value).toBe('é');
    expect(parseSelector('{a="ünï😀"}')[0]!.value).toBe('ünï😀');
  });

  it('accepts quoted label names and a quoted metric name (Prometheus 3 syntax)', () => {
    expect(show('{"foo.bar"="x", "metric.name"}')).toEqual(['foo.bar="x"', '__name__="metric.name"']);
  });

  const ERRORS: Array<[string, number, RegExp]> = [
    ['up{job=}', 8, /quoted string/],
    ['up{job="x"', 11, /end of input/],
    ['up{job="x" a="b"}', 12, /expected "," or "}"/],
    ['{}', 1, /at least one non-empty matcher/],
    ['{a=""}', 1, /at least one non-empty matcher/],
    ['{a=~".*", b!="x"}', 1, /at least one non-empty matcher/],
    ['up{__name__="x"}', 4, /set twice/],
    ['{a=~"("}', 5, /missing closing \)/],
    ['up extra', 4, /after the selector/],
    ['{a="\\xZZ"}', 7, /illegal character/],
    ['{a="\\uD800"}', 5, /invalid Unicode code point/],
    ['{a="\\q"}', 5, /unknown escape/],
    ['{a="it\\\'s"}', 7, /unknown escape/],
    ['{a="\\xff"}', 4, /not valid UTF-8/],
    ['{a="x\ny"}', 4, /unterminated/],
    ['{a="x', 4, /unterminated/],
    ['{a=`x', 4, /unterminated raw/],
    ['{a!"x"}', 3, /operator/],
    ['{1a="x"}', 2, /label name/],
    ['', 1, /empty selector/],
    ['5', 1, /metric name/],
  ];
  it.each(ERRORS)('%s fails at column %i', (text, column, msg) => {
    let err: unknown;
    try {
      parseSelector(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SelectorParseError);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as SelectorParseError).column).toBe(column);
    expect((err as Error).message).toMatch(msg);
    expect((err as Error).message).toContain(`1:${column}:`);
  });
});

describe('matchers', () => {
  it('match with Prometheus semantics', () => {
    expect(newMatcher('=', 'a', 'x').matches('x')).toBe(true);
    expect(newMatcher('!=', 'a', 'x').matches('')).toBe(true);
    expect(newMatcher('=~', 'a', 'x|y').matches('y')).toBe(true);
    expect(newMatcher('=~', 'a', 'x|y').matches('xy')).toBe(false);
    expect(newMatcher('!~', 'a', 'x.*').matches('xa')).toBe(false);
    expect(newMatcher('!~', 'a', 'x.*').matches('')).toBe(true);
    const inv = inverseMatcher(newMatcher('=~', 'a', 'x|y'));
    expect(inv.type).toBe('!~');
    expect(inv.matches('x')).toBe(false);
    expect(inv.matches('z')).toBe(true);
    expect(formatMatcher(newMatcher('!~', 'a', 'é"\n'))).toBe('a!~"é\\"\\n"');
  });

  it('reject bad types and regexes with typed errors', () => {
    expect(() => newMatcher('==' as '=', 'a', 'b')).toThrow(InvalidArgumentError);
    expect(() => newMatcher('=~', 'a', '(?=x)')).toThrow(InvalidArgumentError);
  });
});
