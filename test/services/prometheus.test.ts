/**
 * Tests of the Prometheus oracle harness itself, against the real promtool and prometheus 2.42.
 * Prometheus' own compaction (first run 60 s after start) is deliberately NOT exercised here; see
 * docs/promtool-facts.md for how waitForCompaction was checked by hand.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertNoLeakedProcesses } from '../support/processes.js';
import {
  dedupeDump,
  diffDumps,
  dumpLineToSample,
  formatDumpLine,
  formatGoG,
  goQuote,
  parseDumpLine,
  parseLabels,
  samplesToDump,
  sortDumpLines,
  type Sample,
} from '../support/dump.js';
import {
  TRICKY_LABEL_VALUES,
  formatOpenMetricsTimestamp,
  generateOpenMetrics,
  generateSamples,
  openMetricsFromSamples,
  openMetricsTimestampToMs,
  prng,
  type GenerateOptions,
} from '../support/openmetrics.js';
import {
  createBlocksFromOpenMetrics,
  createBlocksFromSamples,
  deleteSeries,
  matrixToSamples,
  parseCompactionLogs,
  parseGoDuration,
  predictPromtoolBlocks,
  promtoolAnalyze,
  promtoolDump,
  promtoolList,
  queryRange,
  readTombstones,
  sortedDump,
  startPrometheus,
} from './prometheus.js';

let root = '';
let n = 0;
const freshDir = (): string => join(root, `d${n++}`);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-prom-test-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

/** Same numbers, NaN equal to NaN, -0 distinct from 0. */
const sameNumber = (a: number, b: number): boolean => Object.is(a, b);

function expectSamplesEqual(actual: readonly Sample[], expected: readonly Sample[]): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (
      a.t !== e.t ||
      !sameNumber(a.v, e.v) ||
      JSON.stringify(a.labels) !== JSON.stringify(sortKeys(e.labels))
    ) {
      throw new Error(
        `sample ${i}: got ${JSON.stringify([a.labels, a.t, String(a.v)])}, want ${JSON.stringify([e.labels, e.t, String(e.v)])}`,
      );
    }
  }
}

function sortKeys(r: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(r).sort()) out[k] = r[k]!;
  return out;
}

const ROUNDTRIP_OPTS: GenerateOptions = {
  seed: 20240611,
  series: 24,
  durationMs: 5 * 3600_000,
  intervalMs: 15_000,
  jitterMs: 2000,
  gapProbability: 0.01,
  churn: 0.3,
};

describe('OpenMetrics generator (pure)', () => {
  it('is deterministic and covers the requested shapes', () => {
    const a = generateOpenMetrics(ROUNDTRIP_OPTS);
    expect(generateOpenMetrics(ROUNDTRIP_OPTS)).toBe(a);
    expect(generateOpenMetrics({ ...ROUNDTRIP_OPTS, seed: 1 })).not.toBe(a);
    expect(a.endsWith('# EOF\n')).toBe(true);

    const samples = generateSamples(ROUNDTRIP_OPTS);
    const values = samples.map((s) => s.v);
    expect(values.some(Number.isNaN)).toBe(true);
    expect(values.some((v) => Object.is(v, -0))).toBe(true);
    expect(values).toContain(Infinity);
    expect(values).toContain(-Infinity);
    expect(values).toContain(Number.MIN_VALUE);
    const details = new Set(samples.map((s) => s.labels.detail).filter((d) => d !== undefined));
    expect(details.size).toBeGreaterThan(5);

    const bySeries = new Map<string, Sample[]>();
    for (const s of samples) {
      const k = JSON.stringify(sortKeys(s.labels));
      const list = bySeries.get(k);
      if (list) list.push(s);
      else bySeries.set(k, [s]);
    }
    expect(bySeries.size).toBe(24);
    const counters = [...bySeries.values()].filter((ss) => ss[0]!.labels.__name__!.endsWith('_total'));
    expect(counters.some((ss) => ss.some((s, i) => i > 0 && s.v < ss[i - 1]!.v))).toBe(true); // resets
    const gapped = [...bySeries.values()].some((ss) =>
      ss.some((s, i) => i > 0 && s.t - ss[i - 1]!.t > 40_000),
    );
    expect(gapped).toBe(true);
    const spans = [...bySeries.values()].map((ss) => ss[ss.length - 1]!.t - ss[0]!.t);
    expect(Math.min(...spans)).toBeLessThan(3 * 3600_000); // churned series live shorter
    for (const ss of bySeries.values()) {
      for (let i = 1; i < ss.length; i++) expect(ss[i]!.t).toBeGreaterThan(ss[i - 1]!.t);
    }
  });

  it('writes timestamps that promtool reads back to the exact ms', () => {
    expect(openMetricsTimestampToMs('1.005')).toBe(1004); // promtool's float truncation
    expect(formatOpenMetricsTimestamp(1005)).toBe('1.0055');
    expect(formatOpenMetricsTimestamp(1_700_000_000_000)).toBe('1700000000');
    expect(formatOpenMetricsTimestamp(1_700_000_000_120)).toBe('1700000000.12');
    const rnd = prng(7);
    for (let i = 0; i < 20000; i++) {
      const ms = Math.floor(rnd() * 4e12);
      expect(openMetricsTimestampToMs(formatOpenMetricsTimestamp(ms))).toBe(ms);
    }
    expect(() => formatOpenMetricsTimestamp(-1)).toThrow(/negative/);
  });

  it('refuses samples promtool would reject or alter', () => {
    const base = { labels: { __name__: 'm', a: 'x' }, t: 1000, v: 1 };
    expect(() => openMetricsFromSamples([base, { ...base, v: 2 }])).toThrow(/separate OpenMetrics files/);
    expect(() => openMetricsFromSamples([{ ...base, labels: { __name__: 'm', a: '' } }])).toThrow(/empty/);
    expect(() => openMetricsFromSamples([{ ...base, labels: { a: 'x' } }])).toThrow(/__name__/);
    expect(() => openMetricsFromSamples([{ ...base, labels: { __name__: 'm', 'a-b': 'x' } }])).toThrow(
      /label name/,
    );
    expect(openMetricsFromSamples([base])).toBe('# TYPE m unknown\nm{a="x"} 1 1\n# EOF\n');
    expect(
      openMetricsFromSamples([{ labels: { __name__: 'm', v: 'a"b\\c\nd' }, t: 0, v: -0 }], {
        typeLines: false,
      }),
    ).toBe('m{v="a\\"b\\\\c\\nd"} -0 0\n# EOF\n');
  });
});

describe('dump helpers (pure)', () => {
  it('parses lines whose label values contain spaces, braces and escapes', () => {
    const line = '{__name__="m", v="a} 1 2 \\"q\\" \\\\ \\n \\x01 \\u00a0 \\U0001fae0"} -1.5e-07 42';
    const d = parseDumpLine(line);
    expect(d.value).toBe('-1.5e-07');
    expect(d.t).toBe(42);
    expect(parseLabels(d.labels)).toEqual({ __name__: 'm', v: 'a} 1 2 "q" \\ \n \u0001 \u00a0 \u{1fae0}' });
    expect(dumpLineToSample(line).v).toBe(-1.5e-7);
    expect(Object.is(dumpLineToSample('{a="b"} -0 1').v, -0)).toBe(true);
    for (const v of TRICKY_LABEL_VALUES) expect(parseLabels(`{x=${goQuote(v)}}`)).toEqual({ x: v });
  });

  it('orders like labels.Compare, dedupes, and diffs readably', () => {
    const lines = ['{a="x", b="y"} 1 5', '{a="x"} 2 7', '{a="x"} 1 5', '{a="x"} 3 5'];
    expect(sortDumpLines(lines)).toEqual(['{a="x"} 1 5', '{a="x"} 3 5', '{a="x"} 2 7', '{a="x", b="y"} 1 5']);
    expect(dedupeDump(sortDumpLines(lines))).toEqual(['{a="x"} 1 5', '{a="x"} 2 7', '{a="x", b="y"} 1 5']);
    expect(diffDumps(lines, [...lines].reverse())).toBeUndefined();
    const diff = diffDumps(['{a="x"} 1 5', '{a="x"} 2 7'], ['{a="x"} 1 5', '{a="x"} 9 7', '{a="y"} 1 1'])!;
    expect(diff).toContain(
      'expected 2 lines, got 3; 0 missing (-), 1 unexpected (+), 1 with other values (~)',
    );
    expect(diff).toContain('~ {a="x"} 7: expected 2, got 9');
    expect(diff).toContain('+ {a="y"} 1 1');
  });

  it('parses Prometheus compaction log lines and Go durations', () => {
    const line =
      'ts=2026-11-23T19:32:37.408Z caller=compact.go:460 level=info component=tsdb msg="compact blocks" count=2 mint=10000 maxt=30001 ulid=01M84YARC797KAJJ35KFT4HF2M sources="[01M84Y7QP88Y3AJH0NBCF5TA2D 01M84Y7QR9KSQHQ1RVWAH28WPV]" duration=24.828985ms';
    const [c] = parseCompactionLogs(`noise\n${line}\nmore`);
    expect(c).toMatchObject({
      produced: true,
      count: 2,
      mint: 10000,
      maxt: 30001,
      ulid: '01M84YARC797KAJJ35KFT4HF2M',
    });
    expect(c!.sources).toEqual(['01M84Y7QP88Y3AJH0NBCF5TA2D', '01M84Y7QR9KSQHQ1RVWAH28WPV']);
    expect(c!.durationMs).toBeCloseTo(24.828985, 9);
    expect(parseGoDuration('1m2.5s')).toBe(62_500);
    expect(parseGoDuration('850µs')).toBeCloseTo(0.85, 12);
    expect(parseGoDuration('1h0m0.001s')).toBe(3600_001);
    expect(parseGoDuration('0s')).toBe(0);
    expect(() => parseGoDuration('12 parsecs')).toThrow();
  });
});

describe('promtool oracle', () => {
  it('round-trips generated data: blocks as predicted, dump exactly as formatted', async () => {
    const dir = freshDir();
    const expected = generateSamples(ROUNDTRIP_OPTS);
    const blocks = await createBlocksFromOpenMetrics(generateOpenMetrics(ROUNDTRIP_OPTS), dir);
    const predicted = predictPromtoolBlocks(expected.map((s) => s.t));
    expect(blocks.map((b) => [b.minTime, b.maxTime, b.numSamples])).toEqual(
      predicted.map((b) => [b.minTime, b.maxTime, b.numSamples]),
    );
    expect(blocks.length).toBeGreaterThanOrEqual(3);

    const before = await readdir(dir);
    const dump = await promtoolDump(dir);
    expect(await readdir(dir)).toEqual(before); // no wal/ or chunks_head/ left behind
    const diff = diffDumps(samplesToDump(expected), dump, { sort: false });
    if (diff !== undefined) throw new Error(diff);
    expectSamplesEqual(dump.map(dumpLineToSample), expected);
    expect(await sortedDump(dir)).toEqual(dump); // promtool's own order is labels.Compare order

    const listed = await promtoolList(dir);
    expect(listed.map((b) => b.ulid)).toEqual(blocks.map((b) => b.ulid));
    expect(listed.map((b) => b.numSamples)).toEqual(blocks.map((b) => b.numSamples));
    const last = await promtoolAnalyze(dir);
    expect(last.blockId).toBe(blocks[blocks.length - 1]!.ulid);
    const first = await promtoolAnalyze(dir, blocks[0]!.ulid);
    expect(first.series).toBe(blocks[0]!.numSeries);

    // A single block dir works too, and only shows that block.
    const one = await promtoolDump(blocks[1]!.dir);
    expect(one.length).toBe(blocks[1]!.numSamples);
    expect(await readdir(blocks[1]!.dir)).toEqual(['chunks', 'index', 'meta.json', 'tombstones']);
  });

  it('prints floats exactly like the reference %g (random bit patterns and edge values)', async () => {
    const rnd = prng(99);
    const view = new DataView(new ArrayBuffer(8));
    const values: number[] = [0, -0, NaN, Infinity, -Infinity, 1e6, 1234567, 0.0001, 0.00001, 1e21, 1e23];
    values.push(
      2 ** 53 + 1,
      0.1 + 0.2,
      999999.5,
      100000,
      5e-324,
      Number.MAX_VALUE,
      2 ** -1022,
      2 ** 63,
      1e-5,
      123456.7,
    );
    for (let i = 0; i < 6000; i++) {
      if (i % 3 === 0) {
        view.setUint32(0, Math.floor(rnd() * 2 ** 32));
        view.setUint32(4, Math.floor(rnd() * 2 ** 32));
        const v = view.getFloat64(0);
        values.push(Number.isFinite(v) ? v : 1.5);
      } else if (i % 3 === 1) {
        values.push((Math.round(rnd() * 1e8) / 10 ** Math.floor(rnd() * 20)) * (rnd() < 0.5 ? -1 : 1));
      } else {
        values.push(2 ** (Math.floor(rnd() * 2098) - 1074));
      }
    }
    const samples = values.map((v, i) => ({ labels: { __name__: 'f' }, t: i * 1000, v }));
    const dir = freshDir();
    await createBlocksFromOpenMetrics(openMetricsFromSamples(samples), dir);
    const dump = await promtoolDump(dir);
    expect(dump.length).toBe(values.length);
    const bad = dump.filter((line, i) => line !== formatDumpLine(samples[i]!));
    expect(bad.slice(0, 5)).toEqual([]);
    expect(dump.slice(0, 11).map((l) => parseDumpLine(l).value)).toEqual([
      '0',
      '-0',
      'NaN',
      '+Inf',
      '-Inf',
      '1e+06',
      '1.234567e+06',
      '0.0001',
      '1e-05',
      '1e+21',
      '1e+23',
    ]);
    expect(values.slice(0, 11).map(formatGoG)).toEqual(dump.slice(0, 11).map((l) => parseDumpLine(l).value));
  });

  it('quotes every Unicode code point exactly like the reference strconv.Quote', async () => {
    const samples: Sample[] = [];
    for (let base = 0; base < 0x110000; base += 512) {
      let s = '';
      for (let cp = base; cp < base + 512; cp++) {
        if (cp < 0xd800 || cp > 0xdfff) s += String.fromCodePoint(cp);
      }
      if (s !== '')
        samples.push({ labels: { __name__: 'u', b: base.toString(16).padStart(6, '0'), v: s }, t: 0, v: 1 });
    }
    for (const v of TRICKY_LABEL_VALUES) samples.push({ labels: { __name__: 't', v }, t: 0, v: 1 });
    const dir = freshDir();
    await createBlocksFromOpenMetrics(openMetricsFromSamples(samples), dir);
    const dump = await promtoolDump(dir);
    const diff = diffDumps(samplesToDump(samples), dump, { maxLines: 3 });
    if (diff !== undefined) throw new Error(diff.slice(0, 3000));
    expect(dump).toContain('{__name__="t", v="new\\nline"} 1 0');
    expect(dump.some((l) => l.includes('\\x00\\x01') && l.includes('\\a\\b\\t\\n\\v\\f\\r\\x0e'))).toBe(true);
  });

  it('merges several blocks: sorted, one sample per timestamp, with match and time bounds', async () => {
    const dir = freshDir();
    const s = (a: string, t: number, v: number): Sample => ({ labels: { __name__: 'o', r: a }, t, v });
    await createBlocksFromOpenMetrics(
      openMetricsFromSamples([s('1', 10_000, 1), s('1', 20_000, 2), s('2', 10_000, 5)]),
      dir,
    );
    await createBlocksFromOpenMetrics(
      openMetricsFromSamples([s('1', 20_000, 100), s('1', 30_000, 3), s('0', 15_000, 7)]),
      dir,
    );
    const dump = await promtoolDump(dir);
    expect(dump).toHaveLength(5);
    expect(dump[0]).toBe('{__name__="o", r="0"} 7 15000');
    expect(dump[1]).toBe('{__name__="o", r="1"} 1 10000');
    expect(dump[2]).toMatch(/^\{__name__="o", r="1"\} (2|100) 20000$/); // which block wins is unspecified
    expect(dump.slice(3)).toEqual(['{__name__="o", r="1"} 3 30000', '{__name__="o", r="2"} 5 10000']);
    expect(await promtoolDump(dir, { minTime: 15_000, maxTime: 20_000, match: '{r=~"0|2"}' })).toEqual([
      '{__name__="o", r="0"} 7 15000',
    ]);
    expect(await promtoolDump(dir, { match: 'o{r="1"}', minTime: 20_001 })).toEqual([
      '{__name__="o", r="1"} 3 30000',
    ]);
  });

  it('cuts blocks at epoch-aligned windows; --max-block-duration rounds down to 2h·3^k', async () => {
    const ts = [3600_000, 7199_999, 7200_000, 7201_005, 30_000_000];
    const samples = ts.map((t, i) => ({ labels: { __name__: 'b' }, t, v: i }));
    const om = openMetricsFromSamples(samples);
    const two = await createBlocksFromOpenMetrics(om, freshDir());
    expect(two.map((b) => [b.minTime, b.maxTime])).toEqual([
      [3600_000, 7200_000],
      [7200_000, 7201_006],
      [30_000_000, 30_000_001],
    ]);
    const six = await createBlocksFromOpenMetrics(om, freshDir(), { maxBlockDuration: '7h' });
    expect(six.map((b) => [b.minTime, b.maxTime])).toEqual(
      predictPromtoolBlocks(ts, 7 * 3600_000).map((b) => [b.minTime, b.maxTime]),
    );
    expect(six).toHaveLength(2);
    const perWindow = await createBlocksFromSamples(samples, freshDir());
    expect(perWindow.map((b) => [b.minTime, b.maxTime, b.numSamples])).toEqual(
      two.map((b) => [b.minTime, b.maxTime, b.numSamples]),
    );
    const big = await createBlocksFromOpenMetrics(om, freshDir(), { maxBlockDuration: '24h' });
    expect(big.map((b) => [b.minTime, b.maxTime, b.numSamples])).toEqual([[3600_000, 30_000_001, 5]]);
  });
});

describe('prometheus server', () => {
  it('serves query_range and writes tombstones on delete_series', async () => {
    const dataDir = freshDir();
    const t0 = 1_700_002_800_000; // a 2h boundary
    const samples: Sample[] = [];
    for (let i = 0; i < 40; i++) {
      samples.push({ labels: { __name__: 'q', k: 'a' }, t: t0 + i * 15_000, v: i });
      samples.push({ labels: { __name__: 'q', k: 'b' }, t: t0 + 5_000 + i * 15_000, v: -i / 4 });
    }
    const [block] = await createBlocksFromOpenMetrics(openMetricsFromSamples(samples), dataDir);
    expect(block).toBeDefined();
    const emptyTombstones = await readFile(join(block!.dir, 'tombstones'));
    expect(emptyTombstones.toString('hex')).toBe('0130ba300100000000');

    const prom = await startPrometheus({ dataDir });
    try {
      const resp = await queryRange(prom.url, 'q{k="a"}', t0, t0 + 39 * 15_000, 15_000);
      expect(matrixToSamples(resp)).toEqual(samples.filter((s) => s.labels.k === 'a'));

      await deleteSeries(prom.url, ['q{k="a"}']);
      const ts = await readTombstones(block!.dir);
      expect(ts.bytes.length).toBeGreaterThan(9);
      expect(ts.entries).toHaveLength(1);
      // No start/end: clamped to the series' own first..last sample, not int64 extremes.
      expect([ts.entries[0]!.mint, ts.entries[0]!.maxt]).toEqual([BigInt(t0), BigInt(t0 + 39 * 15_000)]);
      const meta = JSON.parse(await readFile(join(block!.dir, 'meta.json'), 'utf8')) as {
        stats: { numTombstones?: number };
      };
      expect(meta.stats.numTombstones).toBe(1);

      await deleteSeries(prom.url, ['q{k="b"}'], t0 + 100_000, t0 + 200_000);
      const ts2 = await readTombstones(block!.dir);
      expect(ts2.entries).toHaveLength(2);
      expect(ts2.entries.map((e) => [e.mint, e.maxt])).toContainEqual([
        BigInt(t0 + 100_000),
        BigInt(t0 + 200_000),
      ]);

      const after = await queryRange(prom.url, 'q', t0, t0 + 39 * 15_000, 15_000);
      expect(after.data.result.map((r) => r.metric.k)).toEqual(['b']);
    } finally {
      await prom.stop();
    }
    const dump = await promtoolDump(dataDir);
    expect(dump.every((l) => l.includes('k="b"'))).toBe(true);
    expect(dump).toHaveLength(40 - 7); // b's samples at t0+5s+15s·i in [t0+100s, t0+200s]: i = 7..13
  });
});
