import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_DISABLED, BAD_CSRF } from '../../src/web/blocks-api.js';
import type { BlockMeta } from '../../src/tsdb/meta.js';
import type { BlocksData } from '../../src/web/blocks-types.js';
import { launchBrowser, openPage, screenshot } from '../support/browser.js';
import { ensureBuilt } from '../support/build.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { setLabel, startBucketWeb, tenantMetas, writeDemoBucket, type BucketWeb } from './bucket-web.js';

/** Polls an in-page expression (page.evaluate is not subject to the page's CSP; waitForFunction's eval is). */
async function until(page: Page, expr: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await page.evaluate(expr))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${expr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const HOSTILE = '<img src=x onerror=window.__pwned=1>';
const TENANTS = ['tenant-1', 'tenant-2'];

describe('Blocks page on strata bucket web --tenancy multi', () => {
  let dir: string;
  let bucketDir: string;
  let config: string;
  let web: BucketWeb;
  let ro: BucketWeb;
  let browser: Browser;
  let metas: BlockMeta[];
  let hostileId: string;

  beforeAll(async () => {
    await ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), 'strata-web-blocks-'));
    bucketDir = join(dir, 'bucket');
    await writeDemoBucket(bucketDir, TENANTS, 12);
    metas = await tenantMetas(bucketDir, 'tenant-1');
    hostileId = metas[0]!.ulid;
    await setLabel(bucketDir, 'tenant-1', hostileId, 'note', HOSTILE);
    config = join(dir, 'objstore.yaml');
    await writeFile(config, `type: FILESYSTEM\nconfig:\n  directory: ${JSON.stringify(bucketDir)}\n`);
    [web, ro, browser] = await Promise.all([
      startBucketWeb(config),
      startBucketWeb(config, ['--disable-admin-operations']),
      launchBrowser(),
    ]);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await web?.proc.stop();
    await ro?.proc.stop();
    await assertNoLeakedProcesses();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const api = async (
    base: string,
    path: string,
  ): Promise<{ status: number; body: Record<string, unknown> }> => {
    const r = await fetch(`${base}${path}`);
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  it('serves the blocks in Thanos shape, per tenant, with the tenants listed', async () => {
    const t = await api(web.base, '/api/v1/strata/tenants');
    expect(t.body).toMatchObject({
      status: 'success',
      data: {
        multiTenant: true,
        tenants: [
          { name: 'tenant-1', blocks: 12 },
          { name: 'tenant-2', blocks: 12 },
        ],
      },
    });
    const b = await api(web.base, '/api/v1/blocks?tenant=tenant-1&limit=5');
    const data = b.body['data'] as Record<string, unknown>;
    expect(b.body['status']).toBe('success');
    expect(data).toMatchObject({ total: 12, offset: 0, limit: 5, err: null, label: '' });
    expect(typeof data['refreshedAt']).toBe('string');
    const blocks = data['blocks'] as BlockMeta[];
    expect(blocks).toHaveLength(5);
    const want = metas.find((m) => m.ulid === blocks[0]!.ulid)!;
    expect(blocks[0]).toMatchObject({ ulid: want.ulid, minTime: want.minTime, compaction: { level: 1 } });
  });

  it('answers bad input with 400/404 naming the parameter or tenant', async () => {
    for (const [path, status, re] of [
      [
        '/api/v1/blocks?tenant=tenant-1&limit=99999',
        400,
        /parameter limit: 99999 is out of range \[1, 5000\]/,
      ],
      ['/api/v1/blocks?tenant=tenant-1&min_time=abc', 400, /parameter min_time: "abc" is not an integer/],
      ['/api/v1/blocks?tenant=tenant-1&q=%3Cscript%3E', 400, /parameter q: /],
      ['/api/v1/blocks', 400, /parameter tenant: required in the multi-tenant layout/],
      ['/api/v1/blocks?tenant=nobody', 404, /unknown tenant "nobody"/],
      ['/api/v1/strata/blocks/timeline?tenant=nobody', 404, /unknown tenant "nobody"/],
      [
        `/api/v1/strata/blocks/meta?tenant=tenant-1&id=01ARZ3NDEKTSV4RRFFQ69G5FAV`,
        404,
        /unknown block 01ARZ3NDEKTSV4RRFFQ69G5FAV/,
      ],
    ] as const) {
      const r = await api(web.base, path);
      expect(r.status, path).toBe(status);
      expect(r.body['status']).toBe('error');
      expect(r.body['errorType']).toBe(status === 400 ? 'bad_data' : 'not_found');
      expect(String(r.body['error']), path).toMatch(re);
    }
  });

  it('refuses marks without the CSRF token, and all marks under --disable-admin-operations', async () => {
    const post = async (
      base: string,
      fields: Record<string, string>,
    ): Promise<{ status: number; error: string }> => {
      const r = await fetch(`${base}/api/v1/blocks/mark`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      });
      const e = ((await r.json()) as Record<string, unknown>)['error'];
      return { status: r.status, error: typeof e === 'string' ? e : '' };
    };
    const id = metas[1]!.ulid;
    const fields = { id, action: 'DELETION', tenant: 'tenant-1', detail: 'x' };
    expect(await post(web.base, fields)).toEqual({ status: 403, error: BAD_CSRF });
    expect(await post(web.base, { ...fields, csrf_token: 'wrong' })).toEqual({
      status: 403,
      error: BAD_CSRF,
    });
    const roToken = ((await api(ro.base, '/api/v1/strata/ui')).body['csrfToken'] as string) ?? '';
    expect(await post(ro.base, { ...fields, csrf_token: roToken })).toEqual({
      status: 403,
      error: ADMIN_DISABLED,
    });
    const token = (await api(web.base, '/api/v1/strata/ui')).body['csrfToken'] as string;
    expect((await post(web.base, { ...fields, csrf_token: token, action: 'PURGE' })).status).toBe(400);
    expect((await post(web.base, { ...fields, csrf_token: token, id: 'nope' })).status).toBe(400);
    expect(
      (await post(web.base, { ...fields, csrf_token: token, id: '01ARZ3NDEKTSV4RRFFQ69G5FAV' })).status,
    ).toBe(404);
    await expect(readFile(join(bucketDir, 'tenant-1', id, 'deletion-mark.json'))).rejects.toThrow(/ENOENT/);
    // With the token: a no-compact mark as Thanos writes it (reason manual), in the block and the tenant's markers/.
    expect(
      await post(web.base, { ...fields, csrf_token: token, action: 'NO_COMPACTION', detail: 'too big' }),
    ).toEqual({
      status: 200,
      error: '',
    });
    for (const key of [join(id, 'no-compact-mark.json'), join('markers', `${id}-no-compact-mark.json`)]) {
      const mark = JSON.parse(await readFile(join(bucketDir, 'tenant-1', key), 'utf8')) as Record<
        string,
        unknown
      >;
      expect(mark, key).toMatchObject({ id, version: 1, reason: 'manual', details: 'too big' });
    }
    const page = (await api(web.base, `/api/v1/blocks?tenant=tenant-1&q=${id}`)).body['data'] as BlocksData;
    expect(page.markers[id]?.noCompact).toMatchObject({ reason: 'manual', details: 'too big' });
  });

  const openBlocks = async (base: string, query: string): Promise<{ page: Page; errors: string[] }> => {
    const o = await openPage(browser, `${base}/#/blocks?${query}`);
    await until(o.page, 'document.getElementById("main").dataset.rendered !== undefined');
    return o;
  };
  const rows = (page: Page): Promise<number> =>
    page.evaluate('document.querySelectorAll("tr[data-ulid]").length') as Promise<number>;

  it('draws one lane per (resolution, level) with the bucket’s block counts', async () => {
    const { page, errors } = await openBlocks(web.base, 'tenant-1');
    const lanes = (await page.evaluate(
      '[...document.querySelectorAll("ul.lanes li[data-count]")].map((li) => [Number(li.dataset.resolution), Number(li.dataset.level), Number(li.dataset.count), Number(li.dataset.sublanes)])',
    )) as number[][];
    const want = new Map<string, number>();
    for (const m of metas) {
      const k = `${m.thanos?.downsample.resolution ?? 0}/${m.compaction.level}`;
      want.set(k, (want.get(k) ?? 0) + 1);
    }
    expect(lanes.map(([r, l, c]) => [`${r}/${l}`, c])).toEqual([...want.entries()]);
    // Two HA replicas cover the same 2h ranges: two sub-lanes.
    expect(lanes[0]![3]).toBe(2);
    expect(await rows(page)).toBe(12);
    await screenshot(page, 'blocks-page');
    // A click on the timeline selects the block under it: the first sub-lane's first block.
    const box = (await page.locator('canvas.timeline').boundingBox())!;
    await page.mouse.click(box.x + 110 + 30, box.y + 5);
    await page.waitForSelector('[data-role=detail-id]');
    const first = Math.min(...metas.map((m) => m.minTime));
    const earliest = metas.filter((m) => m.minTime === first).map((m) => m.ulid);
    expect(earliest).toContain(await page.textContent('[data-role=detail-id]'));
    expect(errors).toEqual([]);
    await page.close();
  });

  it('narrows the table by ULID search and by external label', async () => {
    const { page, errors } = await openBlocks(web.base, 'tenant-1');
    const target = metas[5]!.ulid;
    await page.fill('input[name=q]', target.toLowerCase());
    await page.click('form.toolbar button[type=submit]');
    await until(page, 'document.querySelectorAll("tr[data-ulid]").length === 1').catch(
      async (err: unknown) => {
        throw new Error(
          `${String(err)}; page says: ${String(await page.evaluate('document.getElementById("main").innerText'))}`,
        );
      },
    );
    expect(await page.getAttribute('tr[data-ulid]', 'data-ulid')).toBe(target);
    expect(page.url()).toContain(`q=${target.toLowerCase()}`);
    await page.fill('input[name=q]', '');
    await page.fill('input[name=label]', 'replica=r1');
    await page.click('form.toolbar button[type=submit]');
    const replica1 = metas.filter((m) => m.thanos?.labels['replica'] === 'r1').length;
    expect(replica1).toBe(6);
    await until(page, `document.querySelectorAll("tr[data-ulid]").length === ${replica1}`);
    expect(await page.getAttribute('[data-role=range]', 'data-total')).toBe(String(replica1));
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows label values holding HTML as text, and no script runs', async () => {
    const { page, errors } = await openBlocks(web.base, `tenant-1&q=${hostileId}`);
    await page.click(`tr[data-ulid="${hostileId}"]`);
    await page.waitForSelector('[data-role=detail-id]');
    expect(await page.evaluate('document.querySelector("[data-role=detail]").textContent')).toContain(
      HOSTILE,
    );
    expect(await page.evaluate('document.querySelector("[data-role=table]").textContent')).toContain(HOSTILE);
    expect(await page.evaluate('document.querySelectorAll("img").length')).toBe(0);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(errors).toEqual([]);
    await page.close();
  });

  it('marks a block for deletion through the UI: deletion-mark.json lands in the bucket', async () => {
    const id = metas[2]!.ulid;
    const { page, errors } = await openBlocks(web.base, `tenant-1&q=${id}`);
    await page.click(`tr[data-ulid="${id}"]`);
    await page.fill('[data-role=reason]', 'bad <b>data</b>');
    await page.click('button[data-action=DELETION]');
    await until(
      page,
      'document.querySelector("[data-role=mark-status]")?.textContent === "DELETION written"',
    );
    const mark = JSON.parse(
      await readFile(join(bucketDir, 'tenant-1', id, 'deletion-mark.json'), 'utf8'),
    ) as Record<string, unknown>;
    expect(mark).toMatchObject({ id, version: 1, details: 'bad <b>data</b>' });
    expect(Math.abs((mark['deletion_time'] as number) - Date.now() / 1000)).toBeLessThan(60);
    // Shown at once (before the next sync): the table lists the marker.
    await until(page, `document.querySelector('tr[data-ulid="${id}"]')?.textContent.includes('deletion')`);
    await screenshot(page, 'blocks-detail');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('hides the mark buttons under --disable-admin-operations', async () => {
    const id = metas[3]!.ulid;
    const { page, errors } = await openBlocks(ro.base, `tenant-1&q=${id}`);
    await page.click(`tr[data-ulid="${id}"]`);
    await page.waitForSelector('[data-role=detail-id]');
    expect(await page.evaluate('document.querySelectorAll("button[data-action]").length')).toBe(0);
    expect(await page.evaluate('document.querySelector("[data-role=detail]").textContent')).toContain(
      'Admin operations are disabled',
    );
    expect(errors).toEqual([]);
    await page.close();
  });
});
