import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareDir } from './dirs.js';
import { listenError, fromSystemError } from './system-errors.js';
import { isStrataError } from './errors.js';

describe('prepareDir', () => {
  it('creates missing parents and returns the absolute path', async () => {
    const root = await mkdtemp(join(tmpdir(), 'strata-dirs-'));
    try {
      const got = await prepareDir(join(root, 'a', 'b'), '--out');
      expect(got).toBe(join(root, 'a', 'b'));
      expect((await stat(got)).isDirectory()).toBe(true);
      await writeFile(join(root, 'f'), 'x');
      await expect(prepareDir(join(root, 'f', 'x'), '--out')).rejects.toThrow(
        /^--out .*f\/x: .*f is not a directory$/,
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  // Node's recursive mkdir loops forever there; this must answer at once.
  it.runIf(process.platform === 'linux')('fails fast where mkdir cannot work (/proc)', async () => {
    await expect(prepareDir('/proc/strata/x', '--out')).rejects.toMatchObject({ code: 'ERR_IO' });
    await expect(prepareDir('/proc', '--out')).rejects.toThrow(/--out \/proc: cannot write in it/);
  });
});

describe('system errors', () => {
  it('become coded errors in words', async () => {
    const err = await stat('/no/such/path').catch((e: unknown) => e);
    const e = fromSystemError(err);
    expect(isStrataError(e) && e.code).toBe('ERR_NOT_FOUND');
    expect(isStrataError(e) && e.message).toBe('/no/such/path: no such file or directory');
    const busy = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:1'), {
      code: 'EADDRINUSE',
      errno: -98,
      syscall: 'listen',
    });
    expect(listenError(busy, '--http-address', '127.0.0.1:1').message).toMatch(
      /^--http-address 127\.0\.0\.1:1: cannot listen: address already in use/,
    );
    expect(fromSystemError(new Error('plain'))).toBeInstanceOf(Error);
  });
});
