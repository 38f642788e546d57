import { describe, expect, it } from 'vitest';
import { formatMeta, parseMeta, type BlockMeta } from './meta.js';
import { FormatError } from '../util/errors.js';

const meta: BlockMeta = {
  ulid: '01BKGV7JBM69T2G1BGBGM6KB12',
  minTime: 1000,
  maxTime: 2000,
  stats: { numSamples: 10, numSeries: 2, numChunks: 2, numTombstones: 0 },
  compaction: { level: 1, sources: ['01BKGV7JBM69T2G1BGBGM6KB12'] },
  version: 1,
  thanos: {
    labels: { replica: 'a', cluster: 'x' },
    downsample: { resolution: 0 },
    source: 'compactor',
    segment_files: ['000001'],
    files: [{ rel_path: 'chunks/000001', size_bytes: 100 }, { rel_path: 'meta.json' }],
    index_stats: { series_max_size: 64 },
  },
};

describe('meta.json', () => {
  it('round-trips and keeps Go key order', () => {
    const text = formatMeta(meta);
    expect(parseMeta(text, 'm')).toEqual(meta);
    expect(Object.keys(JSON.parse(text))).toEqual([
      'ulid',
      'minTime',
      'maxTime',
      'stats',
      'compaction',
      'version',
      'thanos',
    ]);
    expect(text).toContain('"cluster": "x",\n\t\t\t"replica": "a"');
    expect(text).not.toContain('numTombstones');
  });

  it('rejects bad versions and junk with typed errors', () => {
    expect(() => parseMeta('{', 'a/meta.json')).toThrowError(FormatError);
    const t = JSON.parse(formatMeta(meta));
    expect(() => parseMeta(JSON.stringify({ ...t, version: 2 }), 'a')).toThrowError(
      /unsupported meta version 2/,
    );
    t.thanos.version = 3;
    expect(() => parseMeta(JSON.stringify(t), 'a')).toThrowError(/thanos section version/);
  });
});
