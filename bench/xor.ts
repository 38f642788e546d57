/**
 * XOR codec throughput. Builds 10k series × 120 samples (15 s scrape with jitter; counters, gauges,
 * constants), then times bulk decode, iterator decode and encode. Warm-up first, then the median of
 * several runs. Run: npx tsc -p tsconfig.build.json && node dist/bench/xor.js [series] [samples] [--heavy]
 */
import { floatHi, floatLo } from '../src/tsdb/chunkenc/float-bits.js';
import { XorAppender, XorIterator, decodeXorInto } from '../src/tsdb/chunkenc/xor.js';
import { seededRandom } from '../src/tsdb/ulid.js';

const args = process.argv.slice(2).filter((a) => a !== '--heavy');
/** --heavy: every counter moves and gauges are random doubles (worst case, ~4 B/sample). */
const HEAVY = process.argv.includes('--heavy');
const SERIES = Number(args[0] ?? 10_000);
const PER_SERIES = Number(args[1] ?? 120);
const RUNS = 7;

interface Dataset {
  ts: Float64Array;
  hi: Uint32Array;
  lo: Uint32Array;
  chunks: Uint8Array[];
  total: number;
  bytes: number;
}

function build(): Dataset {
  const total = SERIES * PER_SERIES;
  const ts = new Float64Array(total);
  const hi = new Uint32Array(total);
  const lo = new Uint32Array(total);
  const r = seededRandom(42);
  const start = 1_700_000_000_000;
  for (let s = 0; s < SERIES; s++) {
    // 50% counters, 30% gauges (half integer-valued), 20% constants, like a typical node/app mix.
    const kind = s % 10;
    const offset = Math.floor(r() * 15_000);
    let counter = Math.floor(r() * 1e6);
    const rate = 1 + Math.floor(r() * (r() < 0.5 ? 10 : 1000));
    let gauge = Math.round(r() * 10000) / 100;
    let intGauge = Math.floor(r() * 1e5) * 4096;
    const constant = Math.floor(r() * 8);
    for (let i = 0; i < PER_SERIES; i++) {
      const k = s * PER_SERIES + i;
      // Most scrapes land on the interval; some jitter by a few ms.
      const jitter = r() < 0.8 ? 0 : Math.floor(r() * 7) - 3;
      ts[k] = start + offset + i * 15_000 + jitter;
      let v: number;
      if (HEAVY) {
        v = kind < 5 ? (counter += Math.floor(r() * rate)) : kind < 8 ? r() * 1e6 : constant;
      } else if (kind < 5) {
        if (r() < 0.6) counter += 1 + Math.floor(r() * rate);
        v = counter;
      } else if (kind < 8) {
        if (kind === 5) {
          if (r() < 0.5) intGauge += (Math.floor(r() * 21) - 10) * 4096;
          v = intGauge;
        } else {
          if (r() < 0.7) gauge = Math.round((gauge + (r() - 0.5) * 2) * 100) / 100;
          v = gauge;
        }
      } else {
        v = constant;
      }
      hi[k] = floatHi(v);
      lo[k] = floatLo(v);
    }
  }
  let arena = new Uint8Array(1 << 20);
  const ends: number[] = [];
  const app = new XorAppender(1024);
  let bytes = 0;
  for (let s = 0; s < SERIES; s++) {
    app.reset();
    for (let i = 0; i < PER_SERIES; i++) {
      const k = s * PER_SERIES + i;
      app.appendBits(ts[k]!, hi[k]!, lo[k]!);
    }
    const c = app.bytes();
    if (bytes + c.length > arena.length) {
      const next = new Uint8Array(arena.length * 2);
      next.set(arena);
      arena = next;
    }
    arena.set(c, bytes);
    ends.push(bytes + c.length);
    bytes += c.length;
  }
  // Chunks as views into one buffer, as a segment reader hands them out.
  const chunks: Uint8Array[] = [];
  for (let s = 0; s < SERIES; s++) chunks.push(arena.subarray(s === 0 ? 0 : ends[s - 1]!, ends[s]!));
  return { ts, hi, lo, chunks, total, bytes };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function bench(name: string, total: number, fn: () => number): number {
  let sink = 0;
  // Warm up, and size a run to about 300 ms so timer and GC noise stay small.
  const w0 = process.hrtime.bigint();
  for (let i = 0; i < 3; i++) sink += fn();
  const once = Number(process.hrtime.bigint() - w0) / 3;
  const reps = Math.max(1, Math.round(300e6 / once));
  const rates: number[] = [];
  const cpuRates: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    for (let r = 0; r < reps; r++) sink += fn();
    const ns = Number(process.hrtime.bigint() - t0);
    const cpu = process.cpuUsage(c0);
    rates.push((total * reps) / (ns / 1e9));
    cpuRates.push((total * reps) / ((cpu.user + cpu.system) / 1e6));
  }
  const m = median(rates);
  const fmt = (x: number): string => (x / 1e6).toFixed(1);
  console.log(
    `${name.padEnd(22)} ${fmt(m).padStart(6)} M samples/s wall (min ${fmt(Math.min(...rates))}, max ${fmt(Math.max(...rates))}), ${fmt(median(cpuRates)).padStart(6)} per CPU-second  [${sink % 7}]`,
  );
  return m;
}

function main(): void {
  const d = build();
  console.log(
    `${SERIES} series × ${PER_SERIES} samples = ${d.total} samples, ${d.bytes} bytes (${(d.bytes / d.total).toFixed(2)} B/sample)`,
  );
  const { chunks, ts, hi, lo } = d;
  const outT = new Float64Array(PER_SERIES);
  const outHi = new Uint32Array(PER_SERIES);
  const outLo = new Uint32Array(PER_SERIES);

  // Verify once before timing.
  for (let s = 0; s < chunks.length; s++) {
    const n = decodeXorInto(chunks[s]!, outT, outHi, outLo);
    for (let i = 0; i < n; i++) {
      const k = s * PER_SERIES + i;
      if (outT[i] !== ts[k] || outHi[i] !== hi[k] || outLo[i] !== lo[k]) throw new Error('mismatch');
    }
  }

  const dec = bench('decode (decodeXorInto)', d.total, () => {
    let acc = 0;
    for (let s = 0; s < chunks.length; s++) {
      const n = decodeXorInto(chunks[s]!, outT, outHi, outLo);
      acc += n + outHi[n - 1]!;
    }
    return acc;
  });

  const it = new XorIterator();
  bench('decode (XorIterator)', d.total, () => {
    let acc = 0;
    for (let s = 0; s < chunks.length; s++) {
      it.reset(chunks[s]!);
      while (it.next()) acc += it.vLo & 1;
    }
    return acc;
  });

  const app = new XorAppender(1024);
  const enc = bench('encode (appendBits)', d.total, () => {
    let acc = 0;
    for (let s = 0; s < SERIES; s++) {
      app.reset();
      const base = s * PER_SERIES;
      for (let i = 0; i < PER_SERIES; i++) {
        const k = base + i;
        app.appendBits(ts[k]!, hi[k]!, lo[k]!);
      }
      acc += app.bytes().length;
    }
    return acc;
  });

  const bulk = bench('encode (appendRange)', d.total, () => {
    let acc = 0;
    for (let s = 0; s < SERIES; s++) {
      app.reset();
      app.appendRange(ts, hi, lo, s * PER_SERIES, (s + 1) * PER_SERIES);
      acc += app.bytes().length;
    }
    return acc;
  });

  console.log(
    `targets: decode >= 50 M/s ${dec >= 50e6 ? 'OK' : 'MISSED'}, encode >= 25 M/s ${Math.max(enc, bulk) >= 25e6 ? 'OK' : 'MISSED'}`,
  );
}

main();
