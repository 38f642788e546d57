/**
 * Vertical compaction with exact dedup against promtool: overlapping blocks made by promtool become
 * one block whose dump is the sorted, timestamp-unique union of the inputs' dumps, where a timestamp
 * present in several inputs takes the value of the newest block (largest ULID).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { compactBlocks } from '../../src/tsdb/compact/compact.js';
import { decodeChunkInto } from '../../src/tsdb/chunkenc/chunk.js';
import { BlockReader } from '../../src/tsdb/block/reader.js';
import { SampleBuf } from '../../src/tsdb/samples/sample-buf.js';
import { STALE_NAN_HI, STALE_NAN_LO } from '../../src/tsdb/chunkenc/float-bits.js';
import { verifyBlock } from '../../src/tsdb/verify/verify.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { generateSamples } from '../support/openmetrics.js';
import { parseDumpLine, type Sample } from '../support/dump.js';
import { promtoolDump, type CreatedBlock } from '../services/prometheus.js';
import {
  TWO_HOURS,
  W0,
  assertSameDump,
  expectedExactDump,
  inRange,
  listDir,
  promtoolBlocks,
  readBlockChunks,
  tempRoot,
  type TempRoot,
} from './helpers.js';
import { writeCraftedBlock, type CraftedChunk } from './crafted.js';

// Count chunk decodes: duplicate chunks must be dropped without decoding them.
vi.mock('../../src/tsdb/chunkenc/chunk.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../src/tsdb/chunkenc/chunk.js')>();
  return { ...m, decodeChunkInto: vi.fn(m.decodeChunkInto) };
});

const MIN = 60_000;
let root: TempRoot;
let base: Sample[];

beforeAll(async () => {
  root = await tempRoot('strata-compact-v-');
  base = generateSamples({ seed: 202, series: 16, startMs: W0, durationMs: TWO_HOURS });
});

afterAll(async () => {
  await root.cleanup();
  await assertNoLeakedProcesses();
});

async function oneBlock(samples: readonly Sample[]): Promise<CreatedBlock> {
  const blocks = await promtoolBlocks(samples, root.fresh('in'));
  expect(blocks).toHaveLength(1);
  return blocks[0]!;
}

function seriesIndex(s: Sample): number {
  return Number(s.labels.instance!.slice('inst-'.length));
}

function byUlid(blocks: readonly CreatedBlock[]): CreatedBlock[] {
  return [...blocks].sort((a, b) => (a.ulid < b.ulid ? -1 : 1));
}

describe('vertical compaction, exact dedup', () => {
  it('drops the duplicate chunks of identical replicas without decoding them', async () => {
    const reps = [await oneBlock(base), await oneBlock(base), await oneBlock(base)];
    const chunks = await Promise.all(reps.map((b) => readBlockChunks(b.dir)));
    // promtool wrote the same bytes three times.
    for (const c of chunks.slice(1)) expect(c).toEqual(chunks[0]);

    const out = root.fresh('out');
    vi.mocked(decodeChunkInto).mockClear();
    const res = await compactBlocks(
      reps.map((b) => b.dir),
      out,
      { verify: false },
    );
    expect(vi.mocked(decodeChunkInto)).not.toHaveBeenCalled();
    const n = reps[0]!.numChunks;
    expect(res).toMatchObject({
      chunks: n,
      copiedChunks: n,
      reencodedChunks: 0,
      droppedDuplicateChunks: 2 * n,
      inputSamples: 3 * reps[0]!.numSamples,
      outputSamples: reps[0]!.numSamples,
    });
    const got = await readBlockChunks(res.dir!);
    expect(got).toEqual(
      chunks[0]!.map((s) => ({
        ...s,
        chunks: s.chunks.map((c) => ({ ...c, ref: expect.any(Number) as number })),
      })),
    );
    assertSameDump(await promtoolDump(res.dir!), await promtoolDump(reps[0]!.dir), 'output vs one replica');
    expect((await verifyBlock(res.dir!)).problems).toEqual([]);
  });

  it('merges partial overlaps, other scrape grids and series present in only some inputs', async () => {
    const x = await oneBlock(inRange(base, W0, W0 + 80 * MIN).filter((s) => seriesIndex(s) < 12));
    const y = await oneBlock(inRange(base, W0 + 40 * MIN, W0 + TWO_HOURS).filter((s) => seriesIndex(s) >= 4));
    // Another grid: the same series scraped 5 s later, for half an hour.
    const z = await oneBlock(
      inRange(base, W0 + 60 * MIN, W0 + 90 * MIN)
        .filter((s) => seriesIndex(s) < 8)
        .map((s) => ({ ...s, t: s.t + 5000 })),
    );
    const out = root.fresh('out');
    const res = await compactBlocks([x.dir, y.dir, z.dir], out);
    const want = await expectedExactDump([x.dir, y.dir, z.dir]);
    assertSameDump(await promtoolDump(res.dir!), want, 'output vs timestamp-unique union');
    expect(res.outputSamples).toBe(want.length);
    expect(res.copiedChunks).toBeGreaterThan(0); // chunks before and after the overlaps
    expect(res.reencodedChunks).toBeGreaterThan(0);
    const labelsOut = new Set(want.map((l) => parseDumpLine(l).labels));
    expect(labelsOut.size).toBe(16);
    expect((await verifyBlock(res.dir!)).problems).toEqual([]);
  });

  it('resolves a timestamp with different values to the newest block (largest ULID)', async () => {
    const bump =
      (from: number, to: number, pick: (i: number) => boolean, f: (v: number) => number) => (s: Sample) =>
        s.t >= from && s.t < to && pick(seriesIndex(s)) ? { ...s, v: f(s.v) } : s;
    const blocks = [
      await oneBlock(base),
      await oneBlock(
        base.map(
          bump(
            W0 + 30 * MIN,
            W0 + 70 * MIN,
            (i) => i % 2 === 0,
            (v) => v + 1000,
          ),
        ),
      ),
      await oneBlock(
        base.map(
          bump(
            W0 + 60 * MIN,
            W0 + 100 * MIN,
            (i) => i % 3 === 0,
            (v) => -v - 1,
          ),
        ),
      ),
    ];
    const ordered = byUlid(blocks);
    const want = await expectedExactDump(blocks.map((b) => b.dir));

    // The rule stated directly: wherever the inputs disagree, the output holds the newest's value.
    const dumps = await Promise.all(ordered.map((b) => promtoolDump(b.dir)));
    const got = await (async () => {
      const res = await compactBlocks(
        blocks.map((b) => b.dir),
        root.fresh('out'),
      );
      expect(res.reencodedChunks).toBeGreaterThan(0);
      expect(res.droppedDuplicateChunks).toBeGreaterThan(0); // untouched chunks are identical
      return promtoolDump(res.dir!);
    })();
    assertSameDump(got, want, 'output vs newest-wins expectation');
    const valueMaps = dumps.map((d) => {
      const m = new Map<string, string>();
      for (const l of d) {
        const p = parseDumpLine(l);
        m.set(`${p.labels} ${p.t}`, p.value);
      }
      return m;
    });
    let conflicts = 0;
    for (const line of got) {
      const p = parseDumpLine(line);
      const key = `${p.labels} ${p.t}`;
      const distinct = new Set(valueMaps.map((m) => m.get(key)).filter((v) => v !== undefined));
      if (distinct.size > 1) {
        conflicts++;
        expect(p.value).toBe(valueMaps[2]!.get(key));
      }
    }
    expect(conflicts).toBeGreaterThan(100);

    // The argument order does not matter: only the ULIDs do.
    for (const order of [
      [2, 0, 1],
      [1, 2, 0],
    ]) {
      const res = await compactBlocks(
        order.map((i) => blocks[i]!.dir),
        root.fresh('out'),
      );
      assertSameDump(await promtoolDump(res.dir!), want, `inputs in order ${order.join(',')}`);
    }
  });

  it('re-cuts merged samples into chunks of at most 120 (or --max-samples-per-chunk)', async () => {
    const four = base.filter((s) => seriesIndex(s) < 4);
    const x = await oneBlock(four);
    // The same series scraped half an interval later: the merge doubles the sample density.
    const y = await oneBlock(four.map((s) => ({ ...s, t: s.t + 7500 })).filter((s) => s.t < W0 + TWO_HOURS));
    const want = await expectedExactDump([x.dir, y.dir]);
    const times = new Map<string, number[]>();
    for (const l of want) {
      const p = parseDumpLine(l);
      const list = times.get(p.labels) ?? [];
      list.push(p.t);
      times.set(p.labels, list);
    }
    // Clusters: input chunks of a series that overlap (transitively) are merged together.
    const inputChunks = new Map<string, [number, number][]>();
    for (const b of [x, y]) {
      for (const s of await readBlockChunks(b.dir)) {
        const list = inputChunks.get(s.labels) ?? [];
        list.push(...s.chunks.map((c): [number, number] => [c.mint, c.maxt]));
        inputChunks.set(s.labels, list);
      }
    }
    const clusterSizes = (labels: string): number[] => {
      const ivs = [...inputChunks.get(labels)!].sort((a, b) => a[0] - b[0]);
      const merged: [number, number][] = [];
      for (const iv of ivs) {
        const last = merged.at(-1);
        if (last && iv[0] <= last[1]) last[1] = Math.max(last[1], iv[1]);
        else merged.push([iv[0], iv[1]]);
      }
      const ts = times.get(labels)!;
      return merged.map(([lo, hi]) => ts.filter((t) => t >= lo && t <= hi).length);
    };
    const inputRanges = new Set<string>();
    for (const [labels, list] of inputChunks)
      for (const [lo, hi] of list) inputRanges.add(`${labels} ${lo} ${hi}`);

    for (const max of [120, 50]) {
      const out = root.fresh('out');
      const res = await compactBlocks([x.dir, y.dir], out, { maxSamplesPerChunk: max });
      assertSameDump(await promtoolDump(res.dir!), want, `output (max ${max} per chunk)`);
      expect(res.copiedChunks).toBe(0);
      expect(res.reencodedChunks).toBe(res.chunks);
      const series = await readBlockChunks(res.dir!);
      expect(series).toHaveLength(4);
      for (const s of series) {
        const sizes = clusterSizes(s.labels);
        // Each merged cluster holds two overlapping input chunks: more than 120 samples.
        expect(Math.min(...sizes)).toBeGreaterThan(120);
        // Every cluster is re-cut every `max` samples: full chunks, then the remainder.
        const want = sizes.flatMap((n) => [
          ...Array<number>(Math.floor(n / max)).fill(max),
          ...(n % max ? [n % max] : []),
        ]);
        expect(s.chunks.map((c) => c.numSamples)).toEqual(want);
        expect(s.chunks.every((c) => c.numSamples <= max)).toBe(true);
        // Nothing was passed through: no output chunk has an input chunk's range.
        for (const c of s.chunks) expect(inputRanges.has(`${s.labels} ${c.mint} ${c.maxt}`)).toBe(false);
      }
      expect((await verifyBlock(res.dir!)).problems).toEqual([]);
      expect(await listDir(out)).toEqual([res.ulid]);
    }
  });

  it('keeps stale markers and NaN payloads bit for bit through a merge', async () => {
    // Two overlapping inputs on interleaved grids; every 7th sample a stale marker, every 11th a
    // NaN with another payload. promtool cannot write stale markers, so these blocks are crafted.
    const samples = (phase: number): CraftedChunk => {
      const out: [number, number, number][] = [];
      for (let i = 0; i < 150; i++) {
        const t = W0 + phase + 15_000 * i;
        if (i % 7 === 3) out.push([t, STALE_NAN_HI, STALE_NAN_LO]);
        else if (i % 11 === 5) out.push([t, 0x7ff80000, 0x00000001 + phase]);
        else out.push([t, 0x40590000 + i, phase]); // ordinary doubles around 100
      }
      return out;
    };
    const labels = { __name__: 'stale_test', job: 'x' };
    const a = await writeCraftedBlock(root.fresh('crafted'), [{ labels, chunks: [samples(0)] }]);
    const b = await writeCraftedBlock(root.fresh('crafted'), [{ labels, chunks: [samples(5000)] }]);
    const res = await compactBlocks([a.dir, b.dir], root.fresh('out'));
    expect(res.reencodedChunks).toBe(res.chunks);
    const want = [...samples(0), ...samples(5000)].sort((x, y) => x[0] - y[0]).map((x) => x.join(' '));
    const got: string[] = [];
    const block = await BlockReader.open(res.dir!);
    try {
      const c = block.index.seriesCursor();
      const buf = new SampleBuf();
      for (;;) {
        while (c.next()) {
          for (const m of c.series.chunks) {
            const raw = await block.chunks.readRaw(m.ref);
            decodeChunkInto(raw, buf, 'output');
            for (let i = 0; i < buf.len; i++) got.push(`${buf.ts[i]} ${buf.hi[i]} ${buf.lo[i]}`);
          }
        }
        if (!(await c.load())) break;
      }
    } finally {
      await block.close();
    }
    expect(got).toEqual(want);
    expect(got.filter((l) => l.endsWith(` ${STALE_NAN_HI} ${STALE_NAN_LO}`))).toHaveLength(2 * 21);
  });
});
