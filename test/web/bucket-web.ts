/** Test helpers: a small demo-like bucket on disk and `strata bucket web` on it as a real process. */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSynthBlocks } from '../../src/tsdb/synth/write.js';
import type { BlockMeta } from '../../src/tsdb/meta.js';
import { REPO } from '../support/build.js';
import { freePort, startProcess, waitFor, type TrackedProcess } from '../support/processes.js';

/** What `strata demo` synthesizes (tenants × 2 HA replicas of 2h blocks), at a small size. */
export async function writeDemoBucket(dir: string, tenants: readonly string[], hours: number): Promise<void> {
  const start = Math.floor((Date.now() - 86_400_000) / 7_200_000) * 7_200_000 - hours * 3600_000;
  await writeSynthBlocks({ outDir: dir, series: 3, hours, seed: 1, startMs: start, tenants, replicas: 2 });
}

/** Every meta.json of a tenant, read back from the filesystem bucket. */
export async function tenantMetas(bucketDir: string, tenant: string): Promise<BlockMeta[]> {
  const out: BlockMeta[] = [];
  for (const id of await readdir(join(bucketDir, tenant))) {
    const text = await readFile(join(bucketDir, tenant, id, 'meta.json'), 'utf8').catch(() => undefined);
    if (text !== undefined) out.push(JSON.parse(text) as BlockMeta);
  }
  return out;
}

export async function setLabel(
  bucketDir: string,
  tenant: string,
  id: string,
  name: string,
  value: string,
): Promise<void> {
  const p = join(bucketDir, tenant, id, 'meta.json');
  const m = JSON.parse(await readFile(p, 'utf8')) as BlockMeta;
  m.thanos!.labels[name] = value;
  await writeFile(p, JSON.stringify(m));
}

export interface BucketWeb {
  proc: TrackedProcess;
  base: string;
}

export async function startBucketWeb(configFile: string, extra: readonly string[] = []): Promise<BucketWeb> {
  const port = await freePort();
  const proc = startProcess('strata bucket web', process.execPath, [
    join(REPO, 'bin/strata.js'),
    'bucket',
    'web',
    '--objstore.config-file',
    configFile,
    '--tenancy',
    'multi',
    '--http-address',
    `127.0.0.1:${port}`,
    ...extra,
  ]);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(
    'strata bucket web ready',
    async () => {
      if (proc.exited()) throw new Error(`exited: ${proc.output()}`);
      const r = await fetch(`${base}/-/ready`).catch(() => undefined);
      return r?.status === 200 ? true : undefined;
    },
    30_000,
  );
  return { proc, base };
}
