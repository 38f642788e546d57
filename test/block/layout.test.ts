import { describe, expect, test } from 'vitest';
import {
  isReservedTopLevelName,
  isValidTenantId,
  layoutFor,
  multiTenantLayout,
  parseTenancy,
  singleTenantLayout,
} from '../../src/block/layout.js';
import { markerKindOfFilename } from '../../src/tsdb/markers.js';

const ID = '01HK0000000000000000000ABC';

describe('layout keys', () => {
  test('single-tenant (Thanos) keys sit at the bucket root', () => {
    const l = singleTenantLayout();
    expect(l.blockPrefix('', ID)).toBe(`${ID}/`);
    expect(l.metaKey('', ID)).toBe(`${ID}/meta.json`);
    expect(l.indexKey('', ID)).toBe(`${ID}/index`);
    expect(l.chunksPrefix('', ID)).toBe(`${ID}/chunks/`);
    expect(l.chunkKey('', ID, 1)).toBe(`${ID}/chunks/000001`);
    expect(l.chunkKey('', ID, 123)).toBe(`${ID}/chunks/000123`);
    expect(l.deletionMarkKey('', ID)).toBe(`${ID}/deletion-mark.json`);
    expect(l.noCompactMarkKey('', ID)).toBe(`${ID}/no-compact-mark.json`);
    expect(l.noDownsampleMarkKey('', ID)).toBe(`${ID}/no-downsample-mark.json`);
    expect(l.tenantMarkersPrefix('')).toBeUndefined();
    expect(l.tenantMarkerKey('', ID, 'deletion')).toBeUndefined();
    expect(l.bucketIndexKey('')).toBe('bucket-index.json.gz');
    expect(() => l.metaKey('team', ID)).toThrow(/single-tenant/);
  });

  test('multi-tenant (Cortex/Mimir) keys, with the markers/ copies Mimir names', () => {
    const l = multiTenantLayout();
    expect(l.metaKey('team-a', ID)).toBe(`team-a/${ID}/meta.json`);
    expect(l.chunkKey('team-a', ID, 2)).toBe(`team-a/${ID}/chunks/000002`);
    expect(l.tenantMarkersPrefix('team-a')).toBe('team-a/markers/');
    expect(l.tenantMarkerKey('team-a', ID, 'deletion')).toBe(`team-a/markers/${ID}-deletion-mark.json`);
    expect(l.tenantMarkerKey('team-a', ID, 'no-compact')).toBe(`team-a/markers/${ID}-no-compact-mark.json`);
    expect(l.tenantMarkerKey('team-a', ID, 'no-downsample')).toBeUndefined();
    expect(l.bucketIndexKey('team-a')).toBe('team-a/bucket-index.json.gz');
    for (const bad of ['', 'a/b', '..', '.', 'x'.repeat(151)]) {
      expect(() => l.metaKey(bad, ID)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    }
  });

  test('block IDs are validated so a bad ID never widens a prefix', () => {
    const l = multiTenantLayout();
    for (const bad of ['', 'not-a-ulid', `${ID}/..`, ID.toLowerCase() + 'x']) {
      expect(() => l.blockPrefix('t', bad)).toThrow(/ULID/);
    }
  });

  test('parseKey inverts the builders', () => {
    const m = multiTenantLayout();
    expect(m.parseKey(`t1/${ID}/chunks/000001`)).toEqual({
      kind: 'block-file',
      tenant: 't1',
      id: ID,
      file: 'chunks/000001',
    });
    expect(m.parseKey(`t1/${ID}/meta.json`)).toEqual({
      kind: 'block-file',
      tenant: 't1',
      id: ID,
      file: 'meta.json',
    });
    expect(m.parseKey(`t1/markers/${ID}-deletion-mark.json`)).toEqual({
      kind: 'tenant-marker',
      tenant: 't1',
      id: ID,
      marker: 'deletion',
    });
    expect(m.parseKey(`t1/markers/${ID}-no-compact-mark.json`)?.kind).toBe('tenant-marker');
    expect(m.parseKey('t1/markers/tenant-deletion-mark.json')).toBeUndefined();
    expect(m.parseKey(`t1/markers/${ID}-no-downsample-mark.json`)).toBeUndefined();
    expect(m.parseKey('t1/bucket-index.json.gz')).toEqual({ kind: 'bucket-index', tenant: 't1' });
    expect(m.parseKey(`__markers__/t1/${ID}/meta.json`)).toBeUndefined();
    expect(m.parseKey(`t1/${ID}`)).toBeUndefined();
    expect(m.parseKey(`t1/${ID}/`)).toBeUndefined();
    expect(m.parseKey('t1/foo/meta.json')).toBeUndefined();
    const s = singleTenantLayout();
    expect(s.parseKey(`${ID}/index`)).toEqual({ kind: 'block-file', tenant: '', id: ID, file: 'index' });
    expect(s.parseKey('bucket-index.json.gz')).toEqual({ kind: 'bucket-index', tenant: '' });
    expect(s.parseKey(`markers/${ID}-deletion-mark.json`)).toBeUndefined();
    for (const kind of ['deletion', 'no-compact'] as const) {
      const key = m.tenantMarkerKey('t1', ID, kind)!;
      expect(m.parseKey(key)).toEqual({ kind: 'tenant-marker', tenant: 't1', id: ID, marker: kind });
    }
  });

  test('tenant IDs and reserved names follow Cortex', () => {
    expect(isValidTenantId("a-b_c.d!*'()9")).toBe(true);
    expect(isValidTenantId('a b')).toBe(false);
    expect(isValidTenantId('é')).toBe(false);
    expect(isReservedTopLevelName('__markers__')).toBe(true);
    expect(isReservedTopLevelName('__users__')).toBe(true);
    expect(isReservedTopLevelName('team')).toBe(false);
    expect(markerKindOfFilename('no-compact-mark.json')).toBe('no-compact');
    expect(markerKindOfFilename('meta.json')).toBeUndefined();
    expect(layoutFor('multi').tenancy).toBe('multi');
    expect(parseTenancy('single')).toBe('single');
    expect(() => parseTenancy('both')).toThrow(/tenancy/);
  });
});
