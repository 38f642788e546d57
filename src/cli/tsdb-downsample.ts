/**
 * `strata tsdb downsample --resolution 5m|1h --out DIR BLOCK...`: Thanos-compatible downsampling
 * of local blocks (raw → 5m, 5m → 1h). One JSON object per input block on stdout.
 */
import { RES_1H, RES_5M, downsampleBlock } from '../tsdb/downsample/index.js';
import { InvalidArgumentError, StrataError } from '../util/errors.js';
import { prepareDir } from '../util/dirs.js';
import { blockDirsOf } from './paths.js';

export interface DownsampleCliOptions {
  resolution: string;
  out: string;
}

/** `5m` → 300000, `1h` → 3600000 (the only resolutions Thanos knows). */
export function parseResolution(s: string): number {
  if (s === '5m' || s === String(RES_5M)) return RES_5M;
  if (s === '1h' || s === String(RES_1H)) return RES_1H;
  throw new InvalidArgumentError(`--resolution must be 5m or 1h, not "${s}"`);
}

export async function runDownsample(
  inputs: readonly string[],
  o: DownsampleCliOptions,
  out: NodeJS.WritableStream,
): Promise<void> {
  const resolution = parseResolution(o.resolution);
  const dirs = await blockDirsOf(inputs);
  if (dirs.length === 0) throw new StrataError('ERR_NOT_FOUND', `no blocks in ${inputs.join(', ')}`);
  await prepareDir(o.out, '--out');
  for (const dir of dirs) {
    const cpu = process.cpuUsage();
    const r = await downsampleBlock(dir, o.out, { resolution });
    const used = process.cpuUsage(cpu);
    if (r.ulid === undefined) out.write(`downsampling ${dir} gave no samples: no block written\n`);
    out.write(
      JSON.stringify({
        ulid: r.ulid ?? null,
        source: dir,
        resolution,
        duration_ms: Math.round(r.durationMs),
        cpu_ms: Math.round((used.user + used.system) / 1000),
        input_series: r.inputSeries,
        input_chunks: r.inputChunks,
        input_samples: r.inputSamples,
        output_series: r.outputSeries,
        output_chunks: r.outputChunks,
        output_samples: r.outputSamples,
        peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
      }) + '\n',
    );
  }
}
