/**
 * Running the real `strata` binary (bin/strata.js → dist/) from tests. The binary runs the built
 * JavaScript: call ensureBuilt() (test/support/build.ts) first.
 */
import { join } from 'node:path';
import { startProcess } from '../support/processes.js';
import { REPO } from '../support/build.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node bin/strata.js ARGS...`: exit code and output. */
export async function runStrata(args: readonly string[], timeoutMs = 120_000): Promise<CliResult> {
  const p = startProcess('strata', process.execPath, [join(REPO, 'bin/strata.js'), ...args], { cwd: REPO });
  let stdout = '';
  let stderr = '';
  p.child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  p.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const code = await new Promise<number | null>((res) => {
    const timer = setTimeout(() => void p.stop('SIGKILL', 1000), timeoutMs);
    p.child.once('close', (c) => {
      clearTimeout(timer);
      res(c);
    });
  });
  return { code, stdout, stderr };
}

/** The JSON object on the last stdout line of `strata tsdb compact`. */
export interface CompactSummary {
  ulid: string | null;
  duration_ms: number;
  input_blocks: number;
  input_samples: number;
  output_samples: number;
  series: number;
  chunks: number;
  bytes_read: number;
  bytes_written: number;
  peak_rss_bytes: number;
}

export function lastJsonLine(stdout: string): CompactSummary {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  const last = lines.at(-1);
  if (last === undefined) throw new Error('no output');
  return JSON.parse(last) as CompactSummary;
}
