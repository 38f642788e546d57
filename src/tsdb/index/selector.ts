/**
 * PromQL vector selector parsing: `metric`, `metric{a="b", c=~"d.*"}`, `{__name__="m"}`.
 * Strings take double or single quotes with Go escapes, or backticks (raw). Label names may be
 * quoted (Prometheus 3.x UTF-8 names); a bare quoted string inside braces is the metric name.
 */
import { InvalidArgumentError } from '../../util/errors.js';
import { METRIC_NAME } from '../labels.js';
import { newMatcher, type Matcher, type MatchType } from './matchers.js';
import { RegexSyntaxError, type RegexOptions } from './regex.js';

export class SelectorParseError extends InvalidArgumentError {
  /** 1-based column (UTF-16 units) in the selector text. */
  readonly column: number;
  constructor(text: string, column: number, detail: string) {
    super(`1:${column}: parse error in ${JSON.stringify(text)}: ${detail}`);
    this.column = column;
  }
}

const METRIC_START = /[a-zA-Z_:]/;
const METRIC_CHAR = /[a-zA-Z0-9_:]/;
const LABEL_START = /[a-zA-Z_]/;
const LABEL_CHAR = /[a-zA-Z0-9_]/;
const HEX = /^[0-9a-fA-F]$/;

class SelectorParser {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly options: RegexOptions,
  ) {}

  fail(detail: string, at: number = this.pos): never {
    throw new SelectorParseError(this.text, at + 1, detail);
  }

  private ws(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  private ident(start: RegExp, rest: RegExp): string | null {
    const t = this.text;
    if (this.pos >= t.length || !start.test(t[this.pos]!)) return null;
    const from = this.pos;
    while (this.pos < t.length && rest.test(t[this.pos]!)) this.pos++;
    return t.slice(from, this.pos);
  }

  parse(): Matcher[] {
    this.ws();
    const out: Matcher[] = [];
    const nameAt = this.pos;
    const metric = this.ident(METRIC_START, METRIC_CHAR);
    if (metric !== null) out.push(newMatcher('=', METRIC_NAME, metric));
    this.ws();
    if (this.text[this.pos] === '{') {
      this.pos++;
      for (;;) {
        this.ws();
        if (this.text[this.pos] === '}') {
          this.pos++;
          break;
        }
        const itemAt = this.pos;
        const m = this.parseItem();
        if (metric !== null && m.name === METRIC_NAME) {
          this.fail(
            `metric name must not be set twice: ${JSON.stringify(metric)} and ${JSON.stringify(m.value)}`,
            itemAt,
          );
        }
        out.push(m);
        this.ws();
        const c = this.text[this.pos];
        if (c === ',') {
          this.pos++;
        } else if (c === '}') {
          this.pos++;
          break;
        } else {
          this.fail(
            c === undefined
              ? 'unexpected end of input inside braces'
              : `unexpected character ${JSON.stringify(c)} in label matching, expected "," or "}"`,
          );
        }
      }
    } else if (metric === null) {
      this.fail(
        this.pos >= this.text.length
          ? 'empty selector'
          : `unexpected character ${JSON.stringify(this.text[this.pos])}, expected a metric name or "{"`,
        nameAt,
      );
    }
    this.ws();
    if (this.pos < this.text.length)
      this.fail(`unexpected ${JSON.stringify(this.text.slice(this.pos, this.pos + 10))} after the selector`);
    if (metric === null && !out.some((m) => !m.matches(''))) {
      this.fail('vector selector must contain at least one non-empty matcher', nameAt);
    }
    return out;
  }

  private parseItem(): Matcher {
    let name: string | null = this.ident(LABEL_START, LABEL_CHAR);
    if (name === null) {
      const q = this.text[this.pos];
      if (q !== '"' && q !== "'" && q !== '`') this.fail('expected a label name');
      name = this.parseString();
      this.ws();
      const c = this.text[this.pos];
      if (c === ',' || c === '}') return newMatcher('=', METRIC_NAME, name);
    }
    this.ws();
    const opAt = this.pos;
    const op = this.parseOp();
    if (op === null) this.fail(`expected a label matching operator after ${JSON.stringify(name)}`, opAt);
    this.ws();
    const valueAt = this.pos;
    const q = this.text[this.pos];
    if (q !== '"' && q !== "'" && q !== '`') this.fail('expected a quoted string as label value');
    const value = this.parseString();
    try {
      return newMatcher(op, name, value, this.options);
    } catch (err) {
      if (err instanceof RegexSyntaxError) this.fail(err.message, valueAt);
      throw err;
    }
  }

  private parseOp(): MatchType | null {
    const two = this.text.slice(this.pos, this.pos + 2);
    if (two === '!=' || two === '=~' || two === '!~') {
      this.pos += 2;
      return two;
    }
    if (this.text[this.pos] === '=') {
      this.pos++;
      return '=';
    }
    return null;
  }

  /** A quoted string at pos; Go escapes in "..." and '...', none in `...`. */
  private parseString(): string {
    const t = this.text;
    const open = this.pos;
    const q = t[this.pos++]!;
    if (q === '`') {
      const end = t.indexOf('`', this.pos);
      if (end < 0) this.fail('unterminated raw string', open);
      const s = t.slice(this.pos, end);
      this.pos = end + 1;
      return s;
    }
    const bytes: number[] = [];
    for (;;) {
      if (this.pos >= t.length) this.fail('unterminated quoted string', open);
      const cp = t.codePointAt(this.pos)!;
      if (cp === 0x0a) this.fail('unterminated quoted string', open);
      if (cp >= 0xd800 && cp <= 0xdfff) this.fail('unpaired surrogate in string');
      if (t[this.pos] === q) {
        this.pos++;
        break;
      }
      if (t[this.pos] !== '\\') {
        for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b);
        this.pos += cp > 0xffff ? 2 : 1;
        continue;
      }
      const escAt = this.pos;
      this.pos++;
      const e = t[this.pos++];
      switch (e) {
        case 'a':
          bytes.push(7);
          continue;
        case 'b':
          bytes.push(8);
          continue;
        case 'f':
          bytes.push(12);
          continue;
        case 'n':
          bytes.push(10);
          continue;
        case 'r':
          bytes.push(13);
          continue;
        case 't':
          bytes.push(9);
          continue;
        case 'v':
          bytes.push(11);
          continue;
        case '\\':
          bytes.push(0x5c);
          continue;
        case undefined:
          this.fail('escape sequence not terminated', escAt);
      }
      if (e === q) {
        bytes.push(q.charCodeAt(0));
        continue;
      }
      let digits: number;
      let base: number;
      let max: number;
      if (e >= '0' && e <= '7') {
        this.pos--;
        digits = 3;
        base = 8;
        max = 255;
      } else if (e === 'x') {
        digits = 2;
        base = 16;
        max = 255;
      } else if (e === 'u' || e === 'U') {
        digits = e === 'u' ? 4 : 8;
        base = 16;
        max = 0x10ffff;
      } else {
        this.fail(`unknown escape sequence \\${e}`, escAt);
      }
      let x = 0;
      for (let i = 0; i < digits; i++) {
        const d = t[this.pos];
        if (d === undefined) this.fail('escape sequence not terminated', escAt);
        const v =
          base === 8
            ? d >= '0' && d <= '7'
              ? d.charCodeAt(0) - 48
              : -1
            : HEX.test(d)
              ? parseInt(d, 16)
              : -1;
        if (v < 0) this.fail(`illegal character ${JSON.stringify(d)} in escape sequence`, this.pos);
        x = x * base + v;
        this.pos++;
      }
      if (x > max || (x >= 0xd800 && x < 0xe000 && max > 255)) {
        this.fail('escape sequence is an invalid Unicode code point', escAt);
      }
      if (max === 255) bytes.push(x);
      else for (const b of Buffer.from(String.fromCodePoint(x), 'utf8')) bytes.push(b);
    }
    const buf = Buffer.from(bytes);
    const s = buf.toString('utf8');
    if (Buffer.compare(Buffer.from(s, 'utf8'), buf) !== 0) this.fail('string is not valid UTF-8', open);
    return s;
  }
}

/**
 * Parses a PromQL vector selector into matchers (metric name first, then in order).
 * Errors are SelectorParseErrors (InvalidArgumentError) with a 1-based column.
 */
export function parseSelector(text: string, options: RegexOptions = {}): Matcher[] {
  if (typeof text !== 'string') throw new InvalidArgumentError('selector must be a string');
  return new SelectorParser(text, options).parse();
}
