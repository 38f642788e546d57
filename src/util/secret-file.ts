/**
 * Reading a file that holds a secret (a key, a password): errors name what the file is for and
 * its path, never its contents, and a file every user of the machine can read is reported through
 * the logger (it still loads: refusing would break setups that work today).
 */
import { open } from 'node:fs/promises';
import { fromSystemError } from './system-errors.js';
import type { Logger } from './logger.js';

/**
 * The bytes of the secret file `path`; `what` names it in errors and warnings (a flag or a config
 * field). Mode is read from the opened file, so the warning is about the file actually read.
 */
export async function readSecretFile(
  path: string,
  what: string,
  logger: Logger | undefined,
): Promise<Buffer> {
  try {
    const fh = await open(path, 'r');
    try {
      warnIfWorldReadableMode((await fh.stat()).mode, 'secret file', { what, file: path }, logger);
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw fromSystemError(err, `${what}: cannot read ${path}`);
  }
}

/** The one world-readable check: `kind` is 'secret file' or 'key file'; `fields` name the file. */
export function warnIfWorldReadableMode(
  mode: number,
  kind: string,
  fields: Readonly<Record<string, string | undefined>>,
  logger: Logger | undefined,
): void {
  if ((mode & 0o004) !== 0)
    logger?.warn(`${kind} is readable by every user; restrict it (chmod 600)`, fields);
}
