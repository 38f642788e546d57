/**
 * `strata tsdb compact` as a process: the JSON summary on the last stdout line and its counts,
 * dedup options, and exit codes (0 ok, 1 bad input, 2 usage). The empty-result case (everything
 * deleted by tombstones) is in tombstones.test.ts, where a real Prometheus writes the tombstones.
 */
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockFiles } from '../../src/tsdb/block/files.js';
import { readMetaFile } from '../../src/tsdb/meta.js';
import { ulidSource } from '../../src/tsdb/ulid.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { generateSamples } from '../support/openmetrics.js';
import { parseDumpLine } from '../support/dump.js';
import { promtoolDump, type CreatedBlock } from '../services/prometheus.js';
import {
  TWO_HOURS,
  W0,
  copyBlockAs,
  listDir,
  promtoolBlocks,
  readBlockChunks,
  setThanos,
  tempRoot,
  type TempRoot,
} from './helpers.js';
import { lastJsonLine, runStrata } from './strata-cli.js';
import { ensureBuilt } from '../support/build.js';

const newUlid = ulidSource();
let root: TempRoot;
let inputsDir: string;
let inputs: CreatedBlock[];

beforeAll(async () => {
  root = await tempRoot('strata-compact-cli-');
  const build = ensureBuilt();
  inputsDir = root.fresh('inputs');
  const samples = generateSamples({
    seed: 808,
    series: 12,
    startMs: W0,
    durationMs: 3 * TWO_HOURS,
    churn: 0.2,
  });
  inputs = await promtoolBlocks(samples, inputsDir);
  await build;
});

afterAll(async () => {
  await root.cleanup();
  await assertNoLeakedProcesses();
});

async function inputBytes(dir: string): Promise<number> {
  let n = (await stat(join(dir, 'index'))).size;
  for (const f of await blockFiles(join(dir, 'chunks'))) n += f.size;
  return n;
}

describe('strata tsdb compact', () => {
  it('compacts a directory of blocks and prints the JSON summary last, with correct counts', async () => {
    const out = root.fresh('out');
    const started = Date.now();
    const r = await runStrata(['tsdb', 'compact', '--out', out, inputsDir]);
    const wall = Date.now() - started;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = lastJsonLine(r.stdout);
    expect(await listDir(out)).toEqual([j.ulid]);
    const dir = join(out, j.ulid!);
    const meta = await readMetaFile(dir);
    const dump = await promtoolDump(dir);
    const total = inputs.reduce((a, b) => a + b.numSamples, 0);
    let read = 0;
    for (const b of inputs) read += await inputBytes(b.dir);
    const written = (await blockFiles(dir)).reduce((a, f) => a + f.size, 0);
    expect(j).toEqual({
      ulid: meta.ulid,
      duration_ms: j.duration_ms,
      input_blocks: 3,
      input_samples: total,
      output_samples: total,
      series: new Set(dump.map((l) => parseDumpLine(l).labels)).size,
      chunks: inputs.reduce((a, b) => a + b.numChunks, 0),
      bytes_read: read,
      bytes_written: written,
      peak_rss_bytes: j.peak_rss_bytes,
    });
    expect(dump).toHaveLength(total);
    expect(meta.stats).toMatchObject({ numSamples: total, numSeries: j.series, numChunks: j.chunks });
    expect(j.duration_ms).toBeGreaterThan(0);
    expect(j.duration_ms).toBeLessThan(wall);
    expect(j.peak_rss_bytes).toBeGreaterThan(10 << 20);
    expect(j.peak_rss_bytes).toBeLessThan(2 * 1024 ** 3);
  });

  it('dedups overlapping blocks and honours --max-samples-per-chunk', async () => {
    const twin = await copyBlockAs(inputs[1]!.dir, root.fresh('twin'), newUlid());
    const out = root.fresh('out');
    const r = await runStrata([
      'tsdb',
      'compact',
      '--out',
      out,
      '--max-samples-per-chunk',
      '50',
      inputs[1]!.dir,
      twin,
    ]);
    expect(r.code).toBe(0);
    const j = lastJsonLine(r.stdout);
    expect(j.input_samples).toBe(2 * inputs[1]!.numSamples);
    expect(j.output_samples).toBe(inputs[1]!.numSamples);
    // Identical chunks are dropped, not re-encoded: the chunk count is the input's.
    expect(j.chunks).toBe(inputs[1]!.numChunks);

    const shifted = root.fresh('shifted');
    const late = generateSamples({
      seed: 809,
      series: 2,
      startMs: W0 + 7500,
      durationMs: TWO_HOURS - 7500,
      offsets: false,
    });
    const early = generateSamples({
      seed: 809,
      series: 2,
      startMs: W0,
      durationMs: TWO_HOURS,
      offsets: false,
    });
    const [a] = await promtoolBlocks(early, shifted);
    const [b] = await promtoolBlocks(late, root.fresh('shifted'));
    const out2 = root.fresh('out');
    const r2 = await runStrata([
      'tsdb',
      'compact',
      '--out',
      out2,
      '--max-samples-per-chunk',
      '50',
      a!.dir,
      b!.dir,
    ]);
    expect(r2.code).toBe(0);
    const j2 = lastJsonLine(r2.stdout);
    expect(j2.output_samples).toBe(a!.numSamples + b!.numSamples);
    const chunks = (await readBlockChunks(join(out2, j2.ulid!))).flatMap((s) => s.chunks);
    expect(chunks).toHaveLength(j2.chunks);
    expect(Math.max(...chunks.map((c) => c.numSamples))).toBe(50);
  });

  it('--dedup penalty --replica-label merges HA replicas into one block without the label', async () => {
    const r1 = await copyBlockAs(inputs[0]!.dir, root.fresh('rep'), newUlid());
    const r2 = await copyBlockAs(inputs[0]!.dir, root.fresh('rep'), newUlid());
    await setThanos(r1, { cluster: 'a', replica: 'r1' });
    await setThanos(r2, { cluster: 'a', replica: 'r2' });
    const out = root.fresh('out');
    const r = await runStrata([
      'tsdb',
      'compact',
      '--out',
      out,
      '--dedup',
      'penalty',
      '--replica-label',
      'replica',
      r1,
      r2,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = lastJsonLine(r.stdout);
    expect(j.output_samples).toBe(inputs[0]!.numSamples);
    expect((await readMetaFile(join(out, j.ulid!))).thanos?.labels).toEqual({ cluster: 'a' });
  });

  it('exits 1 on bad input, naming the error code and the block, and writes nothing', async () => {
    const r1 = await copyBlockAs(inputs[0]!.dir, root.fresh('bad'), newUlid());
    const r2 = await copyBlockAs(inputs[0]!.dir, root.fresh('bad'), newUlid());
    await setThanos(r1, { cluster: 'a', replica: 'r1' });
    await setThanos(r2, { cluster: 'a', replica: 'r2' });
    const out = root.fresh('out');
    const r = await runStrata(['tsdb', 'compact', '--out', out, r1, r2]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^strata: ERR_COMPACT_INCOMPATIBLE: /);
    expect(r.stderr).toContain(r2.slice(-26));
    expect(r.stdout).toBe('');
    expect(await listDir(out)).toEqual([]);
  });

  it('exits 2 on usage errors and writes nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['--dedup', 'bogus'], /--dedup must be exact or penalty/],
      [['--max-samples-per-chunk', '0'], /--max-samples-per-chunk/],
      [['--max-samples-per-chunk', 'many'], /not a non-negative integer/],
      [['--bogus'], /unknown option/],
    ];
    await Promise.all(
      cases.map(async ([extra, message]) => {
        const out = root.fresh('out');
        const r = await runStrata(['tsdb', 'compact', '--out', out, ...extra, inputs[0]!.dir]);
        expect(r.code, extra.join(' ')).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(await listDir(out)).toEqual([]);
      }),
    );
  });

  it('exits 2 without --out or without blocks; 1 when a directory holds no block', async () => {
    const empty = root.fresh('empty');
    await mkdir(empty);
    const out = root.fresh('out');
    const [noOut, noBlocks, r] = await Promise.all([
      runStrata(['tsdb', 'compact', inputs[0]!.dir]),
      runStrata(['tsdb', 'compact', '--out', root.fresh('out')]),
      runStrata(['tsdb', 'compact', '--out', out, empty]),
    ]);
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toMatch(/--out/);
    expect(noBlocks.code).toBe(2);
    // Bad input, not a usage error: the command line is well-formed.
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^strata: ERR_NOT_FOUND: no blocks in /);
    expect(await listDir(out)).toEqual([]);
  });
});
