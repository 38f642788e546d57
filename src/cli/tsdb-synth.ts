/** `strata tsdb synth`. */
import { writeSynthBlocks } from '../tsdb/synth/write.js';
import { prepareDir } from '../util/dirs.js';

export interface SynthCliOptions {
  out: string;
  series: number;
  hours: number;
  tenants: number;
  replicas: number;
  seed: number;
  histograms?: number;
  startTime?: number;
}

export async function runSynth(o: SynthCliOptions, out: NodeJS.WritableStream): Promise<void> {
  await prepareDir(o.out, '--out');
  const tenants = Array.from({ length: o.tenants }, (_, i) => `tenant-${i + 1}`);
  const startMs = o.startTime ?? Date.now() - o.hours * 3600_000;
  const blocks = await writeSynthBlocks({
    outDir: o.out,
    series: o.series,
    hours: o.hours,
    seed: o.seed,
    startMs,
    tenants,
    replicas: o.replicas,
    histograms: o.histograms ?? 0,
  });
  const samples = blocks.reduce((a, b) => a + b.meta.stats.numSamples, 0);
  out.write(`wrote ${blocks.length} blocks (${samples} samples) to ${o.out}\n`);
}
