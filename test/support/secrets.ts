/**
 * The suite-wide "no secret in any log" check. Tests register every secret they hand to a process
 * or a component (passwords, S3 keys, private key material); every log line of the suite is kept
 * under test-output/logs (child processes' output, and each test worker's own stdout/stderr), and
 * the global teardown (test/support/global-setup.ts) fails the run if any secret shows up there.
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEST_OUTPUT = fileURLToPath(new URL('../../test-output/', import.meta.url));
export const LOG_DIR = join(TEST_OUTPUT, 'logs');
export const SECRETS_DIR = join(TEST_OUTPUT, 'secrets');

/** Records `value` as a secret no log may contain; returns it. `what` names it in a failure. */
export function registerSecret(value: string, what: string): string {
  if (value.length < 6) throw new Error(`secret ${what} is too short to search logs for reliably`);
  mkdirSync(SECRETS_DIR, { recursive: true });
  appendFileSync(join(SECRETS_DIR, `${process.pid}.jsonl`), JSON.stringify({ what, value }) + '\n');
  return value;
}

/** Registers a PEM private key's material (each base64 line long enough to be unique). */
export function registerPrivateKeyFile(path: string): void {
  const lines = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => !l.startsWith('-----') && l.trim().length >= 32);
  for (const l of lines) registerSecret(l.trim(), `private key ${path}`);
}

/** Ensures the log folder exists; returns the path of a new log file for `name`. */
export function logFile(name: string): string {
  mkdirSync(LOG_DIR, { recursive: true });
  return join(LOG_DIR, `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}-${process.pid}-${Date.now()}.log`);
}
