/**
 * The manifests of deploy/kubernetes/ start (their args as written, run locally: stack.ts), and
 * every metric that deploy/'s alerts, recording rules and dashboards read exists: each name is
 * looked up in a scrape of those processes (sharded compact with its ring in etcd, planner with
 * its election in etcd, worker, both store groups, query). Histogram series (_bucket/_sum/_count)
 * count as their family; recording-rule outputs and what Prometheus itself makes (`up`) are not
 * scraped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { dashboardExprs, metricNames, recordedNames, ruleExprs } from './promql-names.js';
import { exposedNames, healthyEndpointLines, startStack, type Stack } from './stack.js';

/** Series Prometheus writes itself for every target. */
const PROMETHEUS_MADE = new Set(['up']);

let root = '';
let stack: Stack | undefined;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-deploy-metrics-'));
  stack = await startStack(root);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (root) await rm(root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
}, 60_000);

describe('metricNames (the tokenizer)', () => {
  it('keeps metric names and drops functions, keywords, label names, strings, ranges and variables', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (job, le) (rate(a_bucket{job=~"$job", x="b_c"}[$__rate_interval])))',
      ),
    ).toEqual(['a_bucket']);
    expect(
      metricNames(
        '(time() - b > 24 * 3600) and on (job, instance) (time() - c offset 5m > 1e3) or max without (pod) (d)',
      ),
    ).toEqual(['b', 'c', 'd']);
    expect(metricNames('sum by (tenant) (x:y:rate5m) / ignoring (kind) group_left (tenant) z')).toEqual([
      'x:y:rate5m',
      'z',
    ]);
    expect(metricNames('deriv(e[6h]) > bool 0 unless f{state="g"}')).toEqual(['e', 'f']);
  });
});

describe('metrics used in deploy/ exist in a scrape of the running processes', () => {
  it('scraped every component: one pod of each workload of the manifests', () => {
    expect(stack!.scrapes.map((s) => s.component)).toEqual([
      'compact',
      'planner',
      'worker',
      'store',
      'store',
      'query',
    ]);
  });

  it('the querier sees both store groups of the manifests, healthy, through strata_query_endpoint_healthy', () => {
    const query = stack!.scrapes.find((s) => s.component === 'query')!;
    const lines = healthyEndpointLines(query.text);
    expect(lines.map((l) => /group="([^ "]+) /.exec(l)?.[1]).sort()).toEqual([
      'team-a-shard-0',
      'team-a-shard-1',
    ]);
    expect(lines.every((l) => l.includes('peer_type="store"'))).toBe(true);
  });

  it('every metric of every alert, recording rule and dashboard is exposed by some process', async () => {
    const exposed = new Set<string>();
    for (const s of stack!.scrapes) for (const n of exposedNames(s.text)) exposed.add(n);
    const recorded = await recordedNames();
    const exprs = [...(await ruleExprs()), ...(await dashboardExprs())];
    expect(exprs.length).toBeGreaterThan(50);
    const missing: string[] = [];
    let checked = 0;
    for (const e of exprs) {
      const names = metricNames(e.expr);
      expect(names.length, `${e.where}: no metric in ${e.expr}`).toBeGreaterThan(0);
      for (const n of names) {
        if (recorded.has(n) || PROMETHEUS_MADE.has(n)) continue;
        checked++;
        const family = n.replace(/_(bucket|sum|count)$/, '');
        if (!exposed.has(n) && !exposed.has(family)) missing.push(`${n} (${e.where})`);
      }
    }
    expect(missing).toEqual([]);
    expect(checked).toBeGreaterThan(50);
  });

  it('the scrape check would catch a misspelt metric', () => {
    const exposed = new Set<string>();
    for (const s of stack!.scrapes) for (const n of exposedNames(s.text)) exposed.add(n);
    expect(exposed.has('strata_query_endpoint_healthy')).toBe(true);
    expect(exposed.has('strata_ring_members')).toBe(true);
    expect(exposed.has('strata_compact_iterations_totl')).toBe(false);
  });
});
