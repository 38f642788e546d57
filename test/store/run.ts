/** Starting `strata store` as a tracked process on free ports and waiting until it is ready. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrackedProcess } from '../support/processes.js';
import { freePort, waitFor } from '../support/processes.js';
import { logRecords, startStrata, tail } from '../compactor/run.js';

export interface RunningStore {
  readonly proc: TrackedProcess;
  readonly grpc: string;
  readonly http: string;
}

export async function startStore(objstore: string, extra: readonly string[] = []): Promise<RunningStore> {
  const dataDir = await mkdtemp(join(tmpdir(), 'strata-store-data-'));
  const grpc = `127.0.0.1:${await freePort()}`;
  const http = `127.0.0.1:${await freePort()}`;
  const proc = startStrata([
    'store',
    '--objstore.config',
    objstore,
    '--data-dir',
    dataDir,
    '--grpc-address',
    grpc,
    '--http-address',
    http,
    '--sync-interval',
    '1s',
    ...extra,
  ]);
  // The data dir goes with the process, however the test stops it.
  proc.child.once('exit', () => void rm(dataDir, { recursive: true, force: true }).catch(() => undefined));
  await waitFor(
    'strata store ready',
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`strata store exited:\n${tail(proc.output())}`);
      return logRecords(proc.output()).find((r) => r.msg === 'store ready');
    },
    30_000,
  );
  return { proc, grpc, http };
}
