/**
 * `strata tsdb synth`: realistic blocks written with Strata's own writer, cut into 2h blocks
 * aligned like Prometheus' head blocks. Optional tenants (Cortex layout `<out>/<tenant>/<ULID>`)
 * and HA replicas (Thanos external labels `replica`, scrapes offset by a few seconds).
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
      const labels: Record<string, string> =
        replicas > 0 ? { cluster: tenant || 'main', replica: `r${r}` } : {};
      for (let w = start; w < end; w += range) {
        const meta = await writeWindow(
          dir,
          series,
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
    for (const s of series) {
      // Replicas scrape the same targets a few seconds apart.
      const shifted = replica === 0 ? s : { ...s, offset: (s.offset + replica * 2_500) % 15_000 };
      synthSamples(seed, shifted, mint, maxt, buf);
      if (buf.len === 0) continue;
      await w.addSeries(s.labels, encodeXorChunks(buf, samplesPerChunk, app));
    }
    return (await w.finish())?.meta;
  } catch (err) {
    await w.abort();
    throw err;
  }
}
