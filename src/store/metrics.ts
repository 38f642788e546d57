/** The store gateway's own metrics (the bucket's and the fetcher's register themselves). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface StoreMetrics {
  readonly requests: Counter<'method' | 'code'>;
  readonly duration: Histogram<'method'>;
  readonly seriesSent: Counter;
  readonly chunksSent: Counter;
  readonly chunksMerged: Counter;
  readonly blocksQueried: Counter<'resolution'>;
  readonly blocksLoaded: Gauge;
  readonly inFlight: Gauge;
}

export function storeMetrics(registry: Registry): StoreMetrics {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'strata_store_requests_total',
      help: 'Store API requests by method and gRPC code',
      labelNames: ['method', 'code'],
      registers,
    }),
    duration: new Histogram({
      name: 'strata_store_request_duration_seconds',
      help: 'Store API request latency (Series: until the last message was sent)',
      labelNames: ['method'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    seriesSent: new Counter({ name: 'strata_store_series_sent_total', help: 'Series sent', registers }),
    chunksSent: new Counter({ name: 'strata_store_chunks_sent_total', help: 'Chunks sent', registers }),
    chunksMerged: new Counter({
      name: 'strata_store_chunks_merged_total',
      help: 'Chunks decoded and merged because they overlapped another chunk of the same series',
      registers,
    }),
    blocksQueried: new Counter({
      name: 'strata_store_series_blocks_queried_total',
      help: 'Blocks read by Series requests, by downsampling resolution in ms (0: raw)',
      labelNames: ['resolution'],
      registers,
    }),
    blocksLoaded: new Gauge({ name: 'strata_store_blocks_loaded', help: 'Blocks served', registers }),
    inFlight: new Gauge({
      name: 'strata_store_series_requests_in_flight',
      help: 'Series requests holding a slot of --store.grpc.series-max-concurrency',
      registers,
    }),
  };
}
