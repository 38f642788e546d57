/**
 * The Compaction and Planner pages in Chromium against real processes on a filesystem bucket
 * (one tenant of identical HA replica pairs, 4 × 2h windows: dedup plans, then an 8h plan):
 *
 * - `strata compact --wait`, slowed by the test step hook (every step sleeps): the page shows the
 *   tenant's plan in the running table with its phase, the backlog chart (uPlot) and an OK
 *   headline; once the pass is done it is listed under "Last passes" with its plans.
 * - `strata planner` + a slowed `strata worker`: the planner's Compaction page shows the plan
 *   running on that worker (and the worker's own API lists it), and the Planner page shows this
 *   planner as leader with the worker connected (capacity, load).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import type { CompactionView, PlannerView } from '../../src/web/ops-types.js';
import { haFixture, type HaFixture } from '../compactor/fixtures.js';
import { compactArgs, filesystemObjstore, startStrata, tail } from '../compactor/run.js';
import { records, startPlanner, startWorker, uploadFixture, type Planner } from '../planner/cluster.js';
import { launchBrowser, openPage, screenshot } from '../support/browser.js';
import { ensureBuilt } from '../support/build.js';
import { assertNoLeakedProcesses, freePort, waitFor, type TrackedProcess } from '../support/processes.js';

const TENANT = 'webops';
const SLOW = { STRATA_DEBUG_PHASE_DELAY_MS: '400' };
/** The worker's plans run longer: the test looks at them three ways while they run. */
const SLOWER = { STRATA_DEBUG_PHASE_DELAY_MS: '700' };

let root = '';
let fx: HaFixture;
let browser: Browser;
const procs: TrackedProcess[] = [];

async function freshBucket(name: string): Promise<string> {
  const dir = join(root, name);
  const bucket = new FilesystemBucket({ directory: dir });
  await uploadFixture(bucket, fx);
  await bucket.close();
  return dir;
}

async function json<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
  return (await res.json()) as T;
}

/** The text of each cell of a table of the page (rows of cells). */
async function tableRows(page: Page, section: string): Promise<string[][]> {
  // In-page code as a string: the test program has Node's types, not the DOM's.
  return page.evaluate<string[][]>(
    `Array.from(document.querySelectorAll('main table[data-section="${section}"] tbody tr'),
       (tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? ''))`,
  );
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-web-compaction-'));
  [fx] = await Promise.all([
    haFixture({ windows: 4, series: 4, seed: 161, tenants: [{ tenant: TENANT, kind: 'identical' }] }),
    ensureBuilt(),
  ]);
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL', 1000);
  await browser?.close();
  if (root) await rm(root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

describe('the Compaction page of strata compact', () => {
  it('shows the running plan, its phase and the backlog chart while the pass works, then the pass', async () => {
    const dir = await freshBucket('bucket-compact');
    const port = await freePort();
    const args = compactArgs({
      objstore: filesystemObjstore(dir),
      dataDir: join(root, 'data-compact'),
      extra: ['--wait', '--wait-interval', '1h'],
    });
    args[args.indexOf('127.0.0.1:0')] = `127.0.0.1:${port}`;
    const proc = startStrata(args, { env: SLOW });
    procs.push(proc);
    const base = `http://127.0.0.1:${port}`;
    // Phases as the API reports them, sampled until the pass is done.
    const phases = new Set<string>();
    const sampling = waitFor(
      'the first pass in the compaction API',
      async () => {
        if (proc.exited()) throw new Error(`strata compact exited:\n${tail(proc.output())}`);
        const v = await json<CompactionView>(`${base}/api/v1/strata/compaction`);
        for (const r of v.running) if (r.phase !== null) phases.add(r.phase);
        return v.passes.length > 0 ? v : undefined;
      },
      90_000,
      100,
    );
    await waitFor(
      'the UI',
      async () => ((await fetch(`${base}/`)).status === 200 ? true : undefined),
      30_000,
    );
    const { page, errors } = await openPage(browser, `${base}/#/compaction`);
    await page.waitForSelector(`main table[data-section="running"] td:text-is("${TENANT}")`, {
      timeout: 60_000,
    });
    const running = await tableRows(page, 'running');
    expect(running[0]![1]).toBe(TENANT);
    expect(running[0]![4]).toBe('local');
    expect(['vertical', 'horizontal']).toContain(running[0]![2]);
    expect(Number(running[0]![5])).toBeGreaterThanOrEqual(2);
    expect(await page.locator('main [data-section="health"] .badge').first().textContent()).toBe('OK');
    await page.waitForSelector('#backlog-chart .uplot canvas');
    await screenshot(page, 'compaction');

    const done = await sampling;
    expect(done.passes[0]).toMatchObject({ outcome: 'ok', plans_failed: 0 });
    expect(done.passes[0]!.plans_done).toBeGreaterThanOrEqual(4);
    expect(done.health?.state).toBe('ok');
    expect(done.backlog.t.length).toBeGreaterThanOrEqual(2);
    // The last sample is after the last plan: nothing left.
    expect(done.backlog.todo_compaction_blocks.at(-1)).toBe(0);
    expect(Math.max(...done.backlog.todo_compaction_blocks)).toBeGreaterThan(0);
    expect([...phases]).toEqual(expect.arrayContaining(['download', 'compact', 'upload']));

    await page.waitForSelector('main table[data-section="passes"] .badge.ok', { timeout: 15_000 });
    const passes = await tableRows(page, 'passes');
    expect(passes[0]![2]).toBe('ok');
    expect(passes[0]![3]).toBe(String(done.passes[0]!.plans_done));
    await screenshot(page, 'compaction-done');
    await page.waitForSelector('main p[data-section="running"]');
    expect(await page.locator('main p[data-section="running"]').textContent()).toBe('none');
    expect(errors).toEqual([]);
    await page.close();
    await proc.stop('SIGTERM', 10_000);
  }, 120_000);
});

describe('the Compaction and Planner pages of strata planner', () => {
  let planner: Planner;

  it('shows a plan running on the worker, the leader and the connected worker', async () => {
    const dir = await freshBucket('bucket-planner');
    planner = await startPlanner({ objstore: filesystemObjstore(dir), dataDir: join(root, 'data-planner') });
    procs.push(planner.proc);
    const worker = await startWorker({
      planner,
      objstore: filesystemObjstore(dir),
      dataDir: join(root, 'data-worker'),
      id: 'w-webops',
      env: SLOWER,
    });
    procs.push(worker);
    const base = `http://${planner.http}`;
    const { page, errors } = await openPage(browser, `${base}/#/compaction`);
    await page.waitForSelector('main table[data-section="running"] td:text-is("w-webops")', {
      timeout: 60_000,
    });
    const running = await tableRows(page, 'running');
    expect(running[0]![1]).toBe(TENANT);
    await screenshot(page, 'compaction-planner');
    // The worker's own page lists the plans it runs, and has no passes or verdict of its own.
    const workerHttp = records(worker).find((r) => r.msg === 'strata worker started')?.http;
    const mine = await waitFor(
      "a running plan in the worker's compaction API",
      async () => {
        const v = await json<CompactionView>(`http://${workerHttp}/api/v1/strata/compaction`);
        return v.running.length > 0 ? v : undefined;
      },
      15_000,
      100,
    );
    expect(mine).toMatchObject({ component: 'worker', health: null, queued: [], passes: [] });
    expect(mine.running[0]).toMatchObject({ tenant: TENANT, worker: 'w-webops' });

    await page.goto(`${base}/#/planner`);
    await page.waitForSelector('main table[data-section="workers"] td:text-is("w-webops")');
    expect(await page.locator('main [data-section="leadership"]').getAttribute('data-leader')).toBe('true');
    expect(await page.locator('main [data-section="leadership"] .badge').first().textContent()).toBe(
      'leader',
    );
    const workers = await tableRows(page, 'workers');
    expect(workers).toHaveLength(1);
    expect(workers[0]!.slice(0, 2)).toEqual(['w-webops', '1']);
    const api = await json<PlannerView>(`${base}/api/v1/strata/planner`);
    expect(api).toMatchObject({ leader: true, sharded: false, ring_page: null, in_grace: false });
    expect(api.epoch).toBeGreaterThan(0);
    expect(api.workers.map((w) => [w.worker, w.capacity])).toEqual([['w-webops', 1]]);
    expect(api.workers[0]!.last_seen_ago_ms).toBeLessThan(10_000);
    expect(await page.locator('nav a[data-page]').allTextContents()).toEqual([
      'Compaction',
      'Planner',
      'Status',
    ]);
    await screenshot(page, 'planner');
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
