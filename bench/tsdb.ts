/**
 * Block format throughput (`npm run bench`): on a synthetic block of >= 1M samples written by
 * Strata's own writer, prints XOR decode and encode samples/s, block write and read MB/s, and
 * `strata tsdb dump` against `promtool tsdb dump` of the same block, side by side in one run; and
 * native histogram chunk decode/encode samples/s (bench/histogram-codec.ts; the XOR decode figure
 * of the same run is their anchor). Args: [--series N] (default 2500 → ~1.2M samples in one 2h
 * block) [--runs N] [--hist-series N] (default 1000 histogram series × 240 samples).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSynthBlocks } from '../src/tsdb/synth/write.js';
import { BlockReader } from '../src/tsdb/block/reader.js';
import { blockFiles } from '../src/tsdb/block/files.js';
import { XorAppender, decodeXorInto } from '../src/tsdb/chunkenc/xor.js';
import { SampleBuf } from '../src/tsdb/samples/sample-buf.js';
import { decodeChunkInto } from '../src/tsdb/chunkenc/chunk.js';
import { benchHistogramCodecs } from './histogram-codec.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const SERIES = arg('--series', 2500);
const RUNS = arg('--runs', 5);
const CODEC_WARMUP = 5;
const CODEC_RUNS = arg('--codec-runs', 25);
const HIST_SERIES = arg('--hist-series', 1000);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function fmt(n: number, unit: string): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M ${unit}` : `${(n / 1e3).toFixed(1)}k ${unit}`;
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'strata-bench-tsdb-'));
  try {
    // Write.
    const writeTimes: number[] = [];
    let dir = '';
    let samples = 0;
    let bytes = 0;
    for (let r = 0; r < Math.max(1, Math.min(RUNS, 3)); r++) {
      const out = join(root, `w${r}`);
      const t0 = performance.now();
      const blocks = await writeSynthBlocks({
        outDir: out,
        series: SERIES,
        hours: 2,
        seed: 7,
        startMs: 1_700_006_400_000,
      });
      writeTimes.push(performance.now() - t0);
      dir = blocks[0]!.dir;
      samples = blocks[0]!.meta.stats.numSamples;
      bytes = (await blockFiles(dir)).reduce((a, f) => a + f.size, 0);
    }
    // Includes generating the synthetic samples, so it understates the writer alone.
    const writeMs = median(writeTimes);

    // Read: every series, every chunk read (CRC checked) and decoded.
    const readTimes: number[] = [];
    const chunks: Uint8Array[] = [];
    for (let r = 0; r < RUNS; r++) {
      const t0 = performance.now();
      const br = await BlockReader.open(dir);
      const buf = new SampleBuf();
      for await (const s of br.index.seriesIterator()) {
        for (const m of s.chunks) {
          const c = await br.chunks.read(m.ref);
          decodeChunkInto(c, buf, dir);
          if (r === 0) chunks.push(new Uint8Array(c.data)); // a copy: Buffer#slice would be a view
        }
      }
      await br.close();
      readTimes.push(performance.now() - t0);
    }
    const readMs = median(readTimes);

    // XOR decode / encode on the block's own chunks.
    const ts = new Float64Array(65535);
    const hi = new Uint32Array(65535);
    const lo = new Uint32Array(65535);
    const app = new XorAppender();
    // Codec passes are ~30 ms: many of them, after a warm-up that lets the JIT settle.
    const passes = (body: () => void): { med: number; best: number } => {
      const times: number[] = [];
      for (let r = 0; r < CODEC_WARMUP + CODEC_RUNS; r++) {
        const t0 = performance.now();
        body();
        if (r >= CODEC_WARMUP) times.push(Math.max(0.001, performance.now() - t0));
      }
      return { med: median(times), best: Math.min(...times) };
    };
    let decoded = 0;
    const dec = passes(() => {
      decoded = 0;
      for (const c of chunks) decoded += decodeXorInto(c, ts, hi, lo);
    });
    if (decoded !== samples) throw new Error(`decoded ${decoded} samples, block has ${samples}`);

    // Encode from samples decoded once beforehand, so the pass times the encoder alone.
    const allT = new Float64Array(samples);
    const allH = new Uint32Array(samples);
    const allL = new Uint32Array(samples);
    const starts: number[] = [0];
    for (const c of chunks) {
      const k = decodeXorInto(c, ts, hi, lo);
      const at = starts[starts.length - 1]!;
      allT.set(ts.subarray(0, k), at);
      allH.set(hi.subarray(0, k), at);
      allL.set(lo.subarray(0, k), at);
      starts.push(at + k);
    }
    // appendRange: the bulk API compaction re-encodes with (encodeXorChunks).
    const enc = passes(() => {
      for (let j = 0; j < chunks.length; j++) {
        app.reset();
        app.appendRange(allT, allH, allL, starts[j]!, starts[j + 1]!);
        app.bytes();
      }
    });
    // The re-encoded chunks are the original bytes (as the interop tests assert for promtool's).
    for (let j = 0; j < chunks.length; j += 97) {
      app.reset();
      app.appendRange(allT, allH, allL, starts[j]!, starts[j + 1]!);
      if (!Buffer.from(app.bytes()).equals(Buffer.from(chunks[j]!)))
        throw new Error(`chunk ${j} re-encoded differently`);
    }

    // The hard part of the block: chunks above 4 bytes per sample (gauges whose values change in
    // most mantissa bits every scrape), decoded on their own.
    const hard = chunks.filter((c) => c.length > 4 * ((c[0]! << 8) | c[1]!));
    let hardSamples = 0;
    let hardBytes = 0;
    for (const c of hard) {
      hardSamples += (c[0]! << 8) | c[1]!;
      hardBytes += c.length;
    }
    const hardDec = passes(() => {
      for (const c of hard) decodeXorInto(c, ts, hi, lo);
    });

    // Native histogram chunks (synthetic latency histograms; no block needed).
    const hist = benchHistogramCodecs(HIST_SERIES);

    // dump: Strata vs promtool on the same block (promtool needs <dir>/wal).
    const dbDir = join(dir, '..');
    mkdirSync(join(dbDir, 'wal'), { recursive: true });
    const strataBin = join(process.cwd(), 'bin', 'strata.js');
    const timeCmd = (cmd: string, args: string[]): number => {
      const t0 = performance.now();
      const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 20 });
      if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr.toString()}`);
      return performance.now() - t0;
    };
    const promT: number[] = [];
    const strT: number[] = [];
    for (let r = 0; r < Math.max(3, Math.min(RUNS, 5)); r++) {
      promT.push(timeCmd('promtool', ['tsdb', 'dump', dbDir]));
      strT.push(timeCmd(process.execPath, [strataBin, 'tsdb', 'dump', dbDir]));
    }
    const promMs = median(promT);
    const strMs = median(strT);
    const promVersion = execFileSync('promtool', ['--version']).toString().split('\n')[0];

    const MB = 1024 * 1024;
    console.log(
      `block: ${samples} samples, ${SERIES} series, ${chunks.length} chunks, ${(bytes / MB).toFixed(1)} MiB (${(bytes / samples).toFixed(2)} B/sample)`,
    );
    console.log(
      `runs: median of ${RUNS} (codec: median of ${CODEC_RUNS} passes after ${CODEC_WARMUP} warm-up passes); node ${process.version}; ${promVersion}`,
    );
    console.log('');
    console.log('measure                      figure            target');
    const rate = (n: number, ms: number): string => fmt(n / (ms / 1000), 'samples/s');
    console.log(
      `XOR decode                   ${rate(samples, dec.med).padEnd(18)}>= 50M samples/s   (best pass ${rate(samples, dec.best)})`,
    );
    console.log(
      `  chunks above 4 B/sample    ${rate(hardSamples, hardDec.med).padEnd(18)}(${((100 * hardSamples) / samples).toFixed(0)}% of the samples, ${(hardBytes / Math.max(1, hardSamples)).toFixed(2)} B/sample; best pass ${rate(hardSamples, hardDec.best)})`,
    );
    console.log(
      `XOR encode                   ${rate(samples, enc.med).padEnd(18)}>= 25M samples/s   (best pass ${rate(samples, enc.best)})`,
    );
    console.log(
      `block write (synth+encode)   ${(bytes / MB / (writeMs / 1000)).toFixed(1).padEnd(5)} MB/s          (${fmt(samples / (writeMs / 1000), 'samples/s')})`,
    );
    console.log(
      `block read (CRC + decode)    ${(bytes / MB / (readMs / 1000)).toFixed(1).padEnd(5)} MB/s          (${fmt(samples / (readMs / 1000), 'samples/s')})`,
    );
    const xorRate = samples / (dec.med / 1000);
    console.log(
      `histogram chunks: ${hist.samples} samples, ${hist.chunks} chunks, ${hist.buckets.toFixed(1)} buckets/sample, ${hist.bytesPerSample.toFixed(1)} B/sample (integer)`,
    );
    for (const [name, v] of [
      ['histogram decode', hist.intDecode],
      ['histogram encode', hist.intEncode],
      ['float histogram decode', hist.floatDecode],
      ['float histogram encode', hist.floatEncode],
    ] as const) {
      console.log(
        `${name.padEnd(29)}${fmt(v, 'samples/s').padEnd(18)}(${((100 * v) / xorRate).toFixed(1)}% of XOR decode)`,
      );
    }
    console.log('');
    console.log('dump of the same block       wall ms   ratio (strata / promtool; <= 1.0 is the target)');
    console.log(`promtool tsdb dump           ${promMs.toFixed(0).padEnd(10)}1.00`);
    console.log(`strata tsdb dump             ${strMs.toFixed(0).padEnd(10)}${(strMs / promMs).toFixed(2)}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
