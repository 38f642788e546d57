/**
 * The ring page: status rows (UNHEALTHY when stale, ownership, tokens on request), escaped HTML
 * with a CSRF-protected Forget form, the JSON form, and the handler's answers. The forget path
 * runs against a real etcd.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsrfToken } from '../../src/util/csrf.js';
import { escapeHtml, renderRingPage } from '../../src/ring/html.js';
import { forgetInstance } from '../../src/ring/lifecycler.js';
import { InstanceState, instancesOf, type RingInstance } from '../../src/ring/model.js';
import { ringPageHandler } from '../../src/ring/page.js';
import type { HttpRequest } from '../../src/util/http.js';
import { HashRing } from '../../src/ring/ring.js';
import { ringStatus, type RingStatus } from '../../src/ring/status.js';
import { StrataError } from '../../src/util/errors.js';
import { startEtcd, type EtcdCluster } from '../services/etcd.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { Closer, etcdKv, freshRingKey, lifecycler } from './support.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

function member(id: string, over: Partial<RingInstance> = {}): RingInstance {
  return {
    id,
    addr: `${id}:9095`,
    heartbeatSec: NOW / 1000 - 3,
    state: InstanceState.ACTIVE,
    tokens: [],
    zone: 'z1',
    registeredSec: NOW / 1000 - 3600,
    ...over,
  };
}

const ring = new HashRing(
  [
    member('a', { tokens: [0, 0x8000_0000] }),
    member('b', { tokens: [0x4000_0000], heartbeatSec: NOW / 1000 - 120, state: InstanceState.LEAVING }),
    member('<img src=x onerror=alert(1)>', { tokens: [], registeredSec: 0, zone: '"z"' }),
  ],
  { nowMs: NOW, heartbeatTimeoutMs: 60_000 },
);

describe('ring status', () => {
  it('has one row per member: UNHEALTHY when stale, ownership in percent, tokens only on request', () => {
    const s = ringStatus(ring, { key: 'collectors/compactor' });
    expect(s.key).toBe('collectors/compactor');
    expect(s.now).toBe('2026-01-01T12:00:00.000Z');
    expect(s.heartbeatTimeoutSeconds).toBe(60);
    const [x, a, b] = s.instances;
    expect(a).toEqual({
      id: 'a',
      zone: 'z1',
      state: 'ACTIVE',
      address: 'a:9095',
      registeredAt: '2026-01-01T11:00:00.000Z',
      lastHeartbeat: '2026-01-01T11:59:57.000Z',
      heartbeatAgeSeconds: 3,
      tokenCount: 2,
      ownershipPercent: 75,
    });
    expect(b).toMatchObject({ state: 'UNHEALTHY', heartbeatAgeSeconds: 120, ownershipPercent: 25 });
    expect(x).toMatchObject({ registeredAt: null, tokenCount: 0, ownershipPercent: 0 });
    expect(ringStatus(ring, { key: 'k', includeTokens: true }).instances[1]!.tokens).toEqual([
      0, 0x8000_0000,
    ]);
  });

  it('renders escaped HTML with a Forget button per member and the CSRF token', () => {
    const html = renderRingPage(ringStatus(ring, { key: 'collectors/<x>' }), {
      title: 'Compactor ring',
      csrfToken: 'tok"en',
      showTokens: false,
    });
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('collectors/&lt;x&gt;');
    expect(html).toContain('<input type="hidden" name="csrf_token" value="tok&quot;en">');
    expect(html.match(/<button type="submit" name="forget" value="[^"]*">Forget<\/button>/g)).toHaveLength(3);
    expect(html).toContain('<td>UNHEALTHY</td>');
    expect(html).toContain('75.00%');
    expect(html).toContain('href="?tokens=true"');
    expect(escapeHtml(`<&>"'`)).toBe('&lt;&amp;&gt;&quot;&#39;');
    const withTokens = renderRingPage(ringStatus(ring, { key: 'k', includeTokens: true }), {
      title: 't',
      csrfToken: 'x',
      showTokens: true,
    });
    expect(withTokens).toContain('<p class="tokens">0 2147483648</p>');
  });

  it('CSRF tokens: random per instance, checked exactly', () => {
    const t = new CsrfToken();
    expect(t.value.length).toBeGreaterThanOrEqual(40);
    expect(new CsrfToken().value).not.toBe(t.value);
    expect(t.verify(t.value)).toBe(true);
    expect(t.verify(t.value.slice(1))).toBe(false);
    expect(t.verify(t.value + 'x')).toBe(false);
    expect(t.verify('')).toBe(false);
    expect(t.verify(null)).toBe(false);
    expect(t.verify(undefined)).toBe(false);
  });
});

describe('ring page handler', () => {
  const csrf = new CsrfToken('the-token');
  const forgotten: string[] = [];
  const handler = ringPageHandler({
    title: 'Compactor ring',
    status: (tokens) => ringStatus(ring, { key: 'collectors/compactor', includeTokens: tokens }),
    forget: async (id) => {
      if (id === 'down') throw new StrataError('ERR_RING_UNAVAILABLE', 'etcd get: deadline exceeded');
      forgotten.push(id);
      return true;
    },
    csrf,
  });
  const get = (url: string, accept = 'text/html'): Promise<Awaited<ReturnType<typeof handler>>> =>
    handler({ method: 'GET', url, headers: { accept } });
  const post = (body: string): Promise<Awaited<ReturnType<typeof handler>>> =>
    handler({
      method: 'POST',
      url: '/compactor/ring?tokens=true',
      headers: {},
      body,
    } satisfies HttpRequest);

  it('serves HTML, and JSON for Accept: application/json', async () => {
    const html = await get('/compactor/ring');
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.body).toContain('value="the-token"');
    const json = await get('/compactor/ring?tokens=true', 'application/json, text/plain');
    expect(json.headers['content-type']).toBe('application/json');
    const parsed = JSON.parse(json.body) as RingStatus;
    expect(parsed.instances.map((r) => r.id)).toEqual(['<img src=x onerror=alert(1)>', 'a', 'b']);
    expect(parsed.instances[1]!.tokens).toEqual([0, 0x8000_0000]);
  });

  it('refuses a POST without the right CSRF token, forgets with it and redirects back', async () => {
    expect((await post('forget=a')).status).toBe(403);
    expect((await post('forget=a&csrf_token=wrong')).status).toBe(403);
    expect(forgotten).toEqual([]);
    const ok = await post('forget=a&csrf_token=the-token');
    expect(ok.status).toBe(303);
    expect(ok.headers['location']).toBe('/compactor/ring?tokens=true');
    expect(forgotten).toEqual(['a']);
    expect((await post('csrf_token=the-token')).status).toBe(400);
    const down = await post('forget=down&csrf_token=the-token');
    expect(down.status).toBe(503);
    expect(down.body).toContain('deadline exceeded');
    expect((await handler({ method: 'DELETE', url: '/compactor/ring', headers: {} })).status).toBe(405);
  });
});

describe('ring page forget on etcd', () => {
  let etcd: EtcdCluster;
  const closer = new Closer();
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await closer.closeAll();
    await etcd?.stop();
    await assertNoLeakedProcesses();
  });

  it('removes a dead member at once, so its tenants move', async () => {
    const key = freshRingKey();
    const kv = etcdKv(closer, etcd.endpoints);
    const alive = lifecycler(closer, { kv, ringKey: key, instanceId: 'alive', numTokens: 64 });
    // A member that registered once and never heartbeats again (heartbeat timeout 1 h: still healthy).
    const dead = lifecycler(closer, {
      kv,
      ringKey: key,
      instanceId: 'dead',
      numTokens: 64,
      heartbeatPeriodMs: 0,
    });
    await alive.start();
    await dead.start();
    const handler = ringPageHandler({
      title: 'Compactor ring',
      status: () => ({ key, now: '', heartbeatTimeoutSeconds: 0, instances: [] }),
      forget: (id) => forgetInstance(kv, key, id),
      csrf: new CsrfToken('t'),
    });
    const tenants = Array.from({ length: 200 }, (_, i) => `tenant-${i}`);
    const ownersBefore = new HashRing(instancesOf((await kv.get(key))!), {
      nowMs: Date.now(),
      heartbeatTimeoutMs: 3_600_000,
    });
    expect(tenants.some((t) => ownersBefore.ownerOfTenant(t)?.id === 'dead')).toBe(true);

    const res = await handler({
      method: 'POST',
      url: '/compactor/ring',
      headers: {},
      body: 'forget=dead&csrf_token=t',
    });
    expect(res.status).toBe(303);
    const after = new HashRing(instancesOf((await kv.get(key))!), {
      nowMs: Date.now(),
      heartbeatTimeoutMs: 3_600_000,
    });
    expect(after.instances.map((i) => i.id)).toEqual(['alive']);
    expect(tenants.every((t) => after.ownerOfTenant(t)?.id === 'alive')).toBe(true);
  });
});
