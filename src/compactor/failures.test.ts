import { describe, expect, it } from 'vitest';
import { classifyFailure } from './failures.js';
import { BlockDownloadError } from '../block/download.js';
import { BlockUploadError } from '../block/upload.js';
import { ObjstoreError } from '../objstore/errors.js';
import { CompactionInputError } from '../tsdb/compact/errors.js';
import { FormatError, StrataError } from '../util/errors.js';

const SRC = '01J00000000000000000000001';
const OUT = '01J00000000000000000000009';

describe('classifyFailure looks through the cause chain', () => {
  it('a transient storage error under a block upload or download is transient, never a bad block', () => {
    const transient = new ObjstoreError('ERR_OBJSTORE_TRANSIENT', 'upload', 'k', 'throttled');
    expect(
      classifyFailure(new BlockUploadError(OUT, 'index', 'throttled', { cause: transient })),
    ).toMatchObject({
      kind: 'transient',
      code: 'ERR_BLOCK_UPLOAD',
    });
    const get = new ObjstoreError('ERR_OBJSTORE_TRANSIENT', 'get', 'k', '503');
    expect(classifyFailure(new BlockDownloadError(SRC, 'chunks/000001', '503', { cause: get })).kind).toBe(
      'transient',
    );
  });

  it('a missing or wrong-sized file of a complete block marks that block critical', () => {
    const nf = new ObjstoreError('ERR_OBJSTORE_NOT_FOUND', 'get', 'k', 'no such key');
    const missing = new BlockDownloadError(SRC, 'chunks/000001', 'missing in the bucket', {
      cause: nf,
      code: 'ERR_BLOCK_INCOMPLETE',
    });
    expect(classifyFailure(missing)).toMatchObject({ kind: 'bad-block', block: SRC, reason: 'critical' });
    const short = new BlockDownloadError(SRC, 'chunks/000001', 'size 5 bytes, expected 9', {
      code: 'ERR_BLOCK_INCOMPLETE',
    });
    expect(classifyFailure(short)).toMatchObject({
      kind: 'bad-block',
      block: SRC,
      code: 'ERR_BLOCK_INCOMPLETE',
    });
  });

  it('a bad meta.json under a download error marks the block; a vanished meta.json does not', () => {
    const bad = new BlockDownloadError(SRC, 'meta.json', 'bad json', {
      cause: new StrataError('ERR_TSDB_BAD_META', 'bad json'),
    });
    expect(classifyFailure(bad)).toMatchObject({ kind: 'bad-block', block: SRC, reason: 'critical' });
    const gone = new BlockDownloadError(SRC, 'meta.json', 'no meta.json', {
      cause: new ObjstoreError('ERR_OBJSTORE_NOT_FOUND', 'get', 'k', 'nf'),
    });
    expect(classifyFailure(gone)).toMatchObject({ kind: 'failed', code: 'ERR_BLOCK_DOWNLOAD' });
  });

  it('compaction input errors keep their reason, wrapped or not', () => {
    const ooo = new CompactionInputError('ERR_TSDB_OUT_OF_ORDER', SRC, '{a="b"}', 'chunks out of order');
    expect(classifyFailure(ooo)).toMatchObject({
      kind: 'bad-block',
      reason: 'block-index-out-of-order-chunk',
    });
    const crc = new FormatError('ERR_TSDB_CHECKSUM', 'chunks/000001', 4711, 'CRC mismatch');
    const wrapped = new Error('compaction failed', { cause: CompactionInputError.wrap(crc, SRC, undefined) });
    expect(classifyFailure(wrapped)).toMatchObject({ kind: 'bad-block', block: SRC, reason: 'critical' });
  });

  it('a defect code without a block to blame only fails the plan', () => {
    // The output failed verification: nothing to mark, the plan is retried later.
    expect(classifyFailure(new StrataError('ERR_TSDB_CORRUPT', 'output failed verification'))).toMatchObject({
      kind: 'failed',
      code: 'ERR_TSDB_CORRUPT',
    });
  });
});
