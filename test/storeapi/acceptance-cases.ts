/**
 * The cases of Thanos' Store API acceptance table (thanos-io/thanos pkg/store/acceptance_test.go,
 * testStoreAPIsAcceptance) as data: the series a store holds, the calls made to it and the
 * answers every conforming Store API server gives. Facts carried over: inputs, requests, expected
 * results; the external label set is {region="eu-west"}, requests carry
 * without_replica_labels=["replica"], and the bucket store variant holds two replica blocks
 * (replica=r1, r2) of the same data.
 */
import type { WireMatcher } from './client.js';

/** When a sample is: the test's start time (`now`, ms) or a fixed time. */
export type CaseTime = 'now' | number;

export interface CaseSample {
  labels: Readonly<Record<string, string>>;
  t: CaseTime;
  v: number;
}

/** A request time: a fixed ms value, or `now` shifted by offsetMs. */
export type RequestTime = number | { now: number };

export interface ExpectedError {
  /** gRPC status name. */
  code: string;
  /** The message must contain this (Thanos: `label name parameter cannot be empty`). */
  messageIncludes: string;
}

export interface LabelNamesCall {
  start: RequestTime;
  end: RequestTime;
  matchers?: readonly WireMatcher[];
  /** Sorted; empty = none. */
  names: readonly string[];
}

export interface LabelValuesCall {
  label: string;
  start: RequestTime;
  end: RequestTime;
  matchers?: readonly WireMatcher[];
  values?: readonly string[];
  error?: ExpectedError;
  /**
   * Answerable only by a store that knows its external labels without holding any series (a
   * sidecar or a TSDB store); a bucket store learns them from blocks (upstream skips these for
   * the bucket store: it has no block then).
   */
  externalLabelsWithoutData?: boolean;
}

export interface SeriesCall {
  start: RequestTime;
  end: RequestTime;
  matchers: readonly WireMatcher[];
  skipChunks?: boolean;
  /** Label sets in the order a sorted answer has them, each sorted by name. */
  labels: readonly (readonly [string, string][])[];
}

export interface AcceptanceCase {
  desc: string;
  series: readonly CaseSample[];
  labelNames?: readonly LabelNamesCall[];
  labelValues?: readonly LabelValuesCall[];
  seriesCalls?: readonly SeriesCall[];
}

/** The external labels of every store under test. */
export const EXTERNAL_LABELS: Readonly<Record<string, string>> = { region: 'eu-west' };
export const REPLICA_LABEL = 'replica';
/** Upstream's minTime (Unix 0) and maxTime (9999-12-31T23:59:59Z) in ms. */
export const MIN_TIME = 0;
export const MAX_TIME = 253_402_300_799_000;
const FOUR_HOURS_AGO: RequestTime = { now: -4 * 3600_000 };

const eq = (name: string, value: string): WireMatcher => ({ type: 'EQ', name, value });
const neq = (name: string, value: string): WireMatcher => ({ type: 'NEQ', name, value });
const re = (name: string, value: string): WireMatcher => ({ type: 'RE', name, value });
const nre = (name: string, value: string): WireMatcher => ({ type: 'NRE', name, value });

/** A label set as sorted pairs, with the external label added. */
function ls(...kv: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < kv.length; i += 2) out.push([kv[i]!, kv[i + 1]!]);
  out.push(['region', 'eu-west']);
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

const all = { start: MIN_TIME, end: MAX_TIME } as const;

const N1_IA = ls('n', '1', 'i', 'a');
const N1_IB = ls('n', '1', 'i', 'b');
const N1 = ls('n', '1');
const N2 = ls('n', '2');
const N25 = ls('n', '2.5');

/** "matching behavior": upstream's table of matcher semantics (from Prometheus' querier tests). */
const MATCHING: readonly { m: readonly WireMatcher[]; want: readonly [string, string][][] }[] = [
  { m: [eq('n', '1')], want: [N1_IA, N1_IB, N1] },
  { m: [eq('n', '1'), eq('i', 'a')], want: [N1_IA] },
  { m: [eq('n', '1'), eq('i', 'missing')], want: [] },
  { m: [eq('missing', '')], want: [N1_IA, N1_IB, N1, N2, N25] },
  { m: [neq('n', '1')], want: [N2, N25] },
  { m: [re('i', '.+')], want: [N1_IA, N1_IB] },
  { m: [re('i', '.*')], want: [N1_IA, N1_IB, N1, N2, N25] },
  { m: [eq('i', '')], want: [N1, N2, N25] },
  { m: [neq('i', '')], want: [N1_IA, N1_IB] },
  { m: [neq('missing', '')], want: [] },
  { m: [eq('n', '1'), neq('i', 'a')], want: [N1_IB, N1] },
  { m: [re('n', '^1$')], want: [N1_IA, N1_IB, N1] },
  { m: [eq('n', '1'), re('i', '^a$')], want: [N1_IA] },
  { m: [eq('n', '1'), re('i', '^a?$')], want: [N1_IA, N1] },
  { m: [re('i', '^$')], want: [N1, N2, N25] },
  { m: [eq('n', '1'), re('i', '^$')], want: [N1] },
  { m: [eq('n', '1'), re('i', '^.*$')], want: [N1_IA, N1_IB, N1] },
  { m: [eq('n', '1'), re('i', '^.+$')], want: [N1_IA, N1_IB] },
  { m: [nre('n', '^1$')], want: [N2, N25] },
  { m: [nre('n', '1')], want: [N2, N25] },
  { m: [nre('n', '1|2.5')], want: [N2] },
  { m: [nre('n', '(1|2.5)')], want: [N2] },
  { m: [eq('n', '1'), nre('i', '^a$')], want: [N1_IB, N1] },
  { m: [eq('n', '1'), nre('i', '^a?$')], want: [N1_IB] },
  { m: [eq('n', '1'), nre('i', '^$')], want: [N1_IA, N1_IB] },
  { m: [eq('n', '1'), nre('i', '^.*$')], want: [] },
  { m: [eq('n', '1'), nre('i', '^.+$')], want: [N1] },
  { m: [eq('n', '1'), neq('i', ''), eq('i', 'a')], want: [N1_IA] },
  { m: [eq('n', '1'), neq('i', 'b'), re('i', '^(b|a).*$')], want: [N1_IA] },
  { m: [re('n', '(1|2)')], want: [N1_IA, N1_IB, N1, N2] },
  { m: [re('i', 'a|b')], want: [N1_IA, N1_IB] },
  { m: [re('i', '(a|b)')], want: [N1_IA, N1_IB] },
  { m: [re('n', 'x1|2')], want: [N2] },
  { m: [re('n', '2|2\\.5')], want: [N2, N25] },
  { m: [re('i', 'c||d')], want: [N1, N2, N25] },
  { m: [re('i', '(c||d)')], want: [N1, N2, N25] },
];

export const ACCEPTANCE_CASES: readonly AcceptanceCase[] = [
  {
    desc: 'no label in tsdb, empty results',
    series: [],
    labelNames: [{ ...all, names: [] }],
    labelValues: [
      {
        ...all,
        label: '',
        error: { code: 'InvalidArgument', messageIncludes: 'label name parameter cannot be empty' },
      },
      { ...all, label: 'foo', values: [] },
      { ...all, label: 'region', values: ['eu-west'], externalLabelsWithoutData: true },
    ],
  },
  {
    desc: '{foo=foovalue1} 1',
    series: [{ labels: { foo: 'foovalue1' }, t: 'now', v: 1 }],
    labelNames: [{ ...all, names: ['foo', 'region'] }],
    labelValues: [
      { ...all, label: 'foo', values: ['foovalue1'] },
      { ...all, label: 'replica', values: [] },
    ],
  },
  {
    desc: '{foo=foovalue2} 1 and {foo=foovalue2} 1',
    series: [
      { labels: { foo: 'foovalue1' }, t: 'now', v: 1 },
      { labels: { foo: 'foovalue2' }, t: 'now', v: 1 },
    ],
    labelNames: [{ ...all, names: ['foo', 'region'] }],
    labelValues: [{ ...all, label: 'foo', values: ['foovalue1', 'foovalue2'] }],
  },
  {
    desc: '{foo=foovalue1, bar=barvalue1} 1 and {foo=foovalue2} 1 and {foo=foovalue2} 1',
    series: [
      { labels: { foo: 'foovalue1' }, t: 'now', v: 1 },
      { labels: { foo: 'foovalue2' }, t: 'now', v: 1 },
      { labels: { foo: 'foovalue1', bar: 'barvalue1' }, t: 'now', v: 1 },
    ],
    labelNames: [
      { ...all, names: ['bar', 'foo', 'region'] },
      // A range before the samples.
      { start: MIN_TIME, end: FOUR_HOURS_AGO, names: [] },
      { ...all, matchers: [eq('bar', 'barvalue1')], names: ['bar', 'foo', 'region'] },
      { ...all, matchers: [eq('foo', 'foovalue2')], names: ['foo', 'region'] },
      { ...all, matchers: [eq('bar', 'different')], names: [] },
      // Matchers on external labels.
      { ...all, matchers: [eq('region', 'eu-west')], names: ['bar', 'foo', 'region'] },
      { ...all, matchers: [eq('region', 'different')], names: [] },
    ],
    labelValues: [
      { ...all, label: 'foo', values: ['foovalue1', 'foovalue2'] },
      { ...all, label: 'bar', values: ['barvalue1'] },
      { start: MIN_TIME, end: FOUR_HOURS_AGO, label: 'foo', values: [] },
      { start: MIN_TIME, end: FOUR_HOURS_AGO, label: 'bar', values: [] },
      { ...all, label: 'foo', matchers: [eq('bar', 'barvalue1')], values: ['foovalue1'] },
      { ...all, label: 'foo', matchers: [eq('bar', 'different')], values: [] },
      { ...all, label: 'region', matchers: [eq('__name__', 'nonexistent')], values: [] },
      { ...all, label: 'region', matchers: [eq('region', 'eu-east')], values: [] },
      { ...all, label: 'foo', matchers: [eq('region', 'eu-west')], values: ['foovalue1', 'foovalue2'] },
      { ...all, label: 'bar', matchers: [eq('region', 'eu-west')], values: ['barvalue1'] },
      { ...all, label: 'foo', matchers: [eq('region', 'different')], values: [] },
      { ...all, label: 'bar', matchers: [eq('region', 'different')], values: [] },
    ],
  },
  {
    desc: 'conflicting internal and external labels when skipping chunks',
    series: [{ labels: { foo: 'bar', region: 'somewhere' }, t: 0, v: 0 }],
    seriesCalls: [{ ...all, matchers: [eq('foo', 'bar')], skipChunks: true, labels: [ls('foo', 'bar')] }],
  },
  {
    desc: 'series matcher on other labels when requesting external labels',
    series: [
      { labels: { __name__: 'up', foo: 'bar', job: 'C' }, t: 0, v: 0 },
      { labels: { __name__: 'up', foo: 'baz', job: 'C' }, t: 0, v: 0 },
    ],
    labelValues: [
      { ...all, label: 'region', matchers: [eq('__name__', 'up'), eq('job', 'C')], values: ['eu-west'] },
    ],
  },
  {
    desc: 'matching behavior',
    series: [
      { labels: { n: '1' }, t: 0, v: 0 },
      { labels: { n: '1', i: 'a' }, t: 0, v: 0 },
      { labels: { n: '1', i: 'b' }, t: 0, v: 0 },
      { labels: { n: '2' }, t: 0, v: 0 },
      { labels: { n: '2.5' }, t: 0, v: 0 },
    ],
    seriesCalls: MATCHING.map(({ m, want }) => ({ ...all, matchers: m, labels: want })),
  },
  {
    desc: 'label values and names with non-equal matchers on external labels',
    series: [{ labels: { __name__: 'up', foo: 'bar' }, t: 0, v: 0 }],
    labelNames: [{ ...all, matchers: [re('region', '.*')], names: ['__name__', 'foo', 'region'] }],
    labelValues: [
      { ...all, label: 'region', matchers: [eq('__name__', 'up'), re('region', '.*')], values: ['eu-west'] },
    ],
  },
  {
    desc: "label_values(kube_pod_info{}, pod) don't fetch postings for pod!=''",
    series: [
      { labels: { __name__: 'up', pod: 'pod-1' }, t: 'now', v: 1 },
      { labels: { __name__: 'up', pod: 'pod-2' }, t: 'now', v: 1 },
      { labels: { __name__: 'kube_pod_info', pod: 'pod-1' }, t: 'now', v: 1 },
    ],
    labelNames: [
      { ...all, matchers: [eq('__name__', 'kube_pod_info')], names: ['__name__', 'pod', 'region'] },
      { ...all, names: ['__name__', 'pod', 'region'] },
    ],
    labelValues: [
      { ...all, label: 'pod', matchers: [eq('__name__', 'kube_pod_info')], values: ['pod-1'] },
      { ...all, label: 'pod', values: ['pod-1', 'pod-2'] },
    ],
  },
];
