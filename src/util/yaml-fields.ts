/**
 * Typed reads from the mappings of a parsed YAML config file (objstore config, web config), with
 * errors that name the field (dotted path) and never echo its value, so a misplaced secret cannot
 * leak. Each format supplies its own error class.
 */
import { parseDuration } from './duration.js';
import type { StrataError } from './errors.js';

type Plain = Record<string, unknown>;

export function isPlain(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  return typeof v === 'object' ? 'mapping' : typeof v;
}

/** Builds the error of one config format from a field's dotted path and what is wrong with it. */
export type FieldErrorFactory = (field: string, detail: string) => StrataError;

/** Typed reads from one YAML mapping, with errors that name the field and never echo its value. */
export class YamlFields {
  readonly #obj: Plain;
  readonly #path: string;
  readonly #makeError: FieldErrorFactory;
  readonly #seen = new Set<string>();

  constructor(obj: Plain, path: string, makeError: FieldErrorFactory) {
    this.#obj = obj;
    this.#path = path;
    this.#makeError = makeError;
  }

  error(name: string, detail: string): StrataError {
    return this.#makeError(this.field(name), detail);
  }

  field(name: string): string {
    return this.#path === '' ? name : `${this.#path}.${name}`;
  }

  #get(name: string): unknown {
    this.#seen.add(name);
    const v = this.#obj[name];
    return v === null ? undefined : v; // `key:` with nothing after it means unset
  }

  str(name: string): string | undefined {
    const v = this.#get(name);
    if (v === undefined) return undefined;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (typeof v !== 'string') throw this.error(name, `expected a string, got a ${typeName(v)}`);
    return v;
  }

  requiredStr(name: string): string {
    const v = this.str(name);
    if (v === undefined || v === '') throw this.error(name, 'is required');
    return v;
  }

  bool(name: string, dflt = false): boolean {
    const v = this.#get(name);
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') throw this.error(name, `expected true or false, got a ${typeName(v)}`);
    return v;
  }

  int(name: string): number | undefined {
    const v = this.#get(name);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw this.error(name, `expected a non-negative integer, got a ${typeName(v)}`);
    }
    return v;
  }

  durationMs(name: string): number | undefined {
    const v = this.#get(name);
    if (v === undefined) return undefined;
    const bad = (): StrataError => this.error(name, "expected a duration such as '90s', '2m' or '1h30m'");
    if (typeof v !== 'string') throw bad();
    try {
      return parseDuration(v);
    } catch {
      throw bad(); // its message quotes the value
    }
  }

  stringMap(name: string): Record<string, string> {
    const v = this.#get(name);
    if (v === undefined) return {};
    if (!isPlain(v)) throw this.error(name, `expected a mapping, got a ${typeName(v)}`);
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(v)) {
      if (typeof val !== 'string')
        throw this.error(`${name}.${k}`, `expected a string, got a ${typeName(val)}`);
      out[k] = val;
    }
    return out;
  }

  /** A list of strings (absent: empty). */
  strList(name: string): string[] {
    const v = this.#get(name);
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw this.error(name, `expected a list, got a ${typeName(v)}`);
    return v.map((item: unknown, i) => {
      if (typeof item !== 'string')
        throw this.error(`${name}[${i}]`, `expected a string, got a ${typeName(item)}`);
      return item;
    });
  }

  /** The mapping's keys, in file order. */
  keys(): string[] {
    return Object.keys(this.#obj);
  }

  /** Whether `name` is present with a value (`key:` alone counts as absent). */
  has(name: string): boolean {
    const v = this.#obj[name];
    return v !== undefined && v !== null;
  }

  sub(name: string): YamlFields {
    const v = this.#get(name);
    if (v === undefined) return new YamlFields({}, this.field(name), this.#makeError);
    if (!isPlain(v)) throw this.error(name, `expected a mapping, got a ${typeName(v)}`);
    return new YamlFields(v, this.field(name), this.#makeError);
  }

  /** Marks fields as read without using them. Returns those present. */
  accept(names: readonly string[]): string[] {
    const present = names.filter((n) => this.#obj[n] !== undefined && this.#obj[n] !== null);
    for (const n of names) this.#seen.add(n);
    return present.map((n) => this.field(n));
  }

  /** Fails on fields nobody read: Thanos parses strictly, and a typo should not pass silently. */
  rejectUnknown(): void {
    for (const k of Object.keys(this.#obj)) {
      if (!this.#seen.has(k)) throw this.error(k, 'unknown field');
    }
  }
}
