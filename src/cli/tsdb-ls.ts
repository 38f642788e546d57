/** `strata tsdb ls DIR`. */
import { blockFiles } from '../tsdb/block/files.js';
import { blockDirsOfOne } from './paths.js';
import { readMetaFile } from '../tsdb/meta.js';
import { formatBytes, formatTable } from './output.js';

export async function runLs(dir: string, o: { human: boolean }, out: NodeJS.WritableStream): Promise<void> {
  const rows: string[][] = [];
  for (const d of await blockDirsOfOne(dir)) {
    const m = await readMetaFile(d);
    const size = (await blockFiles(d)).reduce((a, f) => a + f.size, 0);
    const t = (ms: number): string => (o.human ? new Date(ms).toISOString() : String(ms));
    rows.push([
      m.ulid,
      t(m.minTime),
      t(m.maxTime),
      String(m.compaction.level),
      String(m.stats.numSamples),
      String(m.stats.numChunks),
      String(m.stats.numSeries),
      o.human ? formatBytes(size) : String(size),
    ]);
  }
  out.write(
    formatTable(['ULID', 'MIN TIME', 'MAX TIME', 'LEVEL', 'SAMPLES', 'CHUNKS', 'SERIES', 'SIZE'], rows),
  );
}
