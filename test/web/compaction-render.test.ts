/**
 * The Compaction page's rendering of what a real run rarely shows on cue, served in-process from a
 * CompactionActivity with a fake clock: the halted headline with its reason, failures and parked
 * plans; markup in a tenant, an error message and a park reason is shown as text and never runs.
 */
import type { Browser } from 'playwright-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompactionActivity, type CompactionSnapshot } from '../../src/compactor/activity.js';
import { CsrfToken } from '../../src/util/csrf.js';
import { startHttpEndpoint, type HttpEndpoint } from '../../src/util/http.js';
import { COMPACTION_PAGE, mountCompactionApi } from '../../src/web/compaction-api.js';
import { mountWebUi, STATUS_PAGE } from '../../src/web/mount.js';
import { launchBrowser, openPage, screenshot } from '../support/browser.js';
import { ensureBuilt } from '../support/build.js';
import { assertNoLeakedProcesses } from '../support/processes.js';

const HOSTILE = '<img src=x onerror=window.__pwned=1>';
const T0 = Date.parse('2026-12-07T00:00:00Z');

let http: HttpEndpoint;
let browser: Browser;
let base = '';
let clock = T0;

beforeAll(async () => {
  await ensureBuilt();
  const activity = new CompactionActivity(() => clock, 5 * 60_000);
  activity.passStarted();
  clock += 2000;
  activity.sample({ todoCompactions: 3, todoCompactionBlocks: 12, todoDownsamples: 2, todoDeletions: 1 });
  activity.planFailed({
    plan: `${HOSTILE}/0@1/abc`,
    tenant: HOSTILE,
    kind: 'failed',
    code: 'ERR_CHUNK_CORRUPT',
    message: `chunk ${HOSTILE} is corrupt`,
  });
  clock += 1000;
  activity.passEnded('failed', `bucket said ${HOSTILE}`);
  clock += 3600_000;
  activity.sample({ todoCompactions: 5, todoCompactionBlocks: 20, todoDownsamples: 2, todoDeletions: 1 });
  const snapshot: CompactionSnapshot = {
    running: [],
    queued: [],
    parked: [
      {
        id: 'team/0@5/def',
        tenant: 'team',
        failures: 3,
        reason: `failed 3 times, last: ${HOSTILE}`,
        failingBlock: '01JEXAMPLE0000000000000000',
        parkedMs: T0 + 1500,
      },
    ],
  };
  http = await startHttpEndpoint({ address: '127.0.0.1:0', registry: new Registry(), status: () => ({}) });
  mountCompactionApi(http, { component: 'planner', now: () => clock, activity, snapshot: () => snapshot });
  mountWebUi(http, {
    component: 'planner',
    version: '9.9.9',
    pages: [COMPACTION_PAGE, STATUS_PAGE],
    csrf: new CsrfToken(),
    adminOperations: true,
  });
  base = `http://${http.address}`;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await http?.close();
  await assertNoLeakedProcesses();
});

describe('the Compaction page', () => {
  it('shows a halted compactor, its failures and parked plans, markup as text', async () => {
    const { page, errors } = await openPage(browser, `${base}/#/compaction`);
    const health = page.locator('main [data-section="health"]');
    await health.waitFor();
    expect(await health.getAttribute('data-state')).toBe('halted');
    expect(await health.locator('.badge.bad').textContent()).toBe('halted');
    expect(await health.locator('li').allTextContents()).toEqual([
      'no successful pass in the 60m since start (or since it began to lead) and no plan finished since; interval 5m',
    ]);
    const cells = (section: string): Promise<string[]> =>
      page.locator(`main table[data-section="${section}"] td`).allTextContents();
    expect(await cells('passes')).toEqual([
      '2026-12-07 00:00:00',
      '3s',
      'failed',
      '0',
      '1',
      `bucket said ${HOSTILE}`,
    ]);
    expect(await cells('failures')).toEqual([
      '2026-12-07 00:00:02',
      HOSTILE,
      `${HOSTILE}/0@1/abc`,
      'failed',
      'ERR_CHUNK_CORRUPT',
      `chunk ${HOSTILE} is corrupt`,
    ]);
    expect(await cells('parked')).toEqual([
      'team/0@5/def',
      'team',
      '3',
      '01JEXAMPLE0000000000000000',
      `failed 3 times, last: ${HOSTILE}`,
      '2026-12-07 00:00:01',
    ]);
    await page.waitForSelector('#backlog-chart .uplot canvas');
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    await screenshot(page, 'compaction-halted');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('refuses anything but GET and HEAD', async () => {
    expect((await fetch(`${base}/api/v1/strata/compaction`, { method: 'POST', body: 'x' })).status).toBe(405);
    expect((await fetch(`${base}/api/v1/strata/compaction`, { method: 'HEAD' })).status).toBe(200);
  });
});
