/**
 * The ring page of `strata compact` (GET /compactor/ring: HTML, JSON, ?tokens=true; POST Forget
 * with its CSRF token), forgetting a dead instance moves its tenants at once (long before its
 * heartbeat times out), and a second process under a live instance ID is refused.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type EtcdCluster } from '../services/etcd.js';
import { launchBrowser, openPage, screenshot } from '../support/browser.js';
import { ensureBuilt } from '../support/build.js';
import { assertNoLeakedProcesses, waitFor, type TrackedProcess } from '../support/processes.js';
import { haFixture, type HaFixture } from '../compactor/fixtures.js';
import { waitExit } from '../compactor/run.js';
import { stopOk, waitForLog } from '../planner/cluster.js';
import { fixtureBucket, freshPrefix, startShardedCompact, type RingTimings } from './support.js';

let root = '';
let etcd: EtcdCluster;
let fx: HaFixture;
// Tokens are random, so with few tenants one member may own them all (6 tenants: 1 run in 64).
// With 16 that is about 1 in 65,000.
const TENANTS = 16;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-ring-page-'));
  [etcd, fx] = await Promise.all([
    startEtcd(),
    haFixture({
      windows: 2,
      series: 2,
      seed: 47,
      tenants: Array.from({ length: TENANTS }, (_, i) => ({ tenant: `g${i}`, kind: 'identical' as const })),
    }),
    ensureBuilt(),
  ]);
}, 300_000);

afterAll(async () => {
  await etcd?.stop();
  if (root) await rm(root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

interface RingJson {
  instances: { id: string; state: string; tokens?: number[] }[];
}

async function started(p: TrackedProcess): Promise<string> {
  const r = await waitForLog(p, "'strata compact started'", (x) => x.msg === 'strata compact started');
  return r.http!;
}

async function heldBy(http: string): Promise<string[]> {
  const s = (await (await fetch(`http://${http}/api/v1/status`)).json()) as {
    ring: { tenants_held: string[] };
  };
  return s.ring.tenants_held;
}

describe('bad ring input', () => {
  it('a ring key holding garbage: the instance refuses to start with one line naming the key, and leaves it alone', async () => {
    const prefix = freshPrefix();
    const key = `${prefix}compactor`;
    const raw = new Etcd3({ hosts: etcd.endpoints });
    try {
      await raw.put(key).value(Buffer.from('not a snappy ring at all'));
      const dir = join(root, 'garbage');
      const bucket = await fixtureBucket(dir, fx);
      const p = startShardedCompact({
        bucketDir: dir,
        dataDir: join(root, 'garbage-data'),
        endpoints: etcd.endpoints,
        prefix,
        id: 'g',
      });
      const r = await waitExit(p, 90_000);
      await bucket.close();
      expect(r.code).toBe(1);
      const errors = r.output.split('\n').filter((l) => l.startsWith('strata: '));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/^strata: ERR_RING_CORRUPT: .*compactor/);
      expect((await raw.get(key).buffer())?.toString()).toBe('not a snappy ring at all');
    } finally {
      raw.close();
    }
  }, 120_000);
});

describe('the ring page', () => {
  it('shows the members as HTML and JSON, refuses a POST without the CSRF token, and Forget moves a dead member’s tenants at once', async () => {
    const dir = join(root, 'bucket');
    const bucket = await fixtureBucket(dir, fx);
    const prefix = freshPrefix();
    // A long heartbeat timeout: only Forget can move the dead member's tenants within the test.
    const timings: RingTimings = { timeout: '60s', stabilityMin: '1s' };
    const start = (id: string): TrackedProcess =>
      startShardedCompact({
        bucketDir: dir,
        dataDir: join(root, id),
        endpoints: etcd.endpoints,
        prefix,
        id,
        timings,
      });
    const c1 = start('c1');
    const c2 = start('c2');
    try {
      const http = await started(c1);
      await started(c2);
      const page = `http://${http}/compactor/ring`;
      const json = async (q = ''): Promise<RingJson> =>
        (await (await fetch(page + q, { headers: { accept: 'application/json' } })).json()) as RingJson;
      await waitFor('both members ACTIVE', async () => {
        const r = await json();
        return r.instances.filter((i) => i.state === 'ACTIVE').length === 2 ? true : undefined;
      });
      const html = await (await fetch(page)).text();
      expect(html).toContain('c1');
      expect(html).toContain('c2');
      // In a browser: the UI's navigation links the ring page, which lists both members.
      const browser = await launchBrowser();
      try {
        const { page: ui, errors } = await openPage(browser, `http://${http}/`);
        await ui.waitForSelector('nav a.link');
        await ui.click('nav a.link');
        await ui.waitForURL(/\/compactor\/ring$/);
        const text = (await ui.locator('body').textContent()) ?? '';
        expect(text).toContain('c1');
        expect(text).toContain('c2');
        await screenshot(ui, 'ring');
        expect(errors).toEqual([]);
      } finally {
        await browser.close();
      }
      const csrf = /name="csrf_token" value="([^"]+)"/.exec(html)?.[1];
      expect(csrf).toBeDefined();
      expect((await json('?tokens=true')).instances.every((i) => (i.tokens ?? []).length === 512)).toBe(true);

      const noToken = await fetch(page, {
        method: 'POST',
        body: new URLSearchParams({ forget: 'c2' }),
        redirect: 'manual',
      });
      expect(noToken.status).toBe(403);
      expect((await json()).instances.map((i) => i.id).sort()).toEqual(['c1', 'c2']);

      // c2 dies; forgotten, its tenants go to c1 within a few seconds (its lease TTL), not 60 s.
      await waitFor(
        'c2 to hold tenants',
        async () => ((await heldBy(http)).length < TENANTS ? true : undefined),
        30_000,
        200,
      );
      await c2.stop('SIGKILL', 1000);
      const t0 = Date.now();
      const forget = await fetch(page, {
        method: 'POST',
        body: new URLSearchParams({ forget: 'c2', csrf_token: csrf! }),
        redirect: 'manual',
      });
      expect(forget.status).toBe(303);
      expect((await json()).instances.map((i) => i.id)).toEqual(['c1']);
      await waitFor(
        'c1 to hold every tenant',
        async () => ((await heldBy(http)).length === TENANTS ? true : undefined),
        30_000,
        200,
      );
      expect(Date.now() - t0).toBeLessThan(20_000);

      // A second live process under c1's ID is refused with one clear line.
      const twin = start('c1');
      const r = await waitExit(twin, 60_000);
      expect(r.code).toBe(1);
      expect(r.output).toMatch(/strata: ERR_RING_INSTANCE_ID_IN_USE: .*c1/);
    } finally {
      await stopOk(c1);
      await c2.stop('SIGKILL', 1000);
      await bucket.close();
    }
  }, 180_000);
});
