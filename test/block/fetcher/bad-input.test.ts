import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { multiTenantLayout } from '../../../src/block/layout.js';
import { formatMarker, newNoCompactMark } from '../../../src/tsdb/markers.js';
import { MetaFetcher, noCompactFilter } from '../../../src/block/fetcher/index.js';
import { formatMeta } from '../../../src/tsdb/meta.js';
import { H, T0, captureLogger, mkMeta, putBlock, tempBucket, ulidAt, type TempBucket } from './helpers.js';

const layout = multiTenantLayout();
const NOW = T0 + 5000 * H;
let tb: TempBucket;

beforeEach(async () => {
  tb = await tempBucket();
});
afterEach(async () => {
  await tb.cleanup();
});

describe('bad input is skipped, counted and logged; the sync goes on', () => {
  test('corrupt meta.json, unknown versions, garbage keys, bad markers', async () => {
    const b = tb.bucket;
    const good = [1, 2, 3].map((i) => ulidAt(T0 + i * H, i));
    for (const id of good) await putBlock(b, layout, 'acme', mkMeta(id));
    const corrupt = ulidAt(T0 + 10 * H, 10);
    const v2 = ulidAt(T0 + 11 * H, 11);
    const thanosV9 = ulidAt(T0 + 12 * H, 12);
    const mismatch = ulidAt(T0 + 13 * H, 13);
    const noMeta = ulidAt(T0 + 14 * H, 14);
    await b.upload(layout.metaKey('acme', corrupt), Buffer.from('{"ulid": "trunc'));
    await b.upload(
      layout.metaKey('acme', v2),
      Buffer.from(formatMeta(mkMeta(v2)).replace('"version": 1', '"version": 2')),
    );
    const m9 = JSON.parse(formatMeta(mkMeta(thanosV9))) as { thanos: { version: number } };
    m9.thanos.version = 9;
    await b.upload(layout.metaKey('acme', thanosV9), Buffer.from(JSON.stringify(m9)));
    await b.upload(layout.metaKey('acme', mismatch), Buffer.from(formatMeta(mkMeta(good[0]!))));
    await b.upload(layout.indexKey('acme', noMeta), Buffer.from('x'));
    // Garbage: a stray file and folder in the tenant, a top-level file, an invalid tenant name.
    await b.upload('acme/README.txt', Buffer.from('hi'));
    await b.upload('acme/not-a-ulid/x', Buffer.from('x'));
    await b.upload('stray.txt', Buffer.from('x'));
    await b.upload('bad%tenant/x', Buffer.from('x'));
    // Markers: one unparsable, one for a block with a wrong id inside, one unknown name, one good.
    await b.upload(layout.tenantMarkerKey('acme', good[0]!, 'deletion')!, Buffer.from('{{{'));
    await b.upload(
      layout.tenantMarkerKey('acme', good[1]!, 'no-compact')!,
      Buffer.from(formatMarker(newNoCompactMark(good[2]!, 'manual', NOW))),
    );
    await b.upload('acme/markers/junk.json', Buffer.from('{}'));
    await b.upload(
      layout.tenantMarkerKey('acme', good[2]!, 'no-compact')!,
      Buffer.from(formatMarker(newNoCompactMark(good[2]!, 'manual', NOW))),
    );
    // A healthy second tenant.
    const other = ulidAt(T0, 100);
    await putBlock(b, layout, 'zeta', mkMeta(other));

    const registry = new Registry();
    const { logger, entries } = captureLogger();
    const f = new MetaFetcher(
      { bucket: b, layout, registry, logger, now: () => NOW },
      { cacheDir: tb.cacheDir, filters: [noCompactFilter()] },
    );
    const r = await f.sync();
    const acme = r.tenants.get('acme')!;
    expect([...acme.metas.keys()].sort()).toEqual(good);
    expect(r.tenants.get('zeta')!.metas.has(other)).toBe(true);
    expect(acme.partial.get(corrupt)?.reason).toBe('corrupted-meta-json');
    expect(acme.partial.get(v2)?.reason).toBe('unsupported-meta-version');
    expect(acme.partial.get(thanosV9)?.reason).toBe('unsupported-meta-version');
    expect(acme.partial.get(mismatch)?.reason).toBe('corrupted-meta-json');
    expect(acme.partial.get(noMeta)?.reason).toBe('no-meta-json');
    expect(acme.counts).toMatchObject({
      loaded: 3,
      'corrupted-meta-json': 2,
      'unsupported-meta-version': 2,
      'no-meta-json': 1,
      'marked-for-no-compact': 1,
    });
    expect([...acme.noCompact]).toEqual([good[2]]);
    expect(acme.deletionMarks.size).toBe(0);
    expect(acme.badInput).toMatchObject({
      'corrupted-meta-json': 2,
      'unsupported-meta-version': 2,
      'garbage-key': 3,
      'bad-marker': 2,
    });
    expect(r.stats.badInput['garbage-key']).toBe(5);

    const metric = await registry.getSingleMetricAsString('strata_blocks_meta_bad_input_total');
    expect(metric).toMatch(/kind="garbage-key"} 5/);
    expect(metric).toMatch(/kind="bad-marker"} 2/);
    expect(metric).toMatch(/kind="corrupted-meta-json"} 2/);
    expect(metric).toMatch(/kind="unsupported-meta-version"} 2/);
    const synced = await registry.getSingleMetricAsString('strata_blocks_meta_synced');
    expect(synced).toMatch(/state="loaded"} 4/);
    expect(synced).toMatch(/state="corrupted-meta-json"} 2/);

    const warned = entries.filter((e) => e.level === 'warn' && e.msg === 'skipping bad input in the bucket');
    expect(warned.map((e) => e.fields['key']).sort()).toEqual(
      [
        'acme/README.txt',
        'acme/not-a-ulid/',
        'stray.txt',
        'bad%tenant/',
        'acme/markers/junk.json',
        layout.tenantMarkerKey('acme', good[0]!, 'deletion'),
        layout.tenantMarkerKey('acme', good[1]!, 'no-compact'),
        layout.metaKey('acme', corrupt),
        layout.metaKey('acme', v2),
        layout.metaKey('acme', thanosV9),
        layout.metaKey('acme', mismatch),
      ].sort(),
    );
    // Nothing quotes file content.
    expect(JSON.stringify(entries)).not.toContain('trunc');

    // The next sync neither re-reads nor re-logs the same bad input; only the folder without
    // meta.json (maybe an upload in progress) gets another GET.
    entries.length = 0;
    const r2 = await f.sync();
    expect(r2.stats.requests.get).toBe(1);
    expect(r2.tenants.get('acme')!.partial.get(noMeta)?.reason).toBe('no-meta-json');
    expect(entries.filter((e) => e.level === 'warn')).toHaveLength(0);
    expect(r2.tenants.get('acme')!.metas.size).toBe(3);
    await f.close();
  });

  test('a transient listing failure keeps the tenant previous blocks and fails only that tenant', async () => {
    const id = ulidAt(T0, 1);
    await putBlock(tb.bucket, layout, 'acme', mkMeta(id));
    await putBlock(tb.bucket, layout, 'zeta', mkMeta(ulidAt(T0, 2)));
    const registry = new Registry();
    let broken = false;
    const bucket = Object.create(tb.bucket) as typeof tb.bucket;
    bucket.iter = (prefix, opts) => {
      if (broken && prefix === 'acme/') throw new Error('connection reset');
      return tb.bucket.iter(prefix, opts);
    };
    const f = new MetaFetcher({ bucket, layout, registry, now: () => NOW }, {});
    await f.sync();
    broken = true;
    const r = await f.sync();
    expect(r.tenants.get('acme')!.error?.message).toBe('connection reset');
    expect(r.tenants.get('acme')!.metas.has(id)).toBe(true);
    expect(r.tenants.get('zeta')!.error).toBeUndefined();
    expect(await registry.getSingleMetricAsString('strata_blocks_meta_sync_failures_total')).toMatch(/ 1$/m);
    await f.close();
  });
});
