import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InvalidArgumentError } from '../../util/errors.js';
import { compileRegex, RegexSyntaxError } from './regex.js';

/** [pattern, matching inputs, non-matching inputs], following Go's regexp as Prometheus 2.42 runs it. */
const CASES: Array<[string, string[], string[]]> = [
  ['a|b', ['a', 'b'], ['', 'ab', 'c']],
  ['', [''], ['a']],
  ['.*', ['', 'abc', 'ünï😀', '\r', '\u2028'], ['a\nb', '\n']],
  ['.+', ['a', '😀'], ['', '\n']],
  ['.', ['😀', 'é', '\r'], ['', '\n', 'ab']],
  ['x.*', ['x', 'xyz'], ['ax', '', 'x\n']],
  ['.*x', ['x', 'abx'], ['xa', 'a\nx']],
  ['a.*b', ['ab', 'a__b'], ['a\nb', 'abc']],
  ['(?s).*', ['', 'a\nb'], []],
  ['(?s:.)', ['\n'], ['']],
  ['(?i)abc', ['abc', 'ABC', 'aBc'], ['abd']],
  ['(?i)k', ['k', 'K', '\u212a'], ['x']],
  ['(?i:s+)', ['sS\u017f'], ['t']],
  ['\\d+', ['0123456789'], ['١', 'a', '']],
  ['\\s', [' ', '\t', '\n', '\f', '\r'], ['\v', '\u00a0', 'x']],
  ['\\S+', ['ab\v'], [' ']],
  ['\\w+', ['a_Z9'], ['é', '-']],
  ['\\W', ['é', '-'], ['a']],
  ['[[:alpha:]]+', ['abcXYZ'], ['a1']],
  ['[[:^digit:]x]+', ['abx'], ['a1']],
  ['[^a]', ['\n', 'b', '😀'], ['a']],
  ['[]a]+', [']a]'], ['b']],
  ['[^]a]', ['b'], [']', 'a']],
  ['[a-]+', ['a-a'], ['b']],
  ['[\\d.]+', ['1.5'], ['a']],
  ['[\\-x]', ['-', 'x'], ['\\']],
  ['a{2}', ['aa'], ['a', 'aaa']],
  ['a{2,}', ['aa', 'aaaa'], ['a']],
  ['a{1,2}?', ['a', 'aa'], ['aaa']],
  ['a{,2}', ['a{,2}'], ['aa']],
  ['a{', ['a{'], ['a']],
  ['{', ['{'], []],
  ['}', ['}'], []],
  [']', [']'], []],
  ['x{2}y{0}', ['xx'], ['xxy']],
  ['\\Qa.b*\\E', ['a.b*'], ['axb']],
  ['\\Qa.b', ['a.b'], ['axb']],
  ['(?P<name>x)+', ['xx'], ['']],
  ['(?<n>x)', ['x'], ['y']],
  ['(?:a|b)c', ['ac', 'bc'], ['c']],
  ['\\x{1F600}\\x41\\101\\0', ['😀AA\0'], []],
  ['\\a\\f\\t\\n\\r\\v', ['\x07\f\t\n\r\v'], []],
  ['a\\z', ['a'], ['a\n']],
  ['\\Aa', ['a'], []],
  ['^a$', ['a'], ['']],
  ['a^b', [], ['ab', 'a^b']],
  ['(?m)a$\\n^b', ['a\nb'], []],
  ['\\bfoo\\b', ['foo'], []],
  ['\\pL+', ['héllo'], ['1']],
  ['\\p{Greek}+', ['αβγ'], ['abc']],
  ['\\PL', ['1'], ['a']],
  ['\\p{^Greek}', ['a'], ['α']],
  ['[\\p{Lu}\\d]+', ['A1'], ['a']],
  ['\\pC', ['\u0000'], ['a']],
  ['[\\PC]', ['a'], ['\u0001']],
  ['\\.\\-\\ \\@\\"\\\'\\#\\<\\/\\!', ['.- @"\'#</!'], []],
  ['😀+', ['😀😀'], ['😀\ud83d']],
  ['é|ü', ['é', 'ü'], ['e']],
  ['a|b|', ['a', ''], ['ab']],
  ['(a|b)*c', ['abbac', 'c'], ['abd']],
  ['^*a', ['a'], []],
  ['(?U)a+', ['aaa'], []],
  ['(?i)foo|BAR', ['FOO', 'bar'], ['baz']],
  ['(?i)[a-c]+', ['AbC'], ['d']],
];

describe('RE2 regex translation', () => {
  it.each(CASES)('%s', (pattern, yes, no) => {
    const re = compileRegex(pattern);
    for (const s of yes) expect(re.matches(s), `${pattern} should match ${JSON.stringify(s)}`).toBe(true);
    for (const s of no) expect(re.matches(s), `${pattern} should not match ${JSON.stringify(s)}`).toBe(false);
  });

  const BAD: Array<[string, RegExp]> = [
    ['a**', /nested repetition/],
    ['a*+', /nested repetition/],
    ['a{2}{3}', /nested repetition/],
    ['*a', /missing argument/],
    ['a|*', /missing argument/],
    ['(?i)*', /missing argument/],
    ['(?=a)', /lookaround/],
    ['(?!a)', /lookaround/],
    ['(?<=a)b', /lookaround/],
    ['(?<!a)b', /lookaround/],
    ['(a)\\1', /backreference/],
    ['(?P<n>a)(?P=n)', /backreference/],
    ['\\Z', /invalid escape/],
    ['\\C', /invalid escape/],
    ['\\8', /invalid escape/],
    ['\\k<n>', /invalid escape/],
    ['[\\b]', /invalid escape/],
    ['a{1001}', /repeat count/],
    ['a{2,1}', /repeat count/],
    ['[z-a]', /class range/],
    ['(', /missing closing \)/],
    [')', /unexpected \)/],
    ['a)', /unexpected \)/],
    ['[a', /missing closing \]/],
    ['a\\', /trailing backslash/],
    ['(?#c)', /Perl syntax/],
    ['(?)', /Perl syntax/],
    ['(?i-)a', /Perl syntax/],
    ['(?P<>a)', /named capture/],
    ['\\p{NoSuchScript}', /.+/],
    ['\\p{Foo-Bar}', /class range/],
    ['[[:nope:]]', /class range/],
    ['\\x{110000}', /invalid escape/],
    ['\\xZ1', /invalid escape/],
    ['a(?i)b', /mixed case/],
    ['(?i:a)b', /mixed case/],
    ['\ud800', /surrogate/],
  ];
  it.each(BAD)('rejects %s', (pattern, msg) => {
    const err = (() => {
      try {
        compileRegex(pattern);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(RegexSyntaxError);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toMatch(msg);
  });

  it('follows Prometheus 3.x when `.` should match newlines', () => {
    const re = compileRegex('a.*', { dotMatchesNewline: true });
    expect(re.matches('a\nb')).toBe(true);
    expect(compileRegex('(?-s:a.*)', { dotMatchesNewline: true }).matches('a\nb')).toBe(false);
  });

  it('reports literal sets for alternations of literals', () => {
    expect(compileRegex('a|b|c').setMatches).toEqual(['a', 'b', 'c']);
    expect(compileRegex('(foo|bar)').setMatches).toEqual(['foo', 'bar']);
    expect(compileRegex('abc').setMatches).toEqual(['abc']);
    expect(compileRegex('a|').setMatches).toEqual(['a', '']);
    expect(compileRegex('a\\.b|c').setMatches).toEqual(['a.b', 'c']);
    expect(compileRegex('a.|c').setMatches).toBeNull();
    expect(compileRegex('(?i)a|b').setMatches).toBeNull();
  });

  it('escaped literals match themselves exactly', () => {
    const meta = /[\\^$.|?*+()[\]{}]/g;
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => !/\p{Cs}/u.test(s)),
        (s) => {
          const re = compileRegex(s.replace(meta, '\\$&'));
          expect(re.matches(s)).toBe(true);
          expect(re.matches(s + 'x')).toBe(false);
        },
      ),
    );
  });

  it('prefix, suffix and contains fast paths agree with the regex', () => {
    const alphabet = fc.constantFrom('a', 'b', '\n', 'x', 'é');
    const pattern = fc.constantFrom(
      'a.*',
      '.*a',
      'a.*b',
      '.*a.*',
      'ab.+',
      '.+b',
      'x.*a',
      '.*',
      '.+',
      '(?s)a.*',
      '(?s).*b',
    );
    fc.assert(
      fc.property(pattern, fc.array(alphabet, { maxLength: 6 }), (p, chars) => {
        const s = chars.join('');
        const re = compileRegex(p);
        const plain = new RegExp(re.jsSource, re.jsFlags);
        expect(re.matches(s)).toBe(plain.test(s));
      }),
    );
  });
});
