/**
 * `strata tsdb synth`: realistic blocks written with Strata's own writer, cut into 2h blocks
 * aligned like Prometheus' head blocks. Optional tenants (Cortex layout `<out>/<tenant>/<ULID>`)
 * and HA replicas (Thanos external labels `replica`, scrapes offset by a few seconds). With
 * `histograms`, native histogram series too (native-histograms.ts: latency counters with resets and
 * growing layouts, gauges), encoded as integer histogram chunks (encoding 2).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BlockWriter } from '../block/writer.js';
import type { BlockMeta } from '../meta.js';
import { SampleBuf } from '../samples/sample-buf.js';
import { XorAppender } from '../chunkenc/xor.js';
import { encodeXorChunks } from '../chunkenc/encode.js';
import { seededRandom, ulidSource } from '../ulid.js';
import { synthSamples, synthSeries, type SynthSeries } from './series.js';
import { encodeHistogramChunks, SplitEvery } from '../chunkenc/histogram.js';
import { compareLabels, labelsFromRecord, type Labels } from '../labels.js';
import { histogramSpec, synthHistogramSamples, type HistogramSeriesSpec } from './native-histograms.js';

export const BLOCK_RANGE_MS = 2 * 3600_000;

export interface SynthWriteOptions {
  outDir: string;
  series: number;
  hours: number;
  seed: number;
  /** Start of the first block (rounded down to 2h). */
  startMs: number;
  /** Tenant names; empty = single-tenant layout directly in outDir. */
  tenants?: readonly string[];
  /** HA replicas per tenant (external label `replica`); 0 = no external labels. */
  replicas?: number;
  /** Native histogram series per tenant and replica (default 0). */
  histograms?: number;
  /** Samples per chunk (Prometheus cuts at 120). */
  samplesPerChunk?: number;
  blockRangeMs?: number;
  onBlock?: (dir: string, meta: BlockMeta) => void;
}

export interface SynthBlock {
  tenant: string;
  dir: string;
  meta: BlockMeta;
}

export async function writeSynthBlocks(opts: SynthWriteOptions): Promise<SynthBlock[]> {
  const range = opts.blockRangeMs ?? BLOCK_RANGE_MS;
  const start = Math.floor(opts.startMs / range) * range;
  const end = start + Math.ceil((opts.hours * 3600_000) / range) * range;
  const tenants = opts.tenants?.length ? opts.tenants : [''];
  const replicas = opts.replicas ?? 0;
  const ulids = ulidSource(seededRandom(opts.seed));
  const out: SynthBlock[] = [];
  for (let ti = 0; ti < tenants.length; ti++) {
    const tenant = tenants[ti]!;
    const dir = tenant ? join(opts.outDir, tenant) : opts.outDir;
    await mkdir(dir, { recursive: true });
    const tenantSeed = opts.seed + ti * 7919;
    for (let r = 0; r < Math.max(1, replicas); r++) {
      const series = synthSeries({
        seed: tenantSeed,
        series: opts.series,
        startMs: start,
        endMs: end,
        ...(tenant ? { extraLabels: { tenant_job: tenant } } : {}),
      });
      const hists = histogramSeries(tenantSeed, opts.histograms ?? 0, tenant);
      const labels: Record<string, string> =
        replicas > 0 ? { cluster: tenant || 'main', replica: `r${r}` } : {};
      for (let w = start; w < end; w += range) {
        const meta = await writeWindow(
          dir,
          series,
          hists,
          tenantSeed,
          r,
          w,
          w + range,
          labels,
          ulids,
          opts.samplesPerChunk,
        );
        if (meta) {
          out.push({ tenant, dir: join(dir, meta.ulid), meta });
          opts.onBlock?.(join(dir, meta.ulid), meta);
        }
      }
    }
  }
  return out;
}

async function writeWindow(
  dir: string,
  series: readonly SynthSeries[],
  hists: readonly HistSeries[],
  seed: number,
  replica: number,
  mint: number,
  maxt: number,
  extLabels: Record<string, string>,
  ulids: (t?: number) => string,
  samplesPerChunk = 120,
): Promise<BlockMeta | undefined> {
  const symbols = new Set<string>();
  for (const s of series) for (const l of s.labels) symbols.add(l.name).add(l.value);
  for (const s of hists) for (const l of s.labels) symbols.add(l.name).add(l.value);
  const w = await BlockWriter.create(dir, {
    symbols,
    ulid: ulids(maxt),
    minTime: mint,
    maxTime: maxt,
    thanos: { labels: extLabels, downsample: { resolution: 0 }, source: 'sidecar' },
  });
  const buf = new SampleBuf(1024);
  const app = new XorAppender();
  try {
    // Float and histogram series interleaved in label order, as the index requires.
    let h = 0;
    const writeHists = async (before: Labels | undefined): Promise<void> => {
      for (; h < hists.length && (before === undefined || compareLabels(hists[h]!.labels, before) < 0); h++) {
        const s = hists[h]!;
        const spec =
          replica === 0 ? s.spec : { ...s.spec, offset: (s.spec.offset + replica * 2_500) % 15_000 };
        const { ts, hs } = synthHistogramSamples(spec, mint, maxt);
        if (ts.length > 0)
          await w.addSeries(s.labels, encodeHistogramChunks(ts, hs, new SplitEvery(samplesPerChunk)));
      }
    };
    for (const s of series) {
      await writeHists(s.labels);
      // Replicas scrape the same targets a few seconds apart.
      const shifted = replica === 0 ? s : { ...s, offset: (s.offset + replica * 2_500) % 15_000 };
      synthSamples(seed, shifted, mint, maxt, buf);
      if (buf.len === 0) continue;
      await w.addSeries(s.labels, encodeXorChunks(buf, samplesPerChunk, app));
    }
    await writeHists(undefined);
    return (await w.finish())?.meta;
  } catch (err) {
    await w.abort();
    throw err;
  }
}

interface HistSeries {
  labels: Labels;
  spec: HistogramSeriesSpec;
}

/** `n` native histogram series (every fifth a gauge), sorted by labels. */
function histogramSeries(seed: number, n: number, tenant: string): HistSeries[] {
  const out: HistSeries[] = [];
  for (let i = 0; i < n; i++) {
    const spec = histogramSpec(seed, i);
    const name = spec.kind === 'gauge' ? 'synth_native_gauge' : 'synth_native_latency_seconds';
    const labels = labelsFromRecord({
      __name__: name,
      instance: `hist-${i}`,
      ...(tenant ? { tenant_job: tenant } : {}),
    });
    out.push({ labels, spec });
  }
  return out.sort((a, b) => compareLabels(a.labels, b.labels));
}
