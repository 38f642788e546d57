/**
 * Deterministic OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`, plus the exact
 * samples promtool will store for it (docs/promtool-facts.md has the parser facts relied on here).
 *
 * - `generateSamples(opts)`: seeded synthetic scrape data (counters with resets, gauges with
 *   extreme values, constants, edge values incl. -0/±Inf/NaN, jitter, gaps, churn, tricky labels),
 *   in promtool dump order.
 * - `generateOpenMetrics(opts)`: the same data as OpenMetrics text.
 * - `openMetricsFromSamples(samples)`: OpenMetrics text for hand-crafted samples (overlaps and
 *   conflicts across blocks are made by writing several files into one output dir).
 */
import { compareLabelSets, compareUtf8, sortedLabelPairs, type Sample } from './dump.js';
import { seededRandom } from '../../src/tsdb/ulid.js';

export type { Sample } from './dump.js';

/** How a series' values evolve. */
export type SeriesKind = 'counter' | 'gauge' | 'constant' | 'special';

export interface GenerateOptions {
  /** Seed of the PRNG; equal options give byte-identical output. */
  seed: number;
  /** Number of series (default 12). */
  series?: number;
  /** Metric names, assigned round robin (default: one name per kind, see DEFAULT_METRIC_NAMES). */
  metricNames?: readonly string[];
  /** Extra labels merged into series i from labelSets[i % length] (default none). */
  labelSets?: readonly Readonly<Record<string, string>>[];
  /** Give every third series a `detail` label from TRICKY_LABEL_VALUES (default true). */
  trickyLabels?: boolean;
  /** Series kinds, assigned round robin (default all four). */
  kinds?: readonly SeriesKind[];
  /** First possible sample time in ms, >= 0 (default 1_700_000_000_000: 800 s after a 2h boundary). */
  startMs?: number;
  /** Samples fall in [startMs, startMs + durationMs) (default 3h). */
  durationMs?: number;
  /** Scrape interval in ms (default 15_000). */
  intervalMs?: number;
  /** Give each series a random phase in [0, intervalMs) (default true). */
  offsets?: boolean;
  /** Each timestamp moves by a random integer in [-jitterMs, +jitterMs] (default 0). */
  jitterMs?: number;
  /** Per scrape, the chance that a gap of 1..maxGapScrapes missed scrapes starts (default 0). */
  gapProbability?: number;
  /** Longest gap in scrapes (default 10). */
  maxGapScrapes?: number;
  /** Fraction of series that live only in a random sub-window (appear late, vanish early) (default 0). */
  churn?: number;
  /** Per-scrape chance that a counter resets (default 0.02). */
  counterResetProbability?: number;
  /** Per-scrape chance that a gauge emits a one-off extreme value (default 0.05). */
  extremeProbability?: number;
  /** Let 'special' series emit NaN (promtool accepts it; stored as 0x7FF8000000000001) (default true). */
  nan?: boolean;
}

export const DEFAULT_METRIC_NAMES: Readonly<Record<SeriesKind, string>> = {
  counter: 'strata_gen_requests_total',
  gauge: 'strata_gen_temperature_celsius',
  constant: 'strata_gen_up',
  special: 'strata_gen_edge_values',
};

/**
 * Label values that exercise OpenMetrics escaping and Go quoting. Only characters assigned in
 * Unicode <= 13 (so every Go since 1.16 quotes them alike); no empty value (Prometheus drops
 * empty-valued labels).
 */
export const TRICKY_LABEL_VALUES: readonly string[] = [
  'plain',
  'quote "double" \'single\'',
  'back\\slash',
  'trailing backslash\\',
  'new\nline',
  'raw\ttab and cr\r',
  'escaped-looking \\n \\" \\t',
  'unicode héllo ☃ 日本語 😀 e\u0301',
  'nbsp\u00a0zwsp\u200bbom\ufeffls\u2028',
  'controls \u0001\u0007\u001b\u007f\u0085',
  'nul\u0000byte',
  'private\ue000 astral\u{10ffff} \u{1f600}',
  '{braces}, commas="x", spaces  ',
];

const EDGE_VALUES: readonly number[] = [
  0,
  -0,
  Infinity,
  -Infinity,
  NaN,
  1e21,
  1e-7,
  1e6,
  1234567,
  999999.5,
  100000,
  0.0001,
  0.00001,
  0.1 + 0.2,
  2 ** 53 + 2,
  2 ** 63,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  2.2250738585072014e-308,
  -1.5e-7,
  1e100,
  1e23,
  123456789.123,
];

const GAUGE_EXTREMES: readonly number[] = [
  Number.MAX_VALUE,
  -1.5e300,
  Number.MIN_VALUE,
  1e-310,
  -0,
  0,
  -0.000001234,
  1e21,
  -4.9e-300,
];

const CONSTANTS: readonly number[] = [1, 0, 42.5, -7, 1e-9];

const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The repo's seeded PRNG (floats in [0, 1)), under the name the tests use. */
export const prng = seededRandom;

/** The generated samples, in promtool dump order (series by labels.Compare, then time). */
export function generateSamples(opts: GenerateOptions): Sample[] {
  const rnd = prng(opts.seed);
  const nSeries = opts.series ?? 12;
  const kinds = opts.kinds ?? (['counter', 'gauge', 'constant', 'special'] as const);
  const start = opts.startMs ?? 1_700_000_000_000;
  const duration = opts.durationMs ?? 3 * 3600_000;
  const interval = opts.intervalMs ?? 15_000;
  const jitter = opts.jitterMs ?? 0;
  const gapP = opts.gapProbability ?? 0;
  const maxGap = opts.maxGapScrapes ?? 10;
  const churn = opts.churn ?? 0;
  const resetP = opts.counterResetProbability ?? 0.02;
  const extremeP = opts.extremeProbability ?? 0.05;
  const withNaN = opts.nan ?? true;
  const tricky = opts.trickyLabels ?? true;
  if (!Number.isSafeInteger(start) || start < 0) throw new Error('startMs must be a safe integer >= 0');
  if (!(interval > 0) || !(duration > 0) || kinds.length === 0) throw new Error('bad generator options');

  const all: Sample[][] = [];
  const seen = new Set<string>();
  for (let i = 0; i < nSeries; i++) {
    const kind = kinds[i % kinds.length]!;
    const name = opts.metricNames
      ? opts.metricNames[i % opts.metricNames.length]!
      : DEFAULT_METRIC_NAMES[kind];
    const labels: Record<string, string> = {
      ...(opts.labelSets && opts.labelSets.length > 0 ? opts.labelSets[i % opts.labelSets.length] : {}),
      __name__: name,
      instance: `inst-${i}`,
      job: 'strata-gen',
    };
    if (tricky && i % 3 === 0) labels.detail = TRICKY_LABEL_VALUES[(i / 3) % TRICKY_LABEL_VALUES.length]!;
    const key = JSON.stringify(sortedLabelPairs(labels));
    if (seen.has(key)) throw new Error(`duplicate label set for series ${i}`);
    seen.add(key);

    // Lifetime window (churn) and phase.
    let from = start;
    let to = start + duration;
    if (rnd() < churn) {
      from = start + Math.floor(rnd() * duration * 0.6);
      to = Math.min(start + duration, from + Math.floor(duration * (0.1 + rnd() * 0.5)));
    }
    const phase = opts.offsets === false ? 0 : Math.floor(rnd() * interval);

    let counter = Math.floor(rnd() * 1000);
    let gauge = (rnd() - 0.5) * 200;
    const constant = CONSTANTS[i % CONSTANTS.length]!;
    let special = Math.floor(rnd() * EDGE_VALUES.length);
    let gapLeft = 0;
    let prevT = -Infinity;
    const out: Sample[] = [];
    all.push(out);
    for (let k = 0; ; k++) {
      const nominal = start + phase + k * interval;
      if (nominal >= start + duration + jitter) break;
      // Draw every random number for this scrape up front so options do not shift the sequence.
      const rJitter = rnd();
      const rGap = rnd();
      const rGapLen = rnd();
      const rValue = rnd();
      const rEvent = rnd();
      if (gapLeft > 0) {
        gapLeft--;
        continue;
      }
      if (rGap < gapP) {
        gapLeft = Math.floor(rGapLen * maxGap); // this scrape is missed, and gapLeft more
        continue;
      }
      let t = nominal + (jitter > 0 ? Math.round((rJitter * 2 - 1) * jitter) : 0);
      if (t <= prevT) t = prevT + 1;
      if (t < from || t >= to) continue;
      prevT = t;

      let v: number;
      switch (kind) {
        case 'counter':
          if (rEvent < resetP) counter = Math.floor(rValue * 5);
          else counter += rValue * 10;
          v = counter;
          break;
        case 'gauge':
          gauge += (rValue - 0.5) * 20;
          v = rEvent < extremeP ? GAUGE_EXTREMES[Math.floor(rValue * GAUGE_EXTREMES.length)]! : gauge;
          break;
        case 'constant':
          v = constant;
          break;
        case 'special':
          v = EDGE_VALUES[special++ % EDGE_VALUES.length]!;
          if (Number.isNaN(v) && !withNaN) v = 0;
          break;
      }
      out.push({ labels, t, v });
    }
  }
  // Each series is already in time order: sort the series, not the samples.
  return all
    .filter((ss) => ss.length > 0)
    .sort((a, b) => compareLabelSets(a[0]!.labels, b[0]!.labels))
    .flat();
}

/** The generated data as OpenMetrics text (same samples as generateSamples). */
export function generateOpenMetrics(opts: GenerateOptions): string {
  return openMetricsFromSamples(generateSamples(opts));
}

export interface FromSamplesOptions {
  /** Write a `# TYPE <name> unknown` line before each metric name's series (default true). */
  typeLines?: boolean;
}

/**
 * OpenMetrics text for exactly these samples: series grouped by metric name, each series' samples
 * in time order, `# EOF` last. Throws on anything promtool would reject, change or drop: invalid
 * names, empty label values, a missing `__name__`, negative or non-integer timestamps, or two
 * samples of one series at one timestamp (put those in separate files, i.e. separate blocks).
 */
export function openMetricsFromSamples(samples: readonly Sample[], opts: FromSamplesOptions = {}): string {
  const bySeries = new Map<string, { labels: Record<string, string>; samples: Sample[] }>();
  const keyByObject = new Map<Readonly<Record<string, string>>, string>();
  for (const s of samples) {
    let key = keyByObject.get(s.labels);
    if (key === undefined) {
      key = JSON.stringify(sortedLabelPairs(s.labels));
      keyByObject.set(s.labels, key);
    }
    let entry = bySeries.get(key);
    if (entry === undefined) {
      validateLabels(s.labels);
      entry = { labels: s.labels, samples: [] };
      bySeries.set(key, entry);
    }
    entry.samples.push(s);
  }
  const series = [...bySeries.values()].sort(
    (a, b) => compareUtf8(a.labels.__name__!, b.labels.__name__!) || compareLabelSets(a.labels, b.labels),
  );
  const parts: string[] = [];
  let lastName: string | undefined;
  for (const { labels, samples: ss } of series) {
    const name = labels.__name__!;
    if (name !== lastName && opts.typeLines !== false) parts.push(`# TYPE ${name} unknown\n`);
    lastName = name;
    const head = seriesText(labels);
    const sorted = [...ss].sort((a, b) => a.t - b.t);
    for (let i = 0; i < sorted.length; i++) {
      const s = sorted[i]!;
      if (i > 0 && sorted[i - 1]!.t === s.t) {
        throw new Error(`two samples at t=${s.t} for ${head}; put them in separate OpenMetrics files`);
      }
      parts.push(`${head} ${formatOpenMetricsValue(s.v)} ${formatOpenMetricsTimestamp(s.t)}\n`);
    }
  }
  parts.push('# EOF\n');
  return parts.join('');
}

function validateLabels(labels: Readonly<Record<string, string>>): void {
  const name = labels.__name__;
  if (name === undefined || !METRIC_NAME_RE.test(name)) throw new Error(`bad or missing __name__: ${name}`);
  for (const [k, v] of Object.entries(labels)) {
    if (k !== '__name__' && (!LABEL_NAME_RE.test(k) || k.startsWith('__')))
      throw new Error(`bad label name ${k}`);
    if (v === '') throw new Error(`label ${k} has an empty value; Prometheus would drop it`);
    if (LONE_SURROGATE_RE.test(v)) throw new Error(`label ${k} has a lone surrogate (not valid UTF-8)`);
  }
}

/** `name{a="x",b="y"}` with OpenMetrics escaping of label values. */
function seriesText(labels: Readonly<Record<string, string>>): string {
  const pairs = sortedLabelPairs(labels).filter(([k]) => k !== '__name__');
  const body = pairs.map(([k, v]) => `${k}="${escapeOpenMetricsLabelValue(v)}"`).join(',');
  return pairs.length > 0 ? `${labels.__name__}{${body}}` : labels.__name__!;
}

/**
 * OpenMetrics label value escaping: `\` → `\\`, `"` → `\"`, newline → `\n`; everything else raw
 * (promtool's parser undoes exactly these three; `\t` in the text would stay a backslash and a t).
 */
export function escapeOpenMetricsLabelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : '\\n'));
}

/** A value Go's strconv.ParseFloat reads back exactly: `NaN`, `+Inf`, `-Inf`, `-0`, else shortest repr. */
export function formatOpenMetricsValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

/** What promtool stores for an OpenMetrics timestamp text: int64(parseFloat(s) * 1000), truncating. */
export function openMetricsTimestampToMs(text: string): number {
  return Math.trunc(Number(text) * 1000);
}

/**
 * Seconds text for a ms timestamp that promtool maps back to exactly that ms. Plain `S.mmm` is
 * used when it survives promtool's float multiply-and-truncate; otherwise half a ms is appended
 * (`1.005` would become 1004 ms; `1.0055` becomes 1005).
 */
export function formatOpenMetricsTimestamp(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new Error(
      `timestamp ${ms}: only integer ms >= 0 (promtool loses samples before a negative window start)`,
    );
  }
  const sec = Math.floor(ms / 1000);
  const frac = String(ms % 1000).padStart(3, '0');
  const plain = frac === '000' ? String(sec) : `${sec}.${frac.replace(/0+$/, '')}`;
  if (openMetricsTimestampToMs(plain) === ms) return plain;
  const nudged = `${sec}.${frac}5`;
  if (openMetricsTimestampToMs(nudged) === ms) return nudged;
  throw new Error(`cannot write timestamp ${ms} ms so that promtool reads it back exactly`);
}
