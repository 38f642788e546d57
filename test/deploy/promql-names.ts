/**
 * The metric names a PromQL expression reads, with a small tokenizer (enough for the expressions
 * of deploy/: no full parser), and the expressions of deploy/'s rule files and dashboards.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';

/** Words that are PromQL syntax, never metric names, when not followed by `(`. */
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'and',
  'or',
  'unless',
  'atan2',
  'inf',
  'nan',
  // Aggregation operators may be followed by `by (...)` before their `(`.
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
]);

/** Words whose following parenthesised list holds label names. */
const LABEL_LISTS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

/**
 * Metric names in `expr`: identifiers that are not functions (followed by `(`), keywords, label
 * names (inside `{...}` or a by/without/on/ignoring/group_* list), and not inside strings, range or
 * subquery brackets, or Grafana variables (`$job`, `${datasource}`, `$__rate_interval`).
 */
export function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  const out = new Set<string>();
  const re = /[A-Za-z_:][A-Za-z0-9_:]*/g;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const word = m[0];
    const prev = s[m.index - 1];
    // The tail of a number (1e3, 0x1f) or of a duration outside brackets (offset 5m).
    if (prev !== undefined && /[0-9.]/.test(prev)) continue;
    const rest = s.slice(m.index + word.length);
    if (LABEL_LISTS.has(word)) {
      const list = /^\s*\([^)]*\)/.exec(rest);
      if (list) re.lastIndex = m.index + word.length + list[0].length;
      continue;
    }
    if (/^\s*\(/.test(rest) || KEYWORDS.has(word)) continue;
    out.add(word);
  }
  return [...out].sort();
}

export interface DeployExpr {
  /** Where it comes from: file and rule or panel. */
  readonly where: string;
  readonly expr: string;
}

export const DEPLOY = join(import.meta.dirname, '../../deploy');

interface RuleFile {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
}

/** deploy/prometheus/*rules*.yaml, parsed. */
export async function ruleFiles(): Promise<{ path: string; file: RuleFile }[]> {
  const dir = join(DEPLOY, 'prometheus');
  const names = (await readdir(dir)).filter((n) => /rules.*\.yaml$/.test(n)).sort();
  return Promise.all(
    names.map(async (n) => ({
      path: join(dir, n),
      file: parse(await readFile(join(dir, n), 'utf8')) as RuleFile,
    })),
  );
}

/** The names that recording rules define (not scraped, so left out of the scrape check). */
export async function recordedNames(): Promise<Set<string>> {
  const out = new Set<string>();
  for (const { file } of await ruleFiles()) {
    for (const g of file.groups) for (const r of g.rules) if (r.record !== undefined) out.add(r.record);
  }
  return out;
}

export async function ruleExprs(): Promise<DeployExpr[]> {
  const out: DeployExpr[] = [];
  for (const { path, file } of await ruleFiles()) {
    for (const g of file.groups) {
      for (const r of g.rules) out.push({ where: `${path} ${r.alert ?? r.record ?? '?'}`, expr: r.expr });
    }
  }
  return out;
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: { name: string; type: string; query?: string | { query: string } }[] };
  panels: {
    type: string;
    title: string;
    datasource?: { uid: string };
    targets?: { expr: string; datasource?: { uid: string } }[];
  }[];
}

/** deploy/grafana/*.json, parsed (JSON.parse throws on invalid JSON). */
export async function dashboards(): Promise<{ path: string; dashboard: Dashboard }[]> {
  const dir = join(DEPLOY, 'grafana');
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  return Promise.all(
    names.map(async (n) => ({
      path: join(dir, n),
      dashboard: JSON.parse(await readFile(join(dir, n), 'utf8')) as Dashboard,
    })),
  );
}

export async function dashboardExprs(): Promise<DeployExpr[]> {
  const out: DeployExpr[] = [];
  for (const { path, dashboard } of await dashboards()) {
    for (const p of dashboard.panels) {
      for (const t of p.targets ?? []) out.push({ where: `${path} panel "${p.title}"`, expr: t.expr });
    }
    for (const v of dashboard.templating.list) {
      if (v.type !== 'query' || v.query === undefined) continue;
      const q = typeof v.query === 'string' ? v.query : v.query.query;
      // Grafana's label_values(METRIC_SELECTOR, label): only the selector is PromQL.
      const lv = /^label_values\((.*),\s*\w+\)$/.exec(q);
      out.push({ where: `${path} variable $${v.name}`, expr: lv ? lv[1]! : q });
    }
  }
  return out;
}
