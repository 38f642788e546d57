/**
 * A credential that never prints: String(), JSON and util.inspect all show a placeholder, and the
 * value lives in a private field that util.inspect does not walk. Only `reveal()` hands it out.
 */
import { inspect } from 'node:util';

const REDACTED = '<redacted>';

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  isEmpty(): boolean {
    return this.#value === '';
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}

/** Replaces every occurrence of the given secrets in a message (defence in depth for server echoes). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s.length >= 4) out = out.split(s).join(REDACTED);
  }
  return out;
}
