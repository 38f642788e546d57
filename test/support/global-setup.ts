/**
 * Vitest global setup: starts the suite with empty log and secret folders, and at the end scans
 * every log the suite produced for every registered secret (see secrets.ts).
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LOG_DIR, SECRETS_DIR } from './secrets.js';

export async function setup(): Promise<void> {
  await rm(LOG_DIR, { recursive: true, force: true });
  await rm(SECRETS_DIR, { recursive: true, force: true });
}

async function files(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [])).map((f) => join(dir, f));
}

export async function teardown(): Promise<void> {
  const secrets = new Map<string, string>();
  for (const f of await files(SECRETS_DIR)) {
    for (const line of (await readFile(f, 'utf8')).split('\n')) {
      if (line === '') continue;
      const s = JSON.parse(line) as { what: string; value: string };
      secrets.set(s.value, s.what);
    }
  }
  const leaks: string[] = [];
  const logs = await files(LOG_DIR);
  for (const f of logs) {
    const text = await readFile(f, 'utf8');
    for (const [value, what] of secrets) if (text.includes(value)) leaks.push(`${what} in ${f}`);
  }
  if (leaks.length > 0) throw new Error(`secrets found in test logs:\n${leaks.join('\n')}`);
  process.stdout.write(`secret scan: ${secrets.size} secrets, ${logs.length} log files, no leak\n`);
}
