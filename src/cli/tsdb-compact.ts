/** `strata tsdb compact --out DIR BLOCK...`: the last stdout line is one JSON object. */
import { compactBlocks } from '../tsdb/compact/compact.js';
import type { DedupMode } from '../tsdb/samples/dedup.js';
import { InvalidArgumentError, StrataError } from '../util/errors.js';
import { prepareDir } from '../util/dirs.js';
import { blockDirsOf } from './paths.js';

export interface CompactCliOptions {
  out: string;
  dedup: string;
  replicaLabel: string[];
  maxSamplesPerChunk: number;
  /** light (default) or full. */
  verify?: string;
}

export async function runCompact(
  inputs: readonly string[],
  o: CompactCliOptions,
  out: NodeJS.WritableStream,
): Promise<void> {
  if (o.dedup !== 'exact' && o.dedup !== 'penalty') {
    throw new InvalidArgumentError(`--dedup must be exact or penalty, not "${o.dedup}"`);
  }
  if (o.maxSamplesPerChunk < 1 || o.maxSamplesPerChunk > 65535) {
    throw new InvalidArgumentError('--max-samples-per-chunk must be between 1 and 65535');
  }
  const verify = o.verify ?? 'light';
  if (verify !== 'light' && verify !== 'full') {
    throw new InvalidArgumentError(`--verify must be light or full, not "${verify}"`);
  }
  const dirs = await blockDirsOf(inputs);
  if (dirs.length === 0) throw new StrataError('ERR_NOT_FOUND', `no blocks in ${inputs.join(', ')}`);
  await prepareDir(o.out, '--out');
  const r = await compactBlocks(dirs, o.out, {
    dedup: o.dedup as DedupMode,
    replicaLabels: o.replicaLabel,
    maxSamplesPerChunk: o.maxSamplesPerChunk,
    verify,
  });
  if (r.ulid === undefined) out.write('compaction result is empty: no block written\n');
  out.write(
    JSON.stringify({
      ulid: r.ulid ?? null,
      duration_ms: Math.round(r.durationMs),
      input_blocks: r.inputBlocks,
      input_samples: r.inputSamples,
      output_samples: r.outputSamples,
      series: r.series,
      chunks: r.chunks,
      bytes_read: r.bytesRead,
      bytes_written: r.bytesWritten,
      peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
    }) + '\n',
  );
}
