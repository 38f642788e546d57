import { open } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { describe, expect, test } from 'vitest';
import { isLocalFileSystemError } from '../../src/objstore/errors.js';
import { classifyS3Error } from '../../src/objstore/s3errors.js';
import { freePort } from '../support/processes.js';

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

describe('classifyS3Error', () => {
  test('local file-system errors are PERMANENT wherever they surface', async () => {
    const enoent = await caught(open('/nonexistent-strata-dir/x', 'w'));
    const eisdir = await caught(open('/', 'w'));
    for (const err of [enoent, eisdir]) {
      expect(isLocalFileSystemError(err)).toBe(true);
      expect(classifyS3Error(err)).toBe('ERR_OBJSTORE_PERMANENT');
    }
  });

  test('network errors stay TRANSIENT; a socket EACCES is not a local file', async () => {
    const port = await freePort();
    const refused = await caught(
      new Promise((resolve, reject) => {
        const s = createConnection({ host: '127.0.0.1', port });
        s.once('connect', resolve);
        s.once('error', reject);
      }),
    );
    expect(isLocalFileSystemError(refused)).toBe(false);
    expect(classifyS3Error(refused)).toBe('ERR_OBJSTORE_TRANSIENT');
    const firewalled = Object.assign(new Error('connect EACCES'), { code: 'EACCES', syscall: 'connect' });
    expect(isLocalFileSystemError(firewalled)).toBe(false);
  });
});
