import { gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import {
  decodeBucketIndex,
  detectSegmentsFormat,
  encodeBucketIndex,
  formatBucketIndex,
  indexBlockFromMeta,
  parseBucketIndex,
  type BucketIndex,
} from '../../src/block/bucket-index.js';
import type { BlockMeta } from '../../src/tsdb/meta.js';

const A = '01HK0000000000000000000AAA';
const B = '01HK0000000000000000000BBB';

function meta(thanos: Partial<NonNullable<BlockMeta['thanos']>>): BlockMeta {
  return {
    ulid: A,
    minTime: 10,
    maxTime: 20,
    stats: { numSamples: 1, numSeries: 1, numChunks: 1, numTombstones: 0 },
    compaction: { level: 1, sources: [A] },
    version: 1,
    thanos: { labels: {}, downsample: { resolution: 0 }, source: '', ...thanos },
  };
}

describe('bucket index format', () => {
  test('segments format detection follows Cortex', () => {
    expect(detectSegmentsFormat(meta({ segment_files: ['000001', '000002'] }))).toEqual({
      segmentsFormat: '1b6d',
      segmentsNum: 2,
    });
    expect(detectSegmentsFormat(meta({ segment_files: ['000001', '000003'] }))).toEqual({});
    expect(
      detectSegmentsFormat(
        meta({
          files: [
            { rel_path: 'chunks/000001', size_bytes: 1 },
            { rel_path: 'chunks/000002', size_bytes: 1 },
            { rel_path: 'index', size_bytes: 1 },
            { rel_path: 'meta.json' },
          ],
        }),
      ),
    ).toEqual({ segmentsFormat: '1b6d', segmentsNum: 2 });
    expect(detectSegmentsFormat(meta({ files: [{ rel_path: 'chunks/000002', size_bytes: 1 }] }))).toEqual({});
    expect(detectSegmentsFormat(meta({}))).toEqual({});
  });

  test('block entries from meta.json', () => {
    const m = meta({ segment_files: ['000001'], index_stats: { series_max_size: 7, chunk_max_size: 9 } });
    expect(indexBlockFromMeta(m, 123)).toEqual({
      blockId: A,
      minTime: 10,
      maxTime: 20,
      segmentsFormat: '1b6d',
      segmentsNum: 1,
      seriesMaxSize: 7,
      chunkMaxSize: 9,
      uploadedAt: 123,
    });
  });

  test('JSON field names, omitempty, and round trip through gzip', async () => {
    const idx: BucketIndex = {
      version: 1,
      blocks: [
        { blockId: A, minTime: 1, maxTime: 2, segmentsFormat: '1b6d', segmentsNum: 3, uploadedAt: 5 },
        { blockId: B, minTime: 2, maxTime: 4, uploadedAt: 6 },
      ],
      blockDeletionMarks: [{ blockId: A, deletionTime: 9 }],
      updatedAt: 10,
    };
    expect(formatBucketIndex(idx)).toBe(
      `{"version":1,"blocks":[{"block_id":"${A}","min_time":1,"max_time":2,"segments_format":"1b6d","segments_num":3,"uploaded_at":5},` +
        `{"block_id":"${B}","min_time":2,"max_time":4,"uploaded_at":6}],"block_deletion_marks":[{"block_id":"${A}","deletion_time":9}],"updated_at":10}`,
    );
    expect(await decodeBucketIndex(await encodeBucketIndex(idx), 'k')).toEqual(idx);
  });

  test('reads what Go writes: null slices, Mimir v2 extras', async () => {
    expect(
      parseBucketIndex('{"version":1,"blocks":null,"block_deletion_marks":null,"updated_at":3}', 'k'),
    ).toEqual({
      version: 1,
      blocks: [],
      blockDeletionMarks: [],
      updatedAt: 3,
    });
    const v2 = `{"version":2,"blocks":[{"block_id":"${A}","min_time":1,"max_time":2,"uploaded_at":5,"compactor_shard_id":"1_of_2","source":"compactor","labels":{"a":"b"}}],"block_deletion_marks":[],"updated_at":3}`;
    const idx = await decodeBucketIndex(gzipSync(Buffer.from(v2)), 'k');
    expect(idx.blocks).toEqual([{ blockId: A, minTime: 1, maxTime: 2, uploadedAt: 5 }]);
  });

  test('corrupt indexes are typed errors', async () => {
    await expect(decodeBucketIndex(Buffer.from('plain'), 't/bucket-index.json.gz')).rejects.toMatchObject({
      code: 'ERR_BLOCK_BAD_INDEX',
      key: 't/bucket-index.json.gz',
    });
    for (const bad of [
      '{',
      '{"version":3}',
      '{"version":1,"blocks":{}}',
      '{"version":1,"blocks":[{"block_id":"x","min_time":1,"max_time":2}]}',
      `{"version":1,"blocks":[{"block_id":"${A}","min_time":"1","max_time":2}]}`,
      '{"version":1,"block_deletion_marks":[3]}',
    ]) {
      expect(() => parseBucketIndex(bad, 'k'), bad).toThrow(/bucket index k/);
    }
  });
});
