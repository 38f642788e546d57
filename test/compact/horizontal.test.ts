/**
 * Horizontal compaction against promtool: three adjacent 2h blocks made by `promtool tsdb
 * create-blocks-from openmetrics` become one 6h block whose `promtool tsdb dump` equals the dump
 * of the inputs, with every chunk copied byte for byte.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { compactBlocks, type CompactResult } from '../../src/tsdb/compact/compact.js';
import { readMetaFile } from '../../src/tsdb/meta.js';
import { verifyBlock } from '../../src/tsdb/verify/verify.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { generateSamples } from '../support/openmetrics.js';
import { promtoolDump, promtoolList, type CreatedBlock } from '../services/prometheus.js';
import {
  TWO_HOURS,
  W0,
  assertSameDump,
  listDir,
  promtoolBlocks,
  readBlockChunks,
  tempRoot,
  type StoredChunkInfo,
  type TempRoot,
} from './helpers.js';

let root: TempRoot;
let inputs: CreatedBlock[];
let inputDir: string;
let outDir: string;
let res: CompactResult;

beforeAll(async () => {
  root = await tempRoot('strata-compact-h-');
  inputDir = root.fresh('in');
  outDir = root.fresh('out');
  const samples = generateSamples({
    seed: 101,
    series: 24,
    startMs: W0,
    durationMs: 3 * TWO_HOURS,
    churn: 0.25,
    gapProbability: 0.005,
    jitterMs: 40,
  });
  inputs = await promtoolBlocks(samples, inputDir);
  res = await compactBlocks(
    inputs.map((b) => b.dir),
    outDir,
  );
});

afterAll(async () => {
  await root.cleanup();
  await assertNoLeakedProcesses();
});

describe('horizontal compaction of promtool blocks', () => {
  it('starts from three adjacent promtool blocks', () => {
    expect(inputs).toHaveLength(3);
    for (let i = 1; i < inputs.length; i++)
      expect(inputs[i]!.minTime).toBeGreaterThanOrEqual(inputs[i - 1]!.maxTime);
  });

  it('writes one block whose promtool dump equals the dump of the inputs', async () => {
    expect(await listDir(outDir)).toEqual([res.ulid]);
    const want = await promtoolDump(inputDir);
    const got = await promtoolDump(res.dir!);
    expect(got.length).toBe(inputs.reduce((a, b) => a + b.numSamples, 0));
    assertSameDump(got, want, 'output vs inputs');
  });

  it('has the meta of a compacted block and passes promtool list and Strata verify', async () => {
    const meta = await readMetaFile(res.dir!);
    expect(meta.minTime).toBe(inputs[0]!.minTime);
    expect(meta.maxTime).toBe(inputs[2]!.maxTime);
    expect(meta.compaction.level).toBe(2);
    expect(meta.compaction.sources).toEqual(inputs.map((b) => b.ulid).sort());
    expect(meta.compaction.parents?.map((p) => p.ulid).sort()).toEqual(inputs.map((b) => b.ulid).sort());
    expect(meta.stats.numSamples).toBe(inputs.reduce((a, b) => a + b.numSamples, 0));
    expect(meta.stats.numChunks).toBe(inputs.reduce((a, b) => a + b.numChunks, 0));
    const listed = await promtoolList(res.dir!);
    expect(listed).toHaveLength(1);
    expect(listed[0]!.numSamples).toBe(meta.stats.numSamples);
    expect(listed[0]!.numSeries).toBe(meta.stats.numSeries);
    const v = await verifyBlock(res.dir!);
    expect(v.problems).toEqual([]);
  });

  it('copies every chunk byte for byte (none decoded or re-encoded)', async () => {
    expect(res.reencodedChunks).toBe(0);
    expect(res.droppedDuplicateChunks).toBe(0);
    expect(res.copiedChunks).toBe(res.chunks);
    expect(res.inputSamples).toBe(res.outputSamples);

    // Series by series: the output's chunks are the inputs' chunks in time order, same bytes.
    const want = new Map<string, StoredChunkInfo[]>();
    for (const b of inputs) {
      for (const s of await readBlockChunks(b.dir)) {
        const list = want.get(s.labels) ?? [];
        list.push(...s.chunks);
        want.set(s.labels, list);
      }
    }
    const got = await readBlockChunks(res.dir!);
    expect(new Set(got.map((s) => s.labels))).toEqual(new Set(want.keys()));
    expect(got).toHaveLength(want.size);
    let compared = 0;
    for (const s of got) {
      const w = want.get(s.labels)!;
      expect(s.chunks.map((c) => [c.mint, c.maxt])).toEqual(w.map((c) => [c.mint, c.maxt]));
      for (let i = 0; i < w.length; i++) {
        if (!s.chunks[i]!.raw.equals(w[i]!.raw)) throw new Error(`${s.labels} chunk ${i}: bytes differ`);
        compared++;
      }
    }
    expect(compared).toBe(res.chunks);
  });

  it('reports bytes read and written', async () => {
    expect(res.bytesRead).toBeGreaterThan(0);
    expect(res.bytesWritten).toBeGreaterThan(res.bytesRead * 0.9);
    expect(join(outDir, res.ulid!)).toBe(res.dir);
  });
});
