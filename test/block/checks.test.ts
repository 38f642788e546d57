import { describe, expect, test } from 'vitest';
import { findGroupIssues, type CheckedBlock } from '../../src/block/checks.js';
import { metaForUpload } from '../../src/block/upload.js';
import { formatUploadTime } from '../../src/tsdb/upload-time.js';
import type { BlockMeta } from '../../src/tsdb/meta.js';

let n = 0;
function id(): string {
  n += 1;
  return `01HK00000000000000000${String(n).padStart(5, '0')}`;
}

function block(
  minTime: number,
  maxTime: number,
  sources?: string[],
  labels: Record<string, string> = { c: '1' },
): CheckedBlock {
  const ulid = id();
  const meta: BlockMeta = {
    ulid,
    minTime,
    maxTime,
    stats: { numSamples: 1, numSeries: 1, numChunks: 1, numTombstones: 0 },
    compaction: { level: 1, sources: sources ?? [ulid] },
    version: 1,
    thanos: { labels, downsample: { resolution: 0 }, source: '' },
  };
  return { tenant: 't', id: ulid, meta };
}

describe('bucket verify checks', () => {
  test('overlaps only inside one group', () => {
    const a = block(0, 100);
    const b = block(50, 150);
    const c = block(150, 200);
    const other = block(0, 100, undefined, { c: '2' });
    const issues = findGroupIssues([a, b, c, other]);
    expect(issues.map((i) => [i.kind, i.blocks])).toEqual([['overlap', [b.id, a.id]]]);
  });

  test('duplicate and conflicting sources', () => {
    const s1 = id();
    const s2 = id();
    const s3 = id();
    const big = block(0, 100, [s1, s2, s3]);
    const sub = block(0, 50, [s1, s2]);
    const conflict = block(200, 300, [s3, id()]);
    const issues = findGroupIssues([big, sub, conflict]);
    const dup = issues.find((i) => i.kind === 'duplicate-sources')!;
    expect(dup.blocks).toEqual([sub.id, big.id]);
    expect(dup.severity).toBe('warning');
    const bad = issues.filter((i) => i.kind === 'conflicting-sources');
    expect(bad.length).toBe(1);
    expect(bad[0]!.severity).toBe('error');
    expect(new Set(bad[0]!.blocks)).toEqual(new Set([big.id, conflict.id]));
    // Equal source sets: the newer block is the duplicate.
    const x = block(400, 500, [s1]);
    const y = block(400, 500, [s1]);
    const eq = findGroupIssues([y, x]).filter((i) => i.kind === 'duplicate-sources');
    expect(eq.map((i) => i.blocks)).toEqual([[y.id, x.id]]);
  });
});

describe('upload meta', () => {
  test('upload_time is RFC 3339 with Go-style trimmed fraction', () => {
    expect(formatUploadTime(Date.UTC(2024, 0, 2, 3, 4, 5))).toBe('2024-01-02T03:04:05Z');
    expect(formatUploadTime(Date.UTC(2024, 0, 2, 3, 4, 5, 600))).toBe('2024-01-02T03:04:05.6Z');
    expect(formatUploadTime(Date.UTC(2024, 0, 2, 3, 4, 10, 670))).toBe('2024-01-02T03:04:10.67Z');
    expect(formatUploadTime(Date.UTC(2024, 0, 2, 3, 4, 10, 5))).toBe('2024-01-02T03:04:10.005Z');
  });

  test('files, labels and source rules', () => {
    const b = block(0, 1);
    const files = [
      { relPath: 'index', size: 10 },
      { relPath: 'chunks/000001', size: 5 },
    ];
    const m = metaForUpload(b.meta, files, {}, 0);
    expect(m.thanos?.files).toEqual([
      { rel_path: 'chunks/000001', size_bytes: 5 },
      { rel_path: 'index', size_bytes: 10 },
      { rel_path: 'meta.json' },
    ]);
    const bare: BlockMeta = { ...b.meta };
    delete bare.thanos;
    expect(() => metaForUpload(bare, files, { requireExternalLabels: true }, 0)).toThrow(/external labels/);
    const labelled = metaForUpload(bare, files, { externalLabels: { a: 'b' }, source: 'bucket.upload' }, 0);
    expect(labelled.thanos).toMatchObject({
      labels: { a: 'b' },
      source: 'bucket.upload',
      downsample: { resolution: 0 },
    });
    expect(() => metaForUpload(b.meta, files, { externalLabels: { a: 'b' } }, 0)).toThrow(
      /different external labels/,
    );
    expect(metaForUpload(b.meta, files, { externalLabels: { c: '1' } }, 0).thanos?.labels).toEqual({
      c: '1',
    });
  });
});
