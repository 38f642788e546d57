import type { Browser } from 'playwright-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountWebUi, STATUS_PAGE } from '../../src/web/mount.js';
import { CsrfToken } from '../../src/util/csrf.js';
import { startHttpEndpoint, type HttpEndpoint } from '../../src/util/http.js';
import { launchBrowser, openPage, screenshot } from '../support/browser.js';
import { ensureBuilt } from '../support/build.js';
import { assertNoLeakedProcesses } from '../support/processes.js';

const HOSTILE = '<img src=x onerror=window.__pwned=1>';

describe('web UI shell', () => {
  let http: HttpEndpoint;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    await ensureBuilt();
    http = await startHttpEndpoint({
      address: '127.0.0.1:0',
      registry: new Registry(),
      status: () => ({ component: 'test', note: HOSTILE }),
    });
    mountWebUi(http, {
      component: 'test',
      version: '9.9.9',
      pages: [STATUS_PAGE],
      links: [{ title: 'Ring', href: 'compactor/ring' }],
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

  it('serves the shell with a policy that forbids inline script', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self';/);
    const html = await res.text();
    expect(html).toContain('static/app.js');
    expect(html).not.toMatch(/<script>(?!<\/script>)/);
  });

  it('serves compiled modules and uPlot, and nothing outside them', async () => {
    for (const path of [
      'static/app.js',
      'static/pages/status.js',
      'static/app.css',
      'static/vendor/uPlot.iife.min.js',
    ]) {
      const res = await fetch(`${base}/${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
    for (const path of [
      'static/../../package.json',
      'static/%2e%2e/%2e%2e/package.json',
      'static/app.ts',
      'static/nope.js',
    ])
      expect((await fetch(`${base}/${path}`)).status, path).toBe(404);
    expect((await fetch(`${base}/`, { method: 'POST', body: 'x' })).status).toBe(405);
  });

  it('says what it serves', async () => {
    const info = (await (await fetch(`${base}/api/v1/strata/ui`)).json()) as Record<string, unknown>;
    expect(info).toMatchObject({ component: 'test', version: '9.9.9', adminOperations: true });
    expect(info['pages']).toEqual([STATUS_PAGE]);
    expect(typeof info['csrfToken']).toBe('string');
  });

  it('draws the navigation and the status page in a browser, markup in values shown as text', async () => {
    const { page, errors } = await openPage(browser, `${base}/`);
    await page.waitForSelector('pre.json');
    // In-page code as strings: the test program has Node's types, not the DOM's.
    await page.waitForFunction(
      "(document.querySelector('pre.json')?.textContent ?? '').includes('component')",
    );
    expect(await page.locator('nav a[data-page]').allTextContents()).toEqual(['Status']);
    expect(await page.locator('nav a.link').getAttribute('href')).toBe('compactor/ring');
    expect(await page.locator('pre.json').textContent()).toContain(HOSTILE);
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    await screenshot(page, 'status');
    expect(errors).toEqual([]);
    await page.close();
  });
});
