/**
 * The Query page in Chromium against a real `strata query` with two `strata store` endpoints of
 * one store group (same bucket, same --store.group-id) and one dead endpoint (a free port nothing
 * listens on): the group with both members healthy, the dead endpoint unhealthy with its error,
 * Info latency and check times in the API. The blocks' external label holds markup: it is shown as
 * text and no script runs.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EndpointsView } from '../../src/web/ops-types.js';
import { launchBrowser, openPage, screenshot } from '../support/browser.js';
import { assertNoLeakedProcesses, freePort, waitFor } from '../support/processes.js';
import {
  filesystemConfigFile,
  makeData,
  scratch,
  startQuery,
  startStore,
  stopAll,
  uploadBlocks,
  type Running,
  type Scratch,
} from '../query/harness.js';

const HOSTILE = '<img src=x onerror=window.__pwned=1>';
const GROUP = 'web-group';

let s: Scratch | undefined;
let stores: Running[] = [];
let query: Running | undefined;
let dead = '';
let browser: Browser;

beforeAll(async () => {
  s = await scratch('strata-web-query-');
  const data = await makeData(
    { seed: 7, series: 4, startMs: 1_700_006_400_000, durationMs: 2 * 3600_000 },
    s.path('blocks'),
  );
  const bucket = s.path('bucket');
  await uploadBlocks(
    bucket,
    data.blocks.map((b) => b.dir),
    { externalLabels: { cluster: HOSTILE } },
  );
  const config = await filesystemConfigFile(s, bucket);
  stores = await Promise.all(
    [0, 1].map((i) =>
      startStore(
        { objstoreConfigFile: config, dataDir: s!.path(`store-${i}`), groupId: GROUP },
        `strata store ${i}`,
      ),
    ),
  );
  dead = `127.0.0.1:${await freePort()}`;
  query = await startQuery({ endpoints: [...stores.map((r) => r.grpc), dead] });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stopAll([...stores, query]);
  await s?.cleanup();
  await assertNoLeakedProcesses();
});

describe('the Query page of strata query', () => {
  it('lists the endpoints by group with health, latency and the dead endpoint', async () => {
    const v = await waitFor(
      'two healthy members with two Info round trips each',
      async () => {
        const res = await fetch(`${query!.http}/api/v1/strata/endpoints`);
        const j = (await res.json()) as EndpointsView;
        const g = j.groups[0];
        return g?.healthy === 2 && g.members.every((m) => m.latency.info_samples >= 2) ? j : undefined;
      },
      30_000,
      200,
    );
    expect(v.ready).toBe(true);
    expect(v.groups).toHaveLength(1);
    const g = v.groups[0]!;
    expect(g).toMatchObject({ group_id: GROUP, kind: 'replica', label_sets: [{ cluster: HOSTILE }] });
    expect(g.members.map((m) => m.address).sort()).toEqual(stores.map((r) => r.grpc).sort());
    for (const m of g.members) {
      expect(m).toMatchObject({
        healthy: true,
        peer_type: 'STORE',
        last_error: null,
        consecutive_failures: 0,
      });
      expect(m.latency.info_p50_ms).toBeGreaterThan(0);
      expect(m.latency.info_p99_ms).toBeGreaterThanOrEqual(m.latency.info_p50_ms!);
      expect(Date.now() - Date.parse(m.last_check!)).toBeLessThan(10_000);
      expect(m.label_sets).toEqual([{ cluster: HOSTILE }]);
    }
    expect(v.unreachable).toHaveLength(1);
    expect(v.unreachable[0]).toMatchObject({ address: dead, healthy: false, peer_type: null });
    expect(v.unreachable[0]!.last_error).toMatch(/ECONNREFUSED|unavailable|connect/i);
    expect(v.unreachable[0]!.consecutive_failures).toBeGreaterThanOrEqual(1);
  });

  it('shows them in the browser, markup in labels as text', async () => {
    const { page, errors } = await openPage(browser, `${query!.http}/#/query`);
    const section = page.locator(`main section[data-group="${GROUP}"]`);
    await section.waitFor();
    await page.waitForSelector('main table[data-section="members"] .badge.ok');
    expect(await section.locator('h2').textContent()).toContain(HOSTILE);
    expect(await section.locator('h2 .badge').textContent()).toBe('2/2 healthy');
    expect(await section.locator('table[data-section="members"] tbody tr').count()).toBe(2);
    expect(await section.locator('.badge.ok', { hasText: 'healthy' }).count()).toBe(3);
    const deadRow = page.locator('main table[data-section="unreachable"] tbody tr');
    expect(await deadRow.count()).toBe(1);
    expect(await deadRow.locator('td').first().textContent()).toBe(dead);
    expect(await deadRow.locator('.badge.bad').textContent()).toBe('unhealthy');
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(await page.locator('nav a[data-page]').allTextContents()).toEqual(['Query', 'Status']);
    await screenshot(page, 'query');
    expect(errors).toEqual([]);
    await page.close();
  });
});
