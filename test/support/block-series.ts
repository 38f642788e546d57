/** Every series of a local block as plain arrays: raw samples, or one aggregate of a 5m/1h block. */
import { BlockReader } from '../../src/tsdb/block/reader.js';
import { decodeChunkInto } from '../../src/tsdb/chunkenc/chunk.js';
import { readAggregate, type AggrType } from '../../src/tsdb/downsample/aggr-chunk.js';
import { formatLabels } from '../../src/tsdb/labels.js';
import { SampleBuf } from '../../src/tsdb/samples/sample-buf.js';

export interface PlainSeries {
  ts: number[];
  vs: number[];
}

/** labels (Prometheus text form) → samples. */
export type BlockSeries = Map<string, PlainSeries>;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function valueAt(b: SampleBuf, i: number): number {
  u32[1] = b.hi[i]!;
  u32[0] = b.lo[i]!;
  return f64[0]!;
}

/**
 * Every series' samples (raw block), or the `aggr` aggregate's (downsampled block). Throws when a
 * chunk lacks the aggregate.
 */
export async function readBlockSeries(dir: string, aggr?: AggrType): Promise<BlockSeries> {
  const b = await BlockReader.open(dir);
  const out: BlockSeries = new Map();
  const buf = new SampleBuf();
  try {
    for await (const s of b.index.seriesIterator()) {
      const e: PlainSeries = { ts: [], vs: [] };
      for (const m of s.chunks) {
        const c = await b.chunks.read(m.ref);
        if (aggr === undefined) decodeChunkInto(c, buf, dir);
        else if (!readAggregate(c.data, aggr, buf, dir, c.dataOffset))
          throw new Error(`${dir}: a chunk of ${formatLabels(s.labels)} has no aggregate ${aggr}`);
        for (let i = 0; i < buf.len; i++) {
          e.ts.push(buf.ts[i]!);
          e.vs.push(valueAt(buf, i));
        }
      }
      out.set(formatLabels(s.labels), e);
    }
  } finally {
    await b.close();
  }
  return out;
}
