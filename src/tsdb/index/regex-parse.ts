/**
 * RE2 syntax (Go regexp/syntax with Perl flags) parsed into a small tree whose leaves already
 * carry JS RegExp source (u-mode) for classes and assertions. See regex.ts for the semantics.
 */
import { InvalidArgumentError } from '../../util/errors.js';

export class RegexSyntaxError extends InvalidArgumentError {
  readonly pattern: string;
  /** 0-based UTF-16 index into the pattern. */
  readonly position: number;
  constructor(pattern: string, position: number, detail: string) {
    super(`invalid regex ${JSON.stringify(pattern)} at position ${position}: ${detail}`);
    this.pattern = pattern;
    this.position = position;
  }
}

export type Node =
  | { k: 'lit'; cps: number[] }
  | { k: 'any'; nl: boolean }
  | { k: 'class'; js: string }
  | { k: 'assert'; js: string }
  | { k: 'cat'; subs: Node[] }
  | { k: 'alt'; subs: Node[] }
  | { k: 'rep'; sub: Node; min: number; max: number }
  | { k: 'group'; sub: Node }
  | { k: 'empty' };

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

const MAX_REPEAT = 1000;

export function cpJs(cp: number): string {
  if ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a) || cp === 0x5f) {
    return String.fromCharCode(cp);
  }
  return `\\u{${cp.toString(16)}}`;
}

function hasCase(cp: number): boolean {
  const s = String.fromCodePoint(cp);
  return s.toLowerCase() !== s || s.toUpperCase() !== s;
}

function rangeHasCase(lo: number, hi: number): boolean {
  if (hi - lo > 512) return true;
  for (let c = lo; c <= hi; c++) if (hasCase(c)) return true;
  return false;
}

const POSIX: Record<string, Array<[number, number]>> = {
  alnum: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  alpha: [
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  ascii: [[0x00, 0x7f]],
  blank: [
    [0x09, 0x09],
    [0x20, 0x20],
  ],
  cntrl: [
    [0x00, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [
    [0x21, 0x2f],
    [0x3a, 0x40],
    [0x5b, 0x60],
    [0x7b, 0x7e],
  ],
  space: [
    [0x09, 0x0d],
    [0x20, 0x20],
  ],
  upper: [[0x41, 0x5a]],
  word: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x61, 0x7a],
    [0x5f, 0x5f],
  ],
  xdigit: [
    [0x30, 0x39],
    [0x41, 0x46],
    [0x61, 0x66],
  ],
};

function negateRanges(rs: ReadonlyArray<[number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let next = 0;
  for (const [lo, hi] of [...rs].sort((a, b) => a[0] - b[0])) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= 0x10ffff) out.push([next, 0x10ffff]);
  return out;
}

function rangesJs(rs: ReadonlyArray<[number, number]>): string {
  let s = '';
  for (const [lo, hi] of rs) s += lo === hi ? cpJs(lo) : `${cpJs(lo)}-${cpJs(hi)}`;
  return s;
}

/** Perl classes, ASCII as in RE2. */
const PERL: Record<string, { ranges: Array<[number, number]>; cased: boolean }> = {
  d: { ranges: POSIX.digit!, cased: false },
  s: {
    ranges: [
      [0x09, 0x0a],
      [0x0c, 0x0d],
      [0x20, 0x20],
    ],
    cased: false,
  },
  w: { ranges: POSIX.word!, cased: true },
};

const GENERAL_CATEGORIES = new Set(
  'C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs'.split(
    ' ',
  ),
);

/** Class items (no brackets) for \p{name} or \P{name}, so they also nest in an outer class. */
function unicodeClassItems(name: string, negated: boolean): string | null {
  if (name === 'Any') return negated ? '' : '\\u{0}-\\u{10ffff}';
  // Go's C is Cc|Cf|Co|Cs; JS's C also holds the unassigned code points (Cn).
  if (name === 'C') return negated ? '\\P{C}\\p{Cn}' : '\\p{Cc}\\p{Cf}\\p{Co}\\p{Cs}';
  const prop = GENERAL_CATEGORIES.has(name) ? name : /^[A-Za-z_]+$/.test(name) ? `Script=${name}` : null;
  if (prop === null) return null;
  return negated ? `\\P{${prop}}` : `\\p{${prop}}`;
}

export class Parser {
  private pos = 0;
  private flags: Flags;
  foldOn = false;
  foldOff = false;

  constructor(
    private readonly src: string,
    dotNL: boolean,
  ) {
    this.flags = { i: false, m: false, s: dotNL, U: false };
  }

  fail(detail: string, at: number = this.pos): never {
    throw new RegexSyntaxError(this.src, at, detail);
  }

  private peek(): number {
    return this.pos < this.src.length ? this.src.codePointAt(this.pos)! : -1;
  }

  private take(): number {
    const cp = this.src.codePointAt(this.pos);
    if (cp === undefined) this.fail('unexpected end of pattern');
    if (cp >= 0xd800 && cp <= 0xdfff) this.fail('unpaired surrogate in pattern');
    this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }

  private lookingAt(s: string): boolean {
    return this.src.startsWith(s, this.pos);
  }

  private noteCase(cased: boolean): void {
    if (!cased) return;
    if (this.flags.i) this.foldOn = true;
    else this.foldOff = true;
  }

  parse(): Node {
    const n = this.parseAlt();
    if (this.pos < this.src.length) this.fail('unexpected )');
    return n;
  }

  private parseAlt(): Node {
    const subs = [this.parseConcat()];
    while (this.peek() === 0x7c /* | */) {
      this.pos++;
      subs.push(this.parseConcat());
    }
    return subs.length === 1 ? subs[0]! : { k: 'alt', subs };
  }

  private parseConcat(): Node {
    const items: Node[] = [];
    // Whether the last item may take a quantifier (false right after a quantifier or a flag group).
    let canRepeat = false;
    let justRepeated = false;
    for (;;) {
      const c = this.peek();
      if (c === -1 || c === 0x7c || c === 0x29 /* ) */) break;
      const at = this.pos;
      if (c === 0x2a || c === 0x2b || c === 0x3f /* * + ? */ || (c === 0x7b && this.repeatAhead())) {
        if (justRepeated) this.fail('invalid nested repetition operator', at);
        if (!canRepeat) this.fail('missing argument to repetition operator', at);
        const { min, max } = this.parseQuantifier();
        if (this.peek() === 0x3f) this.pos++; // non-greedy: same language
        items.push({ k: 'rep', sub: items.pop()!, min, max });
        justRepeated = true;
        continue;
      }
      justRepeated = false;
      const atom = this.parseAtom();
      if (atom === null) {
        canRepeat = false;
        continue;
      }
      items.push(atom);
      canRepeat = true;
    }
    if (items.length === 0) return { k: 'empty' };
    return items.length === 1 ? items[0]! : { k: 'cat', subs: items };
  }

  /** At `{`: is this a valid {n}, {n,} or {n,m}? (Otherwise `{` is a literal, as in Go.) */
  private repeatAhead(): boolean {
    return /^\{[0-9]+(,[0-9]*)?\}/.test(this.src.slice(this.pos, this.pos + 24));
  }

  private parseQuantifier(): { min: number; max: number } {
    const at = this.pos;
    const c = this.take();
    if (c === 0x2a) return { min: 0, max: -1 };
    if (c === 0x2b) return { min: 1, max: -1 };
    if (c === 0x3f) return { min: 0, max: 1 };
    const m = /^([0-9]+)(,([0-9]*))?\}/.exec(this.src.slice(this.pos))!;
    this.pos += m[0].length;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? -1 : Number(m[3]);
    if (min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && max < min))
      this.fail('invalid repeat count', at);
    return { min, max };
  }

  private parseAtom(): Node | null {
    const at = this.pos;
    const c = this.take();
    switch (c) {
      case 0x28 /* ( */:
        return this.parseGroup(at);
      case 0x5b /* [ */:
        return this.parseClass(at);
      case 0x2e /* . */:
        return { k: 'any', nl: this.flags.s };
      case 0x5e /* ^ */:
        return { k: 'assert', js: this.flags.m ? '(?<![^\\n])' : '^' };
      case 0x24 /* $ */:
        return { k: 'assert', js: this.flags.m ? '(?![^\\n])' : '$' };
      case 0x5c /* \ */:
        return this.parseEscapeAtom(at);
      default:
        this.noteCase(hasCase(c));
        return { k: 'lit', cps: [c] };
    }
  }

  private parseGroup(at: number): Node | null {
    if (this.lookingAt('?')) {
      if (
        this.lookingAt('?P<') ||
        (this.lookingAt('?<') && !this.lookingAt('?<=') && !this.lookingAt('?<!'))
      ) {
        this.pos += this.lookingAt('?P<') ? 3 : 2;
        const end = this.src.indexOf('>', this.pos);
        const name = end < 0 ? '' : this.src.slice(this.pos, end);
        if (!/^[A-Za-z0-9_]+$/.test(name)) this.fail('invalid named capture', at);
        this.pos = end + 1;
        return this.groupBody(at, this.flags);
      }
      if (this.lookingAt('?=') || this.lookingAt('?!') || this.lookingAt('?<=') || this.lookingAt('?<!')) {
        this.fail('lookaround assertions are not supported by RE2', at);
      }
      if (this.lookingAt('?P=')) this.fail('backreferences are not supported by RE2', at);
      if (this.lookingAt('?:')) {
        this.pos += 2;
        return this.groupBody(at, this.flags);
      }
      // Flags: (?flags) or (?flags:re).
      this.pos++;
      const next: Flags = { ...this.flags };
      let negate = false;
      let sawFlag = false;
      for (;;) {
        const f = this.pos < this.src.length ? this.src[this.pos]! : '';
        this.pos++;
        if (f === 'i' || f === 'm' || f === 's' || f === 'U') {
          next[f] = !negate;
          sawFlag = true;
        } else if (f === '-' && !negate) {
          negate = true;
          sawFlag = false;
        } else if ((f === ')' || f === ':') && sawFlag) {
          if (f === ')') {
            this.flags = next;
            return null;
          }
          return this.groupBody(at, next);
        } else {
          this.fail('invalid or unsupported Perl syntax', at);
        }
      }
    }
    return this.groupBody(at, this.flags);
  }

  private groupBody(at: number, inner: Flags): Node {
    const outer = this.flags;
    this.flags = inner;
    const sub = this.parseAlt();
    if (this.peek() !== 0x29) this.fail('missing closing )', at);
    this.pos++;
    this.flags = outer;
    return { k: 'group', sub };
  }

  private parseEscapeAtom(at: number): Node {
    const c = this.peek();
    switch (c) {
      case 0x41 /* A */:
        this.pos++;
        return { k: 'assert', js: '^' };
      case 0x7a /* z */:
        this.pos++;
        return { k: 'assert', js: '$' };
      case 0x62 /* b */:
        this.pos++;
        return { k: 'assert', js: '\\b' };
      case 0x42 /* B */:
        this.pos++;
        return { k: 'assert', js: '\\B' };
      case 0x51 /* Q */: {
        this.pos++;
        const end = this.src.indexOf('\\E', this.pos);
        const text = end < 0 ? this.src.slice(this.pos) : this.src.slice(this.pos, end);
        this.pos = end < 0 ? this.src.length : end + 2;
        const cps: number[] = [];
        for (const ch of text) {
          const cp = ch.codePointAt(0)!;
          if (cp >= 0xd800 && cp <= 0xdfff) this.fail('unpaired surrogate in pattern', at);
          this.noteCase(hasCase(cp));
          cps.push(cp);
        }
        return cps.length === 0 ? { k: 'empty' } : { k: 'lit', cps };
      }
    }
    const cls = this.tryClassEscape();
    if (cls !== null) return { k: 'class', js: `[${cls}]` };
    const cp = this.parseCharEscape(at);
    this.noteCase(hasCase(cp));
    return { k: 'lit', cps: [cp] };
  }

  /** After `\`: \d \s \w (and negations), \p \P. Returns JS class contents, or null. */
  private tryClassEscape(): string | null {
    const c = this.peek();
    const lower = c | 0x20;
    if ((lower === 0x64 || lower === 0x73 || lower === 0x77) /* d s w */ && c !== -1) {
      this.pos++;
      const p = PERL[String.fromCharCode(lower)]!;
      this.noteCase(p.cased);
      const rs = c === lower ? p.ranges : negateRanges(p.ranges);
      return rangesJs(rs);
    }
    if (c === 0x70 || c === 0x50 /* p P */) {
      const at = this.pos - 1;
      this.pos++;
      let negated = c === 0x50;
      let name: string;
      if (this.peek() === 0x7b) {
        const end = this.src.indexOf('}', this.pos);
        if (end < 0) this.fail('invalid character class range', at);
        name = this.src.slice(this.pos + 1, end);
        this.pos = end + 1;
        if (name.startsWith('^')) {
          negated = !negated;
          name = name.slice(1);
        }
      } else {
        if (this.pos >= this.src.length) this.fail('invalid character class range', at);
        name = String.fromCodePoint(this.take());
      }
      const items = unicodeClassItems(name, negated);
      if (items === null) this.fail(`invalid character class range \\p{${name}}`, at);
      this.noteCase(true);
      return items;
    }
    return null;
  }

  /** After `\`: a single-character escape. */
  private parseCharEscape(at: number): number {
    if (this.pos >= this.src.length) this.fail('trailing backslash at end of expression', at);
    const c = this.take();
    switch (c) {
      case 0x61:
        return 0x07; // \a
      case 0x66:
        return 0x0c; // \f
      case 0x6e:
        return 0x0a; // \n
      case 0x72:
        return 0x0d; // \r
      case 0x74:
        return 0x09; // \t
      case 0x76:
        return 0x0b; // \v
      case 0x78 /* x */: {
        if (this.peek() === 0x7b) {
          const end = this.src.indexOf('}', this.pos);
          const hex = end < 0 ? '' : this.src.slice(this.pos + 1, end);
          if (!/^[0-9A-Fa-f]{1,8}$/.test(hex) || parseInt(hex, 16) > 0x10ffff)
            this.fail('invalid escape sequence', at);
          this.pos = end + 1;
          return parseInt(hex, 16);
        }
        const hex = this.src.slice(this.pos, this.pos + 2);
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) this.fail('invalid escape sequence', at);
        this.pos += 2;
        return parseInt(hex, 16);
      }
    }
    if (c >= 0x30 && c <= 0x37) {
      // \0.., or \1-\7 followed by an octal digit; a lone \1-\7 is a backreference.
      const nextIsOctal = this.peek() >= 0x30 && this.peek() <= 0x37;
      if (c !== 0x30 && !nextIsOctal) this.fail('backreferences are not supported by RE2', at);
      let v = c - 0x30;
      for (let i = 1; i < 3 && this.peek() >= 0x30 && this.peek() <= 0x37; i++)
        v = v * 8 + (this.take() - 0x30);
      return v;
    }
    if (c < 0x80 && !isAlnum(c)) return c;
    return this.fail('invalid escape sequence', at);
  }

  private parseClass(at: number): Node {
    let negated = false;
    if (this.peek() === 0x5e) {
      this.pos++;
      negated = true;
    }
    let body = '';
    let first = true;
    for (;;) {
      if (this.pos >= this.src.length) this.fail('missing closing ]', at);
      const c = this.peek();
      if (c === 0x5d /* ] */ && !first) {
        this.pos++;
        break;
      }
      first = false;
      if (c === 0x5b && this.lookingAt('[:')) {
        const end = this.src.indexOf(':]', this.pos + 2);
        if (end >= 0) {
          let name = this.src.slice(this.pos + 2, end);
          const neg = name.startsWith('^');
          if (neg) name = name.slice(1);
          const rs = POSIX[name];
          if (rs === undefined) this.fail('invalid character class range', this.pos);
          this.noteCase(name !== 'digit' && name !== 'space' && name !== 'blank' && name !== 'cntrl');
          body += rangesJs(neg ? negateRanges(rs) : rs);
          this.pos = end + 2;
          continue;
        }
      }
      if (c === 0x5c) {
        const escAt = this.pos;
        this.pos++;
        const cls = this.tryClassEscape();
        if (cls !== null) {
          body += cls;
          continue;
        }
        if (this.peek() === 0x62) this.fail('invalid escape sequence', escAt); // no \b in classes
        const lo = this.parseCharEscape(escAt);
        body += this.classRange(lo, escAt);
        continue;
      }
      const lo = this.take();
      body += this.classRange(lo, this.pos - 1);
    }
    return { k: 'class', js: `[${negated ? '^' : ''}${body}]` };
  }

  /** `lo`, or `lo-hi` when a range follows. */
  private classRange(lo: number, at: number): string {
    if (this.peek() === 0x2d && this.src[this.pos + 1] !== undefined && this.src[this.pos + 1] !== ']') {
      this.pos++;
      let hi: number;
      if (this.peek() === 0x5c) {
        const escAt = this.pos;
        this.pos++;
        hi = this.parseCharEscape(escAt);
      } else {
        hi = this.take();
      }
      if (hi < lo) this.fail('invalid character class range', at);
      this.noteCase(rangeHasCase(lo, hi));
      return `${cpJs(lo)}-${cpJs(hi)}`;
    }
    this.noteCase(hasCase(lo));
    return cpJs(lo);
  }
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}
