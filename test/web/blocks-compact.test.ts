import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlocksData } from '../../src/web/blocks-types.js';
import { ensureBuilt, REPO } from '../support/build.js';
import {
  assertNoLeakedProcesses,
  freePort,
  startProcess,
  waitFor,
  type TrackedProcess,
} from '../support/processes.js';
import { writeDemoBucket } from './bucket-web.js';

describe('the Blocks page of strata compact: the blocks of its own metadata sync', () => {
  let dir: string;
  let proc: TrackedProcess;
  let base: string;

  beforeAll(async () => {
    await ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), 'strata-web-compact-'));
    await writeDemoBucket(join(dir, 'bucket'), ['tenant-1'], 8);
    const config = join(dir, 'objstore.yaml');
    await writeFile(
      config,
      `type: FILESYSTEM\nconfig:\n  directory: ${JSON.stringify(join(dir, 'bucket'))}\n`,
    );
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    proc = startProcess('strata compact', process.execPath, [
      join(REPO, 'bin/strata.js'),
      'compact',
      '--objstore.config-file',
      config,
      '--tenancy',
      'multi',
      '--data-dir',
      join(dir, 'data'),
      '--http-address',
      `127.0.0.1:${port}`,
      '--consistency-delay',
      '0s',
      '--wait',
      '--wait-interval',
      '1h',
    ]);
  }, 60_000);

  afterAll(async () => {
    await proc?.stop();
    await assertNoLeakedProcesses();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lists the synced blocks, which exist in the bucket, and offers the page', async () => {
    const data = await waitFor(
      'the first sync on the Blocks API',
      async () => {
        if (proc.exited()) throw new Error(`compact exited: ${proc.output()}`);
        const r = await fetch(`${base}/api/v1/blocks?tenant=tenant-1`).catch(() => undefined);
        return r?.status === 200 ? ((await r.json()) as { data: BlocksData }).data : undefined;
      },
      30_000,
    );
    const inBucket = new Set(await readdir(join(dir, 'bucket', 'tenant-1')));
    expect(data.total).toBeGreaterThan(0);
    for (const m of data.blocks) expect(inBucket.has(m.ulid), m.ulid).toBe(true);
    const ui = (await (await fetch(`${base}/api/v1/strata/ui`)).json()) as { pages: { id: string }[] };
    expect(ui.pages.map((p) => p.id)).toContain('blocks');
    expect((await fetch(`${base}/static/pages/blocks.js`)).status).toBe(200);
  });
});
