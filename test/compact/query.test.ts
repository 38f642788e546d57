/**
 * A real Prometheus serving only Strata's output answers query_range exactly like a Prometheus
 * serving the inputs: three adjacent promtool blocks, an identical copy of the middle one, and a
 * block of the same series scraped 5 s later (both overlapping the middle window).
 */
import { cp } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactBlocks } from '../../src/tsdb/compact/compact.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { generateSamples } from '../support/openmetrics.js';
import { queryRange, startPrometheus, type PrometheusServer } from '../services/prometheus.js';
import { TWO_HOURS, W0, inRange, listDir, promtoolBlocks, tempRoot, type TempRoot } from './helpers.js';

const W1 = W0 + TWO_HOURS;
const END = W0 + 3 * TWO_HOURS;

let root: TempRoot;
let onInputs: PrometheusServer | undefined;
let onOutput: PrometheusServer | undefined;
let inputCount = 0;

beforeAll(async () => {
  root = await tempRoot('strata-compact-q-');
  const samples = generateSamples({
    seed: 606,
    series: 24,
    startMs: W0,
    durationMs: 3 * TWO_HOURS,
    churn: 0.2,
  });
  const inputsDir = root.fresh('inputs');
  const blocks = await promtoolBlocks(samples, inputsDir);
  const middle = inRange(samples, W1, W1 + TWO_HOURS);
  blocks.push(...(await promtoolBlocks(middle, root.fresh('dup'))));
  blocks.push(
    ...(await promtoolBlocks(
      middle
        .filter((s) => s.labels.__name__ !== 'strata_gen_up' && s.t + 5000 < W1 + TWO_HOURS)
        .map((s) => ({ ...s, t: s.t + 5000 })),
      root.fresh('late'),
    )),
  );
  expect(blocks).toHaveLength(5);
  inputCount = blocks.length;
  for (const b of blocks.slice(3)) await cp(b.dir, join(inputsDir, basename(b.dir)), { recursive: true });

  const outputDir = root.fresh('output');
  const res = await compactBlocks(
    blocks.map((b) => b.dir),
    outputDir,
  );
  expect(await listDir(outputDir)).toEqual([res.ulid]);
  [onInputs, onOutput] = await Promise.all([
    startPrometheus({ dataDir: inputsDir }),
    startPrometheus({ dataDir: outputDir }),
  ]);
});

afterAll(async () => {
  await Promise.all([onInputs?.stop(), onOutput?.stop()]);
  await root.cleanup();
  await assertNoLeakedProcesses();
});

const QUERIES = [
  'strata_gen_requests_total',
  'rate(strata_gen_requests_total[5m])',
  'sum by (job) (rate(strata_gen_requests_total[2m]))',
  'max_over_time(strata_gen_temperature_celsius[10m])',
  'count_over_time({job="strata-gen"}[10m])',
  'strata_gen_edge_values',
  'resets(strata_gen_requests_total[30m])',
];

describe('Prometheus on the compacted block vs on the inputs', () => {
  it('serves blocks that overlap', () => {
    expect(inputCount).toBe(5);
  });

  it.each(QUERIES)('query_range %s gives the same matrix', async (q) => {
    for (const step of [60_000, 17_000]) {
      const [a, b] = await Promise.all([
        queryRange(onInputs!.url, q, W0, END, step),
        queryRange(onOutput!.url, q, W0, END, step),
      ]);
      expect(a.data.result.length).toBeGreaterThan(0);
      expect(b.data.result).toEqual(a.data.result);
    }
  });
});
