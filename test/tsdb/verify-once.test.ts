/**
 * `strata tsdb verify` reports each problem once: the index validation and the chunk walk both
 * read the index, and a broken part used to be reported by each (under two kinds, same message),
 * an unreadable postings list also as a missing one. Every single-byte corruption of a small
 * block's index must give a report without repeats.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { writeSynthBlocks } from '../../src/tsdb/synth/write.js';
import { verifyBlock } from '../../src/tsdb/verify/verify.js';

let root = '';
let block = '';

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-verify-once-'));
  const [b] = await writeSynthBlocks({
    outDir: join(root, 'blocks'),
    series: 5,
    hours: 2,
    seed: 7,
    startMs: 0,
    tenants: [],
    replicas: 0,
  });
  block = b!.dir;
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('tsdb verify', () => {
  test('every single-byte corruption of the index is reported without repeats', async () => {
    const index = await readFile(join(block, 'index'));
    const copy = join(root, 'corrupt');
    await cp(block, copy, { recursive: true });
    let failed = 0;
    for (let off = 5; off < index.length; off += 7) {
      const bad = Buffer.from(index);
      bad[off] = bad[off]! ^ 0x55;
      await writeFile(join(copy, 'index'), bad);
      const v = await verifyBlock(copy);
      const messages = v.problems.map((p) => p.message);
      expect(new Set(messages).size, `offset ${off}: ${messages.join('\n')}`).toBe(messages.length);
      expect(
        v.problems.some((p) => p.kind === 'postings-missing') &&
          v.problems.some((p) => p.kind === 'postings-unreadable'),
        `offset ${off}: ${messages.join('\n')}`,
      ).toBe(false);
      if (!v.ok) failed++;
    }
    expect(failed).toBeGreaterThan(0);
  });
});
