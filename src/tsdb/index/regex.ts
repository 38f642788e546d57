/**
 * RE2 (Go regexp/syntax, Perl flags) patterns translated to JS RegExp, fully anchored like
 * Prometheus' FastRegexMatcher: `^(?:re)$`. The translation is explicit where the engines differ:
 * `.` excludes only `\n` (JS also excludes \r, U+2028/9), `\s` is ASCII, `(?m)` anchors are
 * lookarounds on `\n`, Go's identity escapes and literal `{`/`]` are escaped for JS's u-mode,
 * `(?P<n>…)`, `\Q…\E`, `\z`, `\A`, `\x{…}`, octal, POSIX classes and `\p{Script}` are rewritten.
 * Constructs RE2 rejects (lookarounds, backreferences, `\Z`, `(?#…)`) are rejected here too.
 * Case folding comes from the JS `i` flag, so `(?i)` must cover every case-sensitive part of the
 * pattern (as a prefix or around it all); mixed scopes are rejected.
 */
import { Parser, RegexSyntaxError, cpJs, type Node } from './regex-parse.js';

export { RegexSyntaxError };

export interface RegexOptions {
  /**
   * Whether `.` matches `\n`. Prometheus 2.x (incl. 2.42) compiles without the s flag: false.
   * Prometheus 3.x compiles with `(?s:…)`: pass true to follow it.
   */
  dotMatchesNewline?: boolean;
}

export interface CompiledRegex {
  readonly pattern: string;
  /** The anchored JS source and flags actually run. */
  readonly jsSource: string;
  readonly jsFlags: string;
  /** The exact set of matching strings when the pattern is an alternation of literals. */
  readonly setMatches: readonly string[] | null;
  matches(s: string): boolean;
}

/** Removes groups and flattens nested concatenations, merging adjacent literals. */
function simplify(n: Node): Node {
  switch (n.k) {
    case 'group':
      return simplify(n.sub);
    case 'cat': {
      const out: Node[] = [];
      for (const s0 of n.subs) {
        const s = simplify(s0);
        const parts = s.k === 'cat' ? s.subs : s.k === 'empty' ? [] : [s];
        for (const p of parts) {
          const last = out[out.length - 1];
          if (p.k === 'lit' && last !== undefined && last.k === 'lit')
            out[out.length - 1] = { k: 'lit', cps: [...last.cps, ...p.cps] };
          else out.push(p);
        }
      }
      if (out.length === 0) return { k: 'empty' };
      return out.length === 1 ? out[0]! : { k: 'cat', subs: out };
    }
    case 'alt':
      return { k: 'alt', subs: n.subs.map(simplify) };
    case 'rep':
      return { k: 'rep', sub: simplify(n.sub), min: n.min, max: n.max };
    default:
      return n;
  }
}

function emit(n: Node): string {
  switch (n.k) {
    case 'lit': {
      let s = '';
      for (const cp of n.cps) s += cpJs(cp);
      return s;
    }
    case 'any':
      return n.nl ? '[\\u{0}-\\u{10ffff}]' : '[^\\n]';
    case 'class':
      return n.js;
    case 'assert':
      return `(?:${n.js})`;
    case 'cat': {
      let s = '';
      for (const sub of n.subs) s += sub.k === 'alt' ? `(?:${emit(sub)})` : emit(sub);
      return s;
    }
    case 'alt':
      return n.subs.map(emit).join('|');
    case 'rep': {
      const inner = emit(n.sub);
      const atom =
        (n.sub.k === 'lit' && n.sub.cps.length === 1) || n.sub.k === 'any' || n.sub.k === 'class'
          ? inner
          : `(?:${inner})`;
      const q =
        n.max === -1
          ? n.min === 0
            ? '*'
            : n.min === 1
              ? '+'
              : `{${n.min},}`
          : n.min === 0 && n.max === 1
            ? '?'
            : n.min === n.max
              ? `{${n.min}}`
              : `{${n.min},${n.max}}`;
      return atom + q;
    }
    case 'group':
      return `(?:${emit(n.sub)})`;
    case 'empty':
      return '';
  }
}

function litString(n: Node): string | null {
  if (n.k === 'lit') return String.fromCodePoint(...n.cps);
  if (n.k === 'empty') return '';
  return null;
}

function isDotStar(n: Node | undefined): n is { k: 'rep'; sub: Node; min: number; max: number } {
  return n !== undefined && n.k === 'rep' && n.sub.k === 'any' && n.max === -1 && n.min <= 1;
}

/** Compiles a Prometheus regex matcher value. Throws RegexSyntaxError (an InvalidArgumentError). */
export function compileRegex(pattern: string, options: RegexOptions = {}): CompiledRegex {
  const parser = new Parser(pattern, options.dotMatchesNewline ?? false);
  const root = simplify(parser.parse());
  if (parser.foldOn && parser.foldOff) {
    parser.fail('(?i) must apply to the whole pattern: mixed case-sensitivity is not supported', 0);
  }
  const fold = parser.foldOn;
  const jsSource = `^(?:${emit(root)})$`;
  const jsFlags = fold ? 'iu' : 'u';
  let re: RegExp;
  try {
    re = new RegExp(jsSource, jsFlags);
  } catch (err) {
    throw new RegexSyntaxError(pattern, 0, (err as Error).message);
  }
  const test = (s: string): boolean => re.test(s);
  const base = { pattern, jsSource, jsFlags };
  if (!fold) {
    const lit = litString(root);
    if (lit !== null) return { ...base, setMatches: [lit], matches: (s) => s === lit };
    if (root.k === 'alt') {
      const lits = root.subs.map(litString);
      if (lits.every((l): l is string => l !== null)) {
        const set = new Set(lits);
        return { ...base, setMatches: [...set], matches: (s) => set.has(s) };
      }
    }
  }
  // `.*`, `.+`, `lit.*`, `.*lit`: no regex run at all.
  if (isDotStar(root)) {
    const min = root.min;
    if (root.sub.k === 'any' && root.sub.nl)
      return { ...base, setMatches: null, matches: (s) => s.length >= min };
    return { ...base, setMatches: null, matches: (s) => s.length >= min && !s.includes('\n') };
  }
  if (root.k === 'cat' && root.subs.length === 2 && !fold) {
    const [a, b] = root.subs as [Node, Node];
    if (a.k === 'lit' && isDotStar(b) && b.min === 0 && b.sub.k === 'any') {
      const p = litString(a)!;
      const nl = b.sub.nl;
      return {
        ...base,
        setMatches: null,
        matches: (s) => s.startsWith(p) && (nl || s.indexOf('\n', p.length) < 0),
      };
    }
    if (b.k === 'lit' && isDotStar(a) && a.min === 0 && a.sub.k === 'any') {
      const q = litString(b)!;
      const nl = a.sub.nl;
      return {
        ...base,
        setMatches: null,
        matches: (s) => {
          if (!s.endsWith(q)) return false;
          if (nl) return true;
          const i = s.indexOf('\n');
          return i < 0 || i >= s.length - q.length;
        },
      };
    }
  }
  // Like Prometheus: cheap literal prefix/suffix/contains checks before running the regex.
  if (root.k === 'cat' && !fold) {
    const subs = root.subs;
    const prefix = subs[0]!.k === 'lit' ? litString(subs[0]!)! : '';
    const suffix =
      subs.length > 1 && subs[subs.length - 1]!.k === 'lit' ? litString(subs[subs.length - 1]!)! : '';
    let contains = '';
    for (let i = 1; i < subs.length - 1; i++) {
      if (subs[i]!.k === 'lit') {
        contains = litString(subs[i]!)!;
        break;
      }
    }
    if (prefix !== '' || suffix !== '' || contains !== '') {
      return {
        ...base,
        setMatches: null,
        matches: (s) =>
          (prefix === '' || s.startsWith(prefix)) &&
          (suffix === '' || s.endsWith(suffix)) &&
          (contains === '' || s.includes(contains)) &&
          re.test(s),
      };
    }
  }
  return { ...base, setMatches: null, matches: test };
}
