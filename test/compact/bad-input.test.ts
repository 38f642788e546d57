/**
 * Inputs that cannot be compacted fail with a typed error that names the block (and the series
 * where there is one), and leave nothing behind in the output directory: no block, no
 * `*.tmp-for-creation`.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactBlocks } from '../../src/tsdb/compact/compact.js';
import { CompactionInputError } from '../../src/tsdb/compact/errors.js';
import { ulidSource } from '../../src/tsdb/ulid.js';
import { StrataError } from '../../src/util/errors.js';
import { ENC_HISTOGRAM, ENC_XOR2 } from '../../src/tsdb/chunkenc/encoding.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { generateSamples } from '../support/openmetrics.js';
import { samplesToDump } from '../support/dump.js';
import { promtoolDump, type CreatedBlock } from '../services/prometheus.js';
import { writeCraftedBlock, type CraftedChunk } from './crafted.js';
import {
  W0,
  TWO_HOURS,
  assertSameDump,
  copyBlockAs,
  listDir,
  promtoolBlocks,
  readBlockChunks,
  setThanos,
  tempRoot,
  type TempRoot,
  flipByte,
} from './helpers.js';

const newUlid = ulidSource();
let root: TempRoot;
let good: CreatedBlock;

beforeAll(async () => {
  root = await tempRoot('strata-compact-bad-');
  const samples = generateSamples({ seed: 707, series: 6, startMs: W0, durationMs: TWO_HOURS });
  [good] = await promtoolBlocks(samples, root.fresh('good'));
});

afterAll(async () => {
  await root.cleanup();
  await assertNoLeakedProcesses();
});

/** Samples t = W0 + 15 s·i for i in [from, to), value i. */
function chunk(from: number, to: number): CraftedChunk {
  const out: [number, number][] = [];
  for (let i = from; i < to; i++) out.push([W0 + 15_000 * i, i]);
  return out;
}

const OK_SERIES = { labels: { __name__: 'fine', job: 'x' }, chunks: [chunk(0, 50), chunk(50, 100)] };

/** Runs a compaction that must fail; returns the error and checks the output dir stayed empty. */
async function failing(
  inputs: readonly string[],
  opts: Parameters<typeof compactBlocks>[2] = {},
): Promise<StrataError> {
  const out = root.fresh('out');
  let caught: unknown;
  try {
    await compactBlocks(inputs, out, opts);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(StrataError);
  expect(await listDir(out)).toEqual([]);
  return caught as StrataError;
}

describe('bad compaction inputs', () => {
  it('crafted blocks are valid blocks when nothing is wrong with them', async () => {
    const b = await writeCraftedBlock(root.fresh('crafted'), [OK_SERIES]);
    const want = samplesToDump([...chunk(0, 100)].map(([t, v]) => ({ labels: OK_SERIES.labels, t, v })));
    assertSameDump(await promtoolDump(b.dir), want, 'promtool dump of a crafted block');
    const res = await compactBlocks([b.dir], root.fresh('out'));
    assertSameDump(await promtoolDump(res.dir!), want, 'compaction of a crafted block');
  });

  it('overlapping chunks inside one series: ERR_TSDB_OVERLAP naming block and series', async () => {
    const bad = await writeCraftedBlock(root.fresh('crafted'), [
      OK_SERIES,
      { labels: { __name__: 'overlapping', job: 'x' }, chunks: [chunk(0, 60), chunk(40, 100)] },
    ]);
    for (const inputs of [[bad.dir], [good.dir, bad.dir]]) {
      const err = await failing(inputs);
      expect(err).toBeInstanceOf(CompactionInputError);
      expect(err.code).toBe('ERR_TSDB_OVERLAP');
      expect((err as CompactionInputError).block).toBe(bad.ulid);
      expect((err as CompactionInputError).series).toBe('{__name__="overlapping", job="x"}');
      expect(err.message).toContain(bad.ulid);
      expect(err.message).toContain('{__name__="overlapping", job="x"}');
    }
  });

  it('out-of-order chunks: ERR_TSDB_OUT_OF_ORDER naming block and series', async () => {
    const bad = await writeCraftedBlock(root.fresh('crafted'), [
      OK_SERIES,
      { labels: { __name__: 'unordered', job: 'x' }, chunks: [chunk(50, 100), chunk(0, 50)] },
    ]);
    const err = await failing([bad.dir]);
    expect(err).toBeInstanceOf(CompactionInputError);
    expect(err.code).toBe('ERR_TSDB_OUT_OF_ORDER');
    expect((err as CompactionInputError).block).toBe(bad.ulid);
    expect(err.message).toContain(bad.ulid);
    expect(err.message).toContain('{__name__="unordered", job="x"}');
  });

  it('a corrupt chunk (one flipped byte): ERR_TSDB_CHECKSUM naming block and series', async () => {
    // Passed through (one input) and compared for duplicates (two identical inputs, the broken
    // one read first, whose CRC is checked, or second, whose bytes are compared with the first's).
    const series = (await readBlockChunks(good.dir))[2]!;
    const c = series.chunks[1]!;
    for (const twin of ['none', 'newer', 'older'] as const) {
      const twinUlid = twin === 'older' ? newUlid() : undefined;
      const ulid = newUlid();
      const broken = await copyBlockAs(good.dir, root.fresh('corrupt'), ulid);
      await flipByte(join(broken, 'chunks', '000001'), (c.ref % 2 ** 32) + c.raw.length - 8); // inside the data
      const inputs =
        twin === 'none'
          ? [broken]
          : [await copyBlockAs(good.dir, root.fresh('twin'), twinUlid ?? newUlid()), broken];
      const err = await failing(inputs);
      expect(err).toBeInstanceOf(CompactionInputError);
      expect(err.code).toBe('ERR_TSDB_CHECKSUM');
      expect((err as CompactionInputError).block).toBe(ulid);
      expect((err as CompactionInputError).series).toBe(series.labels);
      expect(err.message).toContain(ulid);
      expect(err.message).toContain(series.labels);
    }
  });

  it('overlapping chunks of an encoding Strata cannot decode: ERR_TSDB_UNKNOWN_ENCODING naming block and series', async () => {
    const labels = { __name__: 'native', job: 'x' };
    const xor = await writeCraftedBlock(root.fresh('crafted'), [{ labels, chunks: [chunk(0, 60)] }]);
    const other = await writeCraftedBlock(root.fresh('crafted'), [
      { labels, chunks: [chunk(40, 100)], encoding: ENC_XOR2 },
    ]);
    // Alone, the chunk is copied through untouched; only a merge has to decode it.
    await compactBlocks([other.dir], root.fresh('out'), { verify: false });
    const err = await failing([xor.dir, other.dir]);
    expect(err).toBeInstanceOf(CompactionInputError);
    expect(err.code).toBe('ERR_TSDB_UNKNOWN_ENCODING');
    expect((err as CompactionInputError).block).toBe(other.ulid);
    expect((err as CompactionInputError).series).toBe('{__name__="native", job="x"}');
    expect(err.message).toContain(other.ulid);
    expect(err.message).toContain('{__name__="native", job="x"}');
    expect(err.message).toMatch(/encoding XOR2/);
  });

  it('overlapping histogram chunks that do not decode: ERR_TSDB_CORRUPT naming block and series', async () => {
    const labels = { __name__: 'native', job: 'y' };
    const xor = await writeCraftedBlock(root.fresh('crafted'), [{ labels, chunks: [chunk(0, 60)] }]);
    // XOR bytes stored under the histogram encoding: the histogram decoder must refuse them.
    const hist = await writeCraftedBlock(root.fresh('crafted'), [
      { labels, chunks: [chunk(40, 100)], encoding: ENC_HISTOGRAM },
    ]);
    const err = await failing([xor.dir, hist.dir]);
    expect(err).toBeInstanceOf(CompactionInputError);
    expect(err.code).toMatch(/^ERR_TSDB_/);
    expect((err as CompactionInputError).block).toBe(hist.ulid);
    expect((err as CompactionInputError).series).toBe('{__name__="native", job="y"}');
    expect(err.message).toContain(hist.ulid);
  });

  it('a copied histogram chunk whose head does not parse: refused naming block and series', async () => {
    const labels = { __name__: 'native', job: 'z' };
    // XOR bytes under the histogram encoding, overlapping nothing: copied, so only the head check
    // (count, layout, first timestamp = the index's mint) stands between it and the output.
    const hist = await writeCraftedBlock(root.fresh('crafted'), [
      { labels, chunks: [chunk(0, 60)], encoding: ENC_HISTOGRAM },
    ]);
    const other = await writeCraftedBlock(root.fresh('crafted'), [OK_SERIES]);
    const err = await failing([hist.dir, other.dir]);
    expect(err).toBeInstanceOf(CompactionInputError);
    expect(err.code).toMatch(/^ERR_TSDB_(CORRUPT|TRUNCATED)$/);
    expect((err as CompactionInputError).block).toBe(hist.ulid);
    expect((err as CompactionInputError).series).toBe('{__name__="native", job="z"}');
  });

  it('different resolutions: ERR_COMPACT_INCOMPATIBLE naming both blocks', async () => {
    const raw = await copyBlockAs(good.dir, root.fresh('res'), newUlid());
    const down = await copyBlockAs(good.dir, root.fresh('res'), newUlid());
    await setThanos(raw, { cluster: 'a' }, 0);
    await setThanos(down, { cluster: 'a' }, 300_000);
    const err = await failing([raw, down]);
    expect(err.code).toBe('ERR_COMPACT_INCOMPATIBLE');
    expect(err.message).toContain(raw.slice(-26));
    expect(err.message).toContain(down.slice(-26));
    expect(err.message).toMatch(/resolution/);
  });

  it('different external labels without replica labels: ERR_COMPACT_INCOMPATIBLE', async () => {
    const r1 = await copyBlockAs(good.dir, root.fresh('ext'), newUlid());
    const r2 = await copyBlockAs(good.dir, root.fresh('ext'), newUlid());
    await setThanos(r1, { cluster: 'a', replica: 'r1' });
    await setThanos(r2, { cluster: 'a', replica: 'r2' });
    const err = await failing([r1, r2]);
    expect(err.code).toBe('ERR_COMPACT_INCOMPATIBLE');
    expect(err.message).toContain(r1.slice(-26));
    expect(err.message).toContain(r2.slice(-26));
    expect(err.message).toMatch(/--replica-label/);

    // Other labels still have to agree once the replica label is dropped.
    const other = await copyBlockAs(good.dir, root.fresh('ext'), newUlid());
    await setThanos(other, { cluster: 'b', replica: 'r2' });
    const err2 = await failing([r1, other], { replicaLabels: ['replica'] });
    expect(err2.code).toBe('ERR_COMPACT_INCOMPATIBLE');
    expect(err2.message).toContain(other.slice(-26));

    // With the replica label named, the replicas compact (and dedup) fine.
    const res = await compactBlocks([r1, r2], root.fresh('out'), { replicaLabels: ['replica'] });
    expect(res.meta?.thanos?.labels).toEqual({ cluster: 'a' });
    expect(res.outputSamples).toBe(good.numSamples);
  });
});
