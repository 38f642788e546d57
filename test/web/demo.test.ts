/**
 * `npm start` (strata demo): after compacting the demo bucket it keeps serving the web UI on it
 * and prints the URL; the Blocks API there answers with the demo's tenants; SIGTERM stops it.
 * `--no-serve` exits after compacting.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, REPO } from '../support/build.js';
import { assertNoLeakedProcesses, startProcess, waitFor } from '../support/processes.js';

let root = '';

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-demo-ui-'));
  await ensureBuilt();
}, 300_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

const DEMO = ['demo', '--tenants', '2', '--series', '10', '--hours', '12'];

describe('strata demo', () => {
  it('serves the UI on the demo bucket after compacting and prints its URL', async () => {
    const p = startProcess('strata-demo', process.execPath, [
      join(REPO, 'bin/strata.js'),
      ...DEMO,
      '--dir',
      join(root, 'serve'),
      '--http-address',
      '127.0.0.1:0',
    ]);
    try {
      const url = await waitFor(
        'the UI line',
        async () => /UI: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(p.output())?.[1],
        120_000,
        200,
      );
      const info = (await (await fetch(`${url}api/v1/strata/ui`)).json()) as { pages: { id: string }[] };
      expect(info.pages.map((x) => x.id)).toContain('blocks');
      const tenants = (await (await fetch(`${url}api/v1/strata/tenants`)).json()) as {
        data: { tenants: { name: string; blocks: number }[] };
      };
      expect(tenants.data.tenants.map((t) => t.name)).toEqual(['tenant-1', 'tenant-2']);
      expect(tenants.data.tenants.every((t) => t.blocks > 0)).toBe(true);
      const html = await (await fetch(url)).text();
      expect(html).toContain('static/app.js');
    } finally {
      await p.stop('SIGTERM', 10_000);
    }
    expect(p.exited()).toBe(true);
  }, 180_000);

  it('--no-serve exits after compacting', async () => {
    const p = startProcess('strata-demo', process.execPath, [
      join(REPO, 'bin/strata.js'),
      ...DEMO,
      '--dir',
      join(root, 'once'),
      '--no-serve',
    ]);
    await waitFor('the demo to exit', async () => (p.exited() ? true : undefined), 120_000, 200);
    expect(p.child.exitCode).toBe(0);
    expect(p.output()).not.toContain('UI: ');
  }, 180_000);
});
