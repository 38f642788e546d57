/**
 * Deterministic synthetic scrape data: every sample is a pure function of (seed, series, scrape
 * index), so any 2h window can be generated on its own and two runs with one seed agree.
 * Series kinds: counters (with resets), gauges, constants; churn (series born and dying, ending
 * in a stale marker), short target outages (stale marker, gap, resume); 15 s scrapes with a
 * per-series offset and millisecond jitter.
 */
import { compareLabels, labelsFromRecord, type Labels } from '../labels.js';
import { SampleBuf } from '../samples/sample-buf.js';

export const STALE_HI = 0x7ff00000;
export const STALE_LO = 0x00000002;

export type SeriesKind = 'counter' | 'gauge' | 'constant';

export interface SynthSeries {
  readonly labels: Labels;
  readonly kind: SeriesKind;
  readonly index: number;
  /** Scrape offset within the interval, ms. */
  readonly offset: number;
  /** Alive for scrapes with timestamps in [birth, death); a stale marker follows at death. */
  readonly birth: number;
  readonly death: number;
}

export interface SynthOptions {
  seed: number;
  series: number;
  startMs: number;
  endMs: number;
  scrapeIntervalMs?: number;
  /** Extra labels on every series (e.g. a tenant's job). */
  extraLabels?: Readonly<Record<string, string>>;
}

/** 32-bit integer hash of up to three ints (murmur3-style finalizer). */
export function hash3(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ c, 0x27d4eb2f);
  h ^= h >>> 15;
  return h >>> 0;
}

function unit(a: number, b: number, c: number): number {
  return hash3(a, b, c) / 4294967296;
}

const METRICS: readonly [string, SeriesKind][] = [
  ['http_requests_total', 'counter'],
  ['process_cpu_seconds_total', 'counter'],
  ['node_network_receive_bytes_total', 'counter'],
  ['node_memory_MemAvailable_bytes', 'gauge'],
  ['go_goroutines', 'gauge'],
  ['node_load1', 'gauge'],
  ['up', 'constant'],
  ['build_info', 'constant'],
];
const CODES = ['200', '404', '500'];
const METHODS = ['GET', 'POST'];

/** The series of a synthetic target set, sorted by labels. */
export function synthSeries(opts: SynthOptions): SynthSeries[] {
  const interval = opts.scrapeIntervalMs ?? 15_000;
  const span = opts.endMs - opts.startMs;
  const out: SynthSeries[] = [];
  for (let i = 0; i < opts.series; i++) {
    const [name, kind] = METRICS[i % METRICS.length]!;
    const rec: Record<string, string> = {
      __name__: name,
      job: `job-${(i >> 3) % 10}`,
      instance: `10.0.${(i >> 11) & 255}.${(i >> 3) & 255}:9100`,
      ...opts.extraLabels,
    };
    if (name === 'http_requests_total') {
      rec['code'] = CODES[(i >> 3) % CODES.length]!;
      rec['method'] = METHODS[(i >> 4) % METHODS.length]!;
    }
    rec['series'] = String(i);
    // About 10% of series churn: born late or die early within the span.
    const churn = unit(opts.seed, i, 1);
    let birth = opts.startMs;
    let death = opts.endMs;
    if (churn < 0.05) birth = opts.startMs + Math.floor(unit(opts.seed, i, 2) * span * 0.8);
    else if (churn < 0.1) death = opts.startMs + Math.floor((0.2 + unit(opts.seed, i, 3) * 0.8) * span);
    out.push({
      labels: labelsFromRecord(rec),
      kind,
      index: i,
      offset: Math.floor(unit(opts.seed, i, 4) * interval),
      birth,
      death,
    });
  }
  return out.sort((a, b) => compareLabels(a.labels, b.labels));
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
// Typed arrays are little-endian here: u32[1] is the high half.
function pushValue(out: SampleBuf, t: number, v: number): void {
  f64[0] = v;
  out.push(t, u32[1]!, u32[0]!);
}

function value(seed: number, s: SynthSeries, k: number, t: number): number {
  switch (s.kind) {
    case 'counter': {
      // Resets roughly every 6h on a per-series phase.
      const period = 6 * 3600_000;
      const phase = Math.floor(unit(seed, s.index, 5) * period);
      const since = (t + phase) % period;
      const rate = 1 + Math.floor(unit(seed, s.index, 6) * 50);
      return Math.floor((since / 1000) * rate) + (hash3(seed, s.index, k) % 3);
    }
    case 'gauge': {
      const amp = 1 + unit(seed, s.index, 7) * 1e6;
      const v = amp * (1 + Math.sin(t / 3_600_000 + s.index)) + unit(seed, s.index ^ k, 8) * 10;
      return Math.round(v * 100) / 100;
    }
    case 'constant':
      return 1;
  }
}

/**
 * Appends the samples of series `s` with timestamps in [mint, maxt) to `out` (reset first).
 * Outages: about 1 in 2000 scrapes starts a 5-scrape outage, announced by a stale marker.
 */
export function synthSamples(
  seed: number,
  s: SynthSeries,
  mint: number,
  maxt: number,
  out: SampleBuf,
  intervalMs = 15_000,
): void {
  out.reset();
  const base = s.offset;
  let k = Math.max(0, Math.ceil((Math.max(mint, s.birth) - base - 100) / intervalMs));
  for (; ; k++) {
    const nominal = base + k * intervalMs;
    const t = nominal + (hash3(seed, s.index, k) % 101) - 50;
    if (t >= maxt) break;
    if (t < mint || t < s.birth) continue;
    if (t >= s.death) {
      // One stale marker at the first scrape after the series disappears.
      if (t - intervalMs < s.death) out.push(t, STALE_HI, STALE_LO);
      break;
    }
    const outage = hash3(seed ^ 0x5a5a, s.index, Math.floor(k / 5)) % 2000 === 0;
    if (outage) {
      if (k % 5 === 0) out.push(t, STALE_HI, STALE_LO);
      continue;
    }
    pushValue(out, t, value(seed, s, k, t));
  }
}
