/**
 * A compaction that fails on a worker thread is classified as if it had failed on the main
 * thread: the cause chain crosses the thread with its codes and its input block.
 */
import { describe, expect, test } from 'vitest';
import { reviveError, serializeError } from '../../src/compactor/compact-threads.js';
import { classifyFailure } from '../../src/compactor/failures.js';
import { CompactionInputError } from '../../src/tsdb/compact/errors.js';
import { FormatError, codeChain } from '../../src/util/errors.js';

const BLOCK = '01HF0000000000000000000000';

/** Through structured clone, as postMessage carries it. */
function acrossThread(err: unknown): Error {
  return reviveError(structuredClone(serializeError(err)));
}

describe('compaction errors across the thread', () => {
  test('a bad input block stays a bad block, with its block, series and message', () => {
    const inner = new FormatError('ERR_TSDB_CHECKSUM', 'chunks/000001', 1234, 'checksum mismatch');
    const err = CompactionInputError.wrap(inner, BLOCK, '{a="b"}');
    const back = acrossThread(err);
    expect(back).toBeInstanceOf(CompactionInputError);
    expect(back.message).toBe(err.message);
    expect((back as CompactionInputError).series).toBe('{a="b"}');
    expect(codeChain(back)).toEqual(codeChain(err));
    expect(classifyFailure(back)).toEqual(classifyFailure(err));
    expect(classifyFailure(back)).toMatchObject({ kind: 'bad-block', block: BLOCK, reason: 'critical' });
  });

  test('an I/O error keeps its errno code (transient or not, as before)', () => {
    const io = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const back = acrossThread(io);
    expect(back.message).toBe(io.message);
    expect(codeChain(back)).toEqual(['ENOSPC']);
    expect(classifyFailure(back)).toEqual(classifyFailure(io));
  });

  test('something that is not an Error still gives a failed plan', () => {
    const back = acrossThread('boom');
    expect(back.message).toBe('boom');
    expect(classifyFailure(back).kind).toBe('failed');
  });
});
