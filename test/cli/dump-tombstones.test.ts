/**
 * `strata tsdb dump --min-time/--max-time` on a block with tombstones (made by a real Prometheus)
 * against promtool 2.42, pinning what README.md states: Strata prints exactly the samples inside
 * the bounds that are not deleted; promtool agrees except for a series whose chunk holding a bound
 * also holds a tombstone, where it prints samples outside the bounds and even deleted ones (its
 * trim intervals overflow int64 when merged with the tombstones). Without bounds, or for series
 * without tombstones, the outputs are identical. If a promtool upgrade fixes this, the test fails
 * and the README sentence goes.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { deleteSeries, promtoolDump, startPrometheus, type CreatedBlock } from '../services/prometheus.js';
import { ensureBuilt } from '../support/build.js';
import { samplesToDump, type Sample } from '../support/dump.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { W0, promtoolBlocks, tempRoot, type TempRoot } from '../compact/helpers.js';
import { lines, strata } from './run.js';

const M = 60_000;
/** Deleted ranges per series (inclusive, ms); samples every 15 s over [W0, W0+60m): two chunks. */
const DELETED: Readonly<Record<string, readonly [number, number]>> = {
  none: [0, -1],
  at: [W0 + 20 * M, W0 + 25 * M],
  before: [W0 + 10 * M, W0 + 15 * M],
  after: [W0 + 30 * M, W0 + 35 * M],
  late: [W0 + 45 * M, W0 + 50 * M],
};

let root: TempRoot;
let block: CreatedBlock;
let samples: Sample[];

beforeAll(async () => {
  root = await tempRoot('strata-dump-tomb-');
  const built = ensureBuilt();
  samples = [];
  for (const s of Object.keys(DELETED)) {
    for (let t = W0; t < W0 + 60 * M; t += 15_000)
      samples.push({ labels: { __name__: 'm', s }, t, v: t / 1000 });
  }
  const dataDir = root.fresh('prom');
  [block] = (await promtoolBlocks(samples, dataDir)) as [CreatedBlock];
  const prom = await startPrometheus({ dataDir });
  try {
    for (const [s, [from, to]] of Object.entries(DELETED)) {
      if (from <= to) await deleteSeries(prom.url, [`m{s="${s}"}`], from, to);
    }
  } finally {
    await prom.stop();
  }
  await built;
}, 300_000);

afterAll(async () => {
  await root?.cleanup();
  await assertNoLeakedProcesses();
});

function expected(minT: number, maxT: number): string[] {
  return samplesToDump(
    samples.filter((x) => {
      const [from, to] = DELETED[x.labels.s!]!;
      return x.t >= minT && x.t <= maxT && !(x.t >= from && x.t <= to);
    }),
  );
}

async function strataDump(minT?: number, maxT?: number): Promise<string[]> {
  const args = ['tsdb', 'dump', block.dir];
  if (minT !== undefined) args.push('--min-time', String(minT));
  if (maxT !== undefined) args.push('--max-time', String(maxT));
  const r = await strata(args);
  expect(r.code, r.stderr).toBe(0);
  return lines(r.stdout);
}

const series = (l: string): string => /s="(\w+)"/.exec(l)?.[1] ?? '';

describe(
  'tsdb dump with time bounds on tombstoned series, against promtool 2.42',
  { timeout: 120_000 },
  () => {
    test('without bounds: identical', async () => {
      const ours = await strataDump();
      expect(ours).toEqual(expected(-Infinity, Infinity));
      expect(await promtoolDump(block.dir)).toEqual(ours);
    });

    test.each([
      // [min, max, series where promtool prints more]
      [W0 + 20 * M, W0 + 50 * M, ['at', 'before', 'late']],
      [W0 + 35 * M, W0 + 40 * M, ['late']],
      [W0, W0 + 40 * M, []],
    ] as const)('--min-time %i --max-time %i', async (minT, maxT, differing) => {
      const ours = await strataDump(minT, maxT);
      expect(ours).toEqual(expected(minT, maxT));
      const theirs = await promtoolDump(block.dir, { minTime: minT, maxTime: maxT });
      // promtool prints everything Strata does, plus lines of the differing series only.
      expect(theirs.filter((l) => ours.includes(l))).toEqual(ours);
      const extra = theirs.filter((l) => !ours.includes(l));
      expect([...new Set(extra.map(series))].sort()).toEqual([...differing].sort());
      for (const s of ['none', 'after']) {
        expect(theirs.filter((l) => series(l) === s)).toEqual(ours.filter((l) => series(l) === s));
      }
    });
  },
);
