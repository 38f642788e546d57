/** `strata tsdb dump PATH`: the line format of `promtool tsdb dump`. */
import { openBlocks, closeBlocks } from '../tsdb/block/reader.js';
import { parseSelector } from '../tsdb/index/matchers.js';
import { querySeries } from '../tsdb/query.js';
import { formatLabels } from '../tsdb/labels.js';
import { formatGoFloat } from '../tsdb/goformat.js';
import { bitsToFloat } from '../tsdb/chunkenc/float-bits.js';
import { BufferedOut } from './output.js';
import { blockDirsOfOne } from './paths.js';

export interface DumpOptions {
  match?: string;
  minTime?: number;
  maxTime?: number;
}

export async function runDump(path: string, o: DumpOptions, stdout: NodeJS.WritableStream): Promise<void> {
  const matchers = o.match ? parseSelector(o.match) : [];
  const blocks = await openBlocks(await blockDirsOfOne(path));
  const out = new BufferedOut(stdout);
  try {
    for await (const s of querySeries(blocks, { matchers, minTime: o.minTime, maxTime: o.maxTime })) {
      const prefix = formatLabels(s.labels) + ' ';
      const b = s.samples;
      for (let i = 0; i < b.len; i++) {
        await out.write(prefix + formatGoFloat(bitsToFloat(b.hi[i]!, b.lo[i]!)) + ' ' + b.ts[i]! + '\n');
      }
    }
    await out.flush();
  } finally {
    await closeBlocks(blocks);
  }
}
