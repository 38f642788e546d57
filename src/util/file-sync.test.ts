import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EarlyWriteback, syncDir } from './file-sync.js';

/** A FileHandle whose datasync is counted and settled by the test. */
function fakeHandle(): { fh: FileHandle; calls: number; settle: (err?: Error) => void } {
  const pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const h = {
    calls: 0,
    settle(err?: Error): void {
      const p = pending.shift()!;
      if (err) p.reject(err);
      else p.resolve();
    },
    fh: {
      datasync: (): Promise<void> => {
        h.calls++;
        return new Promise<void>((resolve, reject) => pending.push({ resolve, reject }));
      },
    } as unknown as FileHandle,
  };
  return h;
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('EarlyWriteback', () => {
  it('syncs once every `every` bytes, never two at a time', async () => {
    const h = fakeHandle();
    const wb = new EarlyWriteback(h.fh, 100);
    wb.written(60);
    expect(h.calls).toBe(0);
    wb.written(40);
    expect(h.calls).toBe(1);
    wb.written(500); // one is in flight: no second sync
    expect(h.calls).toBe(1);
    h.settle();
    await tick();
    wb.written(100);
    expect(h.calls).toBe(2);
    h.settle();
    await wb.settle();
  });

  it('keeps a failed sync and throws it from settle()', async () => {
    const h = fakeHandle();
    const wb = new EarlyWriteback(h.fh, 10);
    wb.written(10);
    h.settle(new Error('EIO: i/o error, fdatasync'));
    await expect(wb.settle()).rejects.toThrow(/EIO/);
    await expect(wb.settle()).rejects.toThrow(/EIO/);
  });

  it('settle() waits for the sync in flight', async () => {
    const h = fakeHandle();
    const wb = new EarlyWriteback(h.fh, 1);
    wb.written(1);
    let done = false;
    const s = wb.settle().then(() => (done = true));
    await tick();
    expect(done).toBe(false);
    h.settle();
    await s;
    expect(done).toBe(true);
  });
});

describe('syncDir and early write-back on a real file', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes, syncs early and at the end, and the bytes are all there', async () => {
    dir = await mkdtemp(join(tmpdir(), 'strata-file-sync-'));
    const path = join(dir, 'f');
    const fh = await open(path, 'w');
    const wb = new EarlyWriteback(fh, 4096);
    const chunk = Buffer.alloc(3000, 7);
    for (let i = 0; i < 10; i++) {
      await fh.write(chunk, 0, chunk.length, i * chunk.length);
      wb.written(chunk.length);
    }
    await wb.settle();
    await fh.sync();
    await fh.close();
    await syncDir(dir);
    const got = await readFile(path);
    expect(got.length).toBe(30_000);
    expect(got.every((b) => b === 7)).toBe(true);
  });
});
