/**
 * Store API chunks (AggrChunk) from the chunks a Series request returns: raw chunks go in `raw`;
 * an aggregated chunk of a downsampled block (0xff) is split and the sub-chunks of the requested
 * aggregates go, as stored, into count/sum/min/max/counter (Thanos' populateChunk). A requested
 * aggregate the chunk does not hold fails the request (ERR_STORE_AGGREGATE_MISSING), as in
 * Thanos; RAW in the list is ignored for aggregated chunks, and an empty list sends none.
 */
import { create } from '@bufbuild/protobuf';
import { Aggr } from '../../gen/thanos/store/storepb/rpc_pb.js';
import {
  AggrChunkSchema,
  ChunkSchema,
  type AggrChunk,
  type Chunk,
} from '../../gen/thanos/store/storepb/types_pb.js';
import { AGGR_NAMES, AggrParts, splitAggrChunk, type AggrType } from '../tsdb/downsample/index.js';
import { FormatError, StrataError } from '../util/errors.js';
import type { OutChunk } from './merge.js';

/** Local aggregate index (count 0 … counter 4) of a wire Aggr other than RAW. */
function localAggr(a: Aggr): AggrType | undefined {
  return a >= Aggr.COUNT && a <= Aggr.COUNTER ? ((a - 1) as AggrType) : undefined;
}

/** Reused across the chunks of one request (synchronous). */
export class AggrChunkBuilder {
  private readonly parts = new AggrParts();
  private readonly wanted: AggrType[];

  constructor(aggregates: readonly Aggr[]) {
    const set = new Set<AggrType>();
    for (const a of aggregates) {
      const l = localAggr(a);
      if (l !== undefined) set.add(l);
    }
    this.wanted = [...set];
  }

  build(c: OutChunk, where: string): AggrChunk {
    const out = create(AggrChunkSchema, { minTime: BigInt(c.minTime), maxTime: BigInt(c.maxTime) });
    if (c.aggregated !== true) {
      out.raw = create(ChunkSchema, { type: c.type, data: c.data });
      return out;
    }
    splitAggrChunk(c.data, this.parts, where, 0);
    for (const a of this.wanted) {
      if (!this.parts.has(a)) {
        throw new StrataError(
          'ERR_STORE_AGGREGATE_MISSING',
          `${where}: aggregated chunk [${c.minTime}, ${c.maxTime}] has no ${AGGR_NAMES[a]} aggregate`,
        );
      }
      const enc = this.parts.enc[a]!;
      if (enc < 1 || enc > 3) {
        throw new FormatError(
          'ERR_TSDB_UNKNOWN_ENCODING',
          where,
          0,
          `aggregated chunk: ${AGGR_NAMES[a]} sub-chunk encoding ${enc} cannot be served`,
        );
      }
      const chunk: Chunk = create(ChunkSchema, {
        type: enc - 1,
        data: c.data.subarray(this.parts.start[a]!, this.parts.end[a]!),
      });
      switch (a) {
        case 0:
          out.count = chunk;
          break;
        case 1:
          out.sum = chunk;
          break;
        case 2:
          out.min = chunk;
          break;
        case 3:
          out.max = chunk;
          break;
        default:
          out.counter = chunk;
      }
    }
    return out;
  }
}
