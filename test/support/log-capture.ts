/**
 * Vitest setup file: copies everything a test worker writes to its stdout and stderr (in-process
 * loggers included) to a file under test-output/logs, for the suite's secret scan.
 */
import { createWriteStream } from 'node:fs';
import { logFile } from './secrets.js';

const KEY = Symbol.for('strata.test.logCapture');
const g = globalThis as Record<symbol, unknown>;

if (g[KEY] === undefined) {
  const out = createWriteStream(logFile('vitest-worker'), { flags: 'a' });
  g[KEY] = out;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
      if (typeof chunk === 'string' || chunk instanceof Uint8Array) out.write(chunk);
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
}
