/**
 * Tombstones written by a real Prometheus (admin API delete_series) are honoured: deleted samples
 * are absent from the compacted block, whose tombstones file is empty. A block whose every sample
 * was deleted compacts to nothing: `strata tsdb compact` writes no block and says so.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactBlocks } from '../../src/tsdb/compact/compact.js';
import { readMetaFile } from '../../src/tsdb/meta.js';
import { verifyBlock } from '../../src/tsdb/verify/verify.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { generateSamples } from '../support/openmetrics.js';
import { samplesToDump, type Sample } from '../support/dump.js';
import {
  deleteSeries,
  promtoolDump,
  readTombstones,
  startPrometheus,
  type CreatedBlock,
} from '../services/prometheus.js';
import {
  TWO_HOURS,
  W0,
  assertSameDump,
  listDir,
  promtoolBlocks,
  tempRoot,
  type TempRoot,
} from './helpers.js';
import { lastJsonLine, runStrata } from './strata-cli.js';
import { ensureBuilt } from '../support/build.js';

const W1 = W0 + TWO_HOURS;
const RANGE_FROM = W0 + 30 * 60_000;
const RANGE_TO = W0 + 50 * 60_000;
const EMPTY_TOMBSTONES = Buffer.from([0x01, 0x30, 0xba, 0x30, 0x01, 0x00, 0x00, 0x00, 0x00]);

let root: TempRoot;
let samples: Sample[];
let blocks: CreatedBlock[];

beforeAll(async () => {
  root = await tempRoot('strata-compact-t-');
  const build = ensureBuilt();
  samples = generateSamples({ seed: 505, series: 12, startMs: W0, durationMs: 2 * TWO_HOURS });
  const dataDir = root.fresh('prom');
  blocks = await promtoolBlocks(samples, dataDir);
  expect(blocks).toHaveLength(2);
  const prom = await startPrometheus({ dataDir });
  try {
    // A whole series (both blocks), a time range of one metric, and everything in the second block.
    await deleteSeries(prom.url, ['strata_gen_up{instance="inst-2"}']);
    await deleteSeries(prom.url, ['strata_gen_requests_total'], RANGE_FROM, RANGE_TO);
    await deleteSeries(prom.url, ['{job="strata-gen"}'], W1, W1 + TWO_HOURS - 1);
  } finally {
    await prom.stop();
  }
  await build;
});

afterAll(async () => {
  await root.cleanup();
  await assertNoLeakedProcesses();
});

function deleted(s: Sample): boolean {
  if (s.t >= W1) return true;
  if (s.labels.__name__ === 'strata_gen_up' && s.labels.instance === 'inst-2') return true;
  return s.labels.__name__ === 'strata_gen_requests_total' && s.t >= RANGE_FROM && s.t <= RANGE_TO;
}

describe('tombstones from a real Prometheus', () => {
  it('are on disk in both blocks', async () => {
    for (const b of blocks) {
      const ts = await readTombstones(b.dir);
      expect(ts.bytes.length).toBeGreaterThan(9);
      expect(ts.entries.length).toBeGreaterThan(0);
      expect((await readMetaFile(b.dir)).stats.numTombstones).toBe(ts.entries.length);
    }
  });

  it('are applied: the output holds exactly the samples not deleted, and no tombstones', async () => {
    const want = samplesToDump(samples.filter((s) => s.t < W1 && !deleted(s)));
    // promtool's reading of the tombstoned input agrees.
    assertSameDump(await promtoolDump(blocks[0]!.dir), want, 'promtool dump of the input');

    const res = await compactBlocks([blocks[0]!.dir], root.fresh('out'));
    assertSameDump(await promtoolDump(res.dir!), want, 'compacted output');
    expect(res.outputSamples).toBe(want.length);
    expect(res.inputSamples).toBe(blocks[0]!.numSamples);
    expect(res.reencodedChunks).toBeGreaterThan(0); // chunks hit by the time-range delete
    expect(res.copiedChunks).toBeGreaterThan(0); // chunks no tombstone touches
    expect(await readFile(join(res.dir!, 'tombstones'))).toEqual(EMPTY_TOMBSTONES);
    const meta = await readMetaFile(res.dir!);
    expect(meta.stats.numTombstones ?? 0).toBe(0);
    expect(meta.stats.numSamples).toBe(want.length);
    expect((await verifyBlock(res.dir!)).problems).toEqual([]);
  });

  it('an all-deleted input compacts to nothing: the CLI writes no block and says so', async () => {
    const out = root.fresh('out');
    const r = await runStrata(['tsdb', 'compact', '--out', out, blocks[1]!.dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/compaction result is empty: no block written/);
    const j = lastJsonLine(r.stdout);
    expect(j).toMatchObject({
      ulid: null,
      input_blocks: 1,
      input_samples: blocks[1]!.numSamples,
      output_samples: 0,
      series: 0,
      chunks: 0,
    });
    expect(await listDir(out)).toEqual([]);
  });
});
