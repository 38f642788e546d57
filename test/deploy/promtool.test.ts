/**
 * deploy/prometheus/ through the real promtool (2.42): every rules file passes `check rules`,
 * every unit test file passes `test rules`, every alert is exercised by the unit tests (firing
 * and not firing) and every recording rule is evaluated by them.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runPromtool } from '../services/prometheus.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { DEPLOY, ruleFiles } from './promql-names.js';

const TESTS = join(DEPLOY, 'prometheus/tests');

interface AlertCase {
  alertname: string;
  exp_alerts: unknown[];
}
interface TestFile {
  rule_files: string[];
  tests: { alert_rule_test?: AlertCase[]; promql_expr_test?: { expr: string }[] }[];
}

async function testFiles(): Promise<{ path: string; file: TestFile }[]> {
  const names = (await readdir(TESTS)).filter((n) => n.endsWith('.yaml')).sort();
  return Promise.all(
    names.map(async (n) => ({
      path: join(TESTS, n),
      file: parse(await readFile(join(TESTS, n), 'utf8')) as TestFile,
    })),
  );
}

afterAll(async () => {
  await assertNoLeakedProcesses();
});

describe('promtool', () => {
  it('check rules passes on every rules file', async () => {
    const files = await ruleFiles();
    expect(files.map((f) => f.path.split('/').pop())).toEqual([
      'strata-alerts.rules.yaml',
      'strata-recording.rules.yaml',
    ]);
    const r = await runPromtool(['check', 'rules', ...files.map((f) => f.path)]);
    expect(r.stdout).toMatch(/SUCCESS: \d+ rules found[\s\S]*SUCCESS: \d+ rules found/);
  });

  it('test rules passes on every unit test file', async () => {
    const files = await testFiles();
    expect(files.length).toBeGreaterThanOrEqual(4);
    const r = await runPromtool(['test', 'rules', ...files.map((f) => f.path)], { allowFailure: true });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout.match(/SUCCESS/g)?.length).toBe(files.length);
  });

  it('test rules fails when an expectation is wrong (the oracle can say no)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-deploy-promtool-'));
    try {
      const src = await readFile(join(TESTS, 'planner-ring.yaml'), 'utf8');
      const bad = src
        .replace('../strata-alerts.rules.yaml', join(DEPLOY, 'prometheus/strata-alerts.rules.yaml'))
        .replace(
          'job: strata-planner\n            exp_annotations:\n              summary: No Strata',
          'job: strata-planner-eu\n            exp_annotations:\n              summary: No Strata',
        );
      expect(bad).not.toBe(src);
      await writeFile(join(dir, 'bad.yaml'), bad);
      const r = await runPromtool(['test', 'rules', join(dir, 'bad.yaml')], { allowFailure: true });
      expect(r.code).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/alertname: StrataPlannerNoLeader/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('every alert has a firing and a not-firing case; every recording rule is evaluated', async () => {
    const alerts = new Set<string>();
    const records = new Set<string>();
    for (const { file } of await ruleFiles()) {
      for (const g of file.groups) {
        for (const r of g.rules) {
          if (r.alert !== undefined) alerts.add(r.alert);
          if (r.record !== undefined) records.add(r.record);
        }
      }
    }
    const firing = new Set<string>();
    const silent = new Set<string>();
    const evaluated = new Set<string>();
    for (const { file } of await testFiles()) {
      for (const t of file.tests) {
        for (const a of t.alert_rule_test ?? []) (a.exp_alerts.length > 0 ? firing : silent).add(a.alertname);
        for (const e of t.promql_expr_test ?? []) evaluated.add(e.expr);
      }
    }
    expect([...alerts].filter((a) => !firing.has(a))).toEqual([]);
    expect([...alerts].filter((a) => !silent.has(a))).toEqual([]);
    expect([...records].filter((r) => !evaluated.has(r))).toEqual([]);
  });

  it('every alert has a severity label, summary and description annotations, and for: where it waits', async () => {
    for (const { file } of await ruleFiles()) {
      for (const g of file.groups) {
        for (const r of g.rules as {
          alert?: string;
          labels?: Record<string, string>;
          annotations?: Record<string, string>;
        }[]) {
          if (r.alert === undefined) continue;
          expect(['critical', 'warning', 'info'], r.alert).toContain(r.labels?.severity);
          expect(r.annotations?.summary, r.alert).toBeTruthy();
          expect(r.annotations?.description, r.alert).toBeTruthy();
        }
      }
    }
  });
});
