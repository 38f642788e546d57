/**
 * Native histograms through Prometheus' HTTP API, for oracle comparisons: raw samples of a range
 * selector (instant query `sel[range]`), the text of `strata tsdb dump` histogram values parsed
 * into the same shape, and the query_range comparison of several servers (raw, rate,
 * histogram_quantile) used by the compaction tests.
 */
import { apiTime, queryRange, type PrometheusServer } from '../services/prometheus.js';

/** One histogram as the API gives it: numbers parsed, buckets [boundaryRule, lower, upper, count]. */
export interface ApiHistogram {
  count: number;
  sum: number;
  buckets: [number, number, number, number][];
}

export interface RawSeries {
  metric: Record<string, string>;
  floats: [number, number][];
  histograms: [number, ApiHistogram][];
}

interface JsonHistogram {
  count: string;
  sum: string;
  buckets?: [number, string, string, string][];
}

interface JsonMatrixSeries {
  metric: Record<string, string>;
  values?: [number, string][];
  histograms?: [number, JsonHistogram][];
}

const num = (s: string): number =>
  s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : s === 'NaN' ? NaN : Number(s);

/** GET /api/v1/query of a range selector at `timeMs`: every raw sample with its own timestamp. */
export async function rawSamples(url: string, selector: string, timeMs: number): Promise<RawSeries[]> {
  const params = new URLSearchParams({ query: selector, time: apiTime(timeMs) });
  const res = await fetch(`${url}/api/v1/query?${params.toString()}`);
  const json = (await res.json()) as {
    status?: string;
    error?: string;
    data?: { resultType?: string; result?: JsonMatrixSeries[] };
  };
  if (res.status !== 200 || json.status !== 'success' || json.data?.resultType !== 'matrix') {
    throw new Error(`query ${selector}: HTTP ${res.status}: ${json.error ?? JSON.stringify(json)}`);
  }
  return json.data.result!.map((s) => ({
    metric: s.metric,
    floats: (s.values ?? []).map(([sec, v]) => [Math.round(sec * 1000), num(v)]),
    histograms: (s.histograms ?? []).map(([sec, h]) => [
      Math.round(sec * 1000),
      {
        count: num(h.count),
        sum: num(h.sum),
        buckets: (h.buckets ?? []).map(([r, l, u, c]) => [r, num(l), num(u), num(c)]),
      },
    ]),
  }));
}

/**
 * A histogram's text as `strata tsdb dump` / promtool print it (`{count:C, sum:S, [l,u):c, ...}`)
 * in the API's shape (boundary rule 0: (l,u], 1: [l,u), 2: (l,u), 3: [l,u]).
 */
export function parseHistogramText(text: string): ApiHistogram {
  const m = /^\{count:([^,]+), sum:([^,}]+)(.*)\}$/.exec(text);
  if (!m) throw new Error(`not a histogram: ${text}`);
  const buckets: [number, number, number, number][] = [];
  const re = /, ([[(])([^,]+),([^\])]+)([\])]):([^,]+)/g;
  for (let b = re.exec(m[3]!); b !== null; b = re.exec(m[3]!)) {
    const lowerIncl = b[1] === '[';
    const upperIncl = b[4] === ']';
    const rule = lowerIncl ? (upperIncl ? 3 : 1) : upperIncl ? 0 : 2;
    buckets.push([rule, num(b[2]!), num(b[3]!), num(b[5]!)]);
  }
  return { count: num(m[1]!), sum: num(m[2]!), buckets };
}

/** The queries of a histogram series compared between servers. */
export function histogramQueries(name: string, gauge: boolean): string[] {
  return gauge
    ? [name, `histogram_quantile(0.5, ${name})`]
    : [name, `rate(${name}[5m])`, `histogram_quantile(0.9, rate(${name}[5m]))`];
}

/**
 * Asserts via `equal` that every server answers each query_range like the first (at each of
 * `steps` over [start, end]); returns how many histogram points the first server returned.
 */
export async function compareQueryRange(
  servers: readonly PrometheusServer[],
  queries: readonly string[],
  start: number,
  end: number,
  equal: (got: unknown, want: unknown, what: string) => void,
  steps: readonly number[] = [60_000, 37_000],
): Promise<number> {
  let histogramPoints = 0;
  for (const q of queries) {
    for (const step of steps) {
      const [want, ...got] = await Promise.all(servers.map((s) => queryRange(s.url, q, start, end, step)));
      if (JSON.stringify(want).length <= 100) throw new Error(`${q}: empty answer ${JSON.stringify(want)}`);
      for (const g of got) equal(g, want, `${q} step ${step}`);
      histogramPoints += JSON.stringify(want).split('"buckets"').length - 1;
    }
  }
  return histogramPoints;
}
