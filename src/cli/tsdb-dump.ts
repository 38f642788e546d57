/**
 * `strata tsdb dump PATH`: the line format of `promtool tsdb dump`: `{labels} value ts` for
 * floats, `{labels} <histogram String()> ts` for native histograms (promtool since v2.48; every
 * sample, as promtool after prometheus#18051, which fixed the first samples of histogram series
 * being skipped).
 */
import { openBlocks, closeBlocks } from '../tsdb/block/reader.js';
import { parseSelector } from '../tsdb/index/matchers.js';
import { querySeries } from '../tsdb/query.js';
import { formatLabels } from '../tsdb/labels.js';
import { formatGoFloat } from '../tsdb/goformat.js';
import { bitsToFloat } from '../tsdb/chunkenc/float-bits.js';
import { formatHistogram } from '../tsdb/histogram/format.js';
import { BufferedOut } from './output.js';
import { blockDirsOfOne } from './paths.js';
import { dumpAggregated, isDownsampledBlock, parseAggregateOption } from './tsdb-dump-aggr.js';

export interface DumpOptions {
  match?: string;
  minTime?: number;
  maxTime?: number;
  /** Downsampled blocks: print only this aggregate (count, sum, min, max, counter). */
  aggregate?: string;
}

export async function runDump(path: string, o: DumpOptions, stdout: NodeJS.WritableStream): Promise<void> {
  const matchers = o.match ? parseSelector(o.match) : [];
  parseAggregateOption(o.aggregate);
  const blocks = await openBlocks(await blockDirsOfOne(path));
  const out = new BufferedOut(stdout);
  try {
    // Downsampled blocks hold aggregated chunks: printed per aggregate (tsdb-dump-aggr.ts).
    const aggregated = blocks.filter(isDownsampledBlock);
    if (aggregated.length > 0) await dumpAggregated(aggregated, { ...o, matchers }, out);
    const raw = blocks.filter((b) => !isDownsampledBlock(b));
    for await (const s of querySeries(raw, { matchers, minTime: o.minTime, maxTime: o.maxTime })) {
      const prefix = formatLabels(s.labels) + ' ';
      const b = s.samples;
      const hs = s.histograms;
      for (let i = 0; i < b.len; i++) {
        const h = hs.length > 0 ? hs[i] : undefined;
        const v = h ? formatHistogram(h) : formatGoFloat(bitsToFloat(b.hi[i]!, b.lo[i]!));
        await out.write(prefix + v + ' ' + b.ts[i]! + '\n');
      }
    }
    await out.flush();
  } finally {
    await closeBlocks(blocks);
  }
}
