/**
 * Fetcher metrics (names follow Thanos' blocks_meta_* family with a strata_ prefix). One set per
 * Registry, shared by every fetcher registered on it, so tests and multi-fetcher processes do not
 * trip over duplicate registration.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { BUCKET_OPERATIONS } from '../../objstore/bucket.js';
import type { OperationCounts } from '../../objstore/instrumented.js';
import { BAD_INPUT_KINDS, SYNC_STATES, type BadInputKind, type StateCounts } from './types.js';

export interface FetcherMetrics {
  readonly syncs: Counter;
  readonly syncFailures: Counter;
  readonly syncDuration: Histogram;
  readonly synced: Gauge<'state'>;
  readonly badInput: Counter<'kind'>;
  readonly metaReads: Counter<'source'>;
  readonly requests: Counter<'operation'>;
  readonly checkpointWrites: Counter<'result'>;
  readonly checkpointBytes: Gauge;
  readonly tenants: Gauge;
}

const byRegistry = new WeakMap<Registry, FetcherMetrics>();

export function fetcherMetrics(registry: Registry): FetcherMetrics {
  const hit = byRegistry.get(registry);
  if (hit) return hit;
  const registers = [registry];
  const m: FetcherMetrics = {
    syncs: new Counter({
      name: 'strata_blocks_meta_syncs_total',
      help: 'Block metadata synchronizations started.',
      registers,
    }),
    syncFailures: new Counter({
      name: 'strata_blocks_meta_sync_failures_total',
      help: 'Block metadata synchronizations that failed for at least one tenant.',
      registers,
    }),
    syncDuration: new Histogram({
      name: 'strata_blocks_meta_sync_duration_seconds',
      help: 'Duration of a block metadata synchronization.',
      buckets: [0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 600, 1800, 3600],
      registers,
    }),
    synced: new Gauge({
      name: 'strata_blocks_meta_synced',
      help: 'Blocks seen by the last synchronization, by state, summed over tenants.',
      labelNames: ['state'],
      registers,
    }),
    badInput: new Counter({
      name: 'strata_blocks_meta_bad_input_total',
      help: 'Bad input skipped by the fetcher (corrupt meta.json, garbage keys, bad markers...).',
      labelNames: ['kind'],
      registers,
    }),
    metaReads: new Counter({
      name: 'strata_blocks_meta_reads_total',
      help: 'meta.json files loaded, by source (bucket or local cache).',
      labelNames: ['source'],
      registers,
    }),
    requests: new Counter({
      name: 'strata_blocks_meta_requests_total',
      help: 'Object storage calls made by the fetcher, by operation.',
      labelNames: ['operation'],
      registers,
    }),
    checkpointWrites: new Counter({
      name: 'strata_blocks_meta_checkpoint_writes_total',
      help: 'Checkpoint writes, by result.',
      labelNames: ['result'],
      registers,
    }),
    checkpointBytes: new Gauge({
      name: 'strata_blocks_meta_checkpoint_size_bytes',
      help: 'Size of the last checkpoint written.',
      registers,
    }),
    tenants: new Gauge({
      name: 'strata_blocks_meta_tenants',
      help: 'Tenants seen by the last synchronization.',
      registers,
    }),
  };
  for (const s of SYNC_STATES) m.synced.set({ state: s }, 0);
  for (const k of BAD_INPUT_KINDS) m.badInput.inc({ kind: k }, 0);
  for (const op of BUCKET_OPERATIONS) m.requests.inc({ operation: op }, 0);
  for (const src of ['bucket', 'cache']) m.metaReads.inc({ source: src }, 0);
  for (const r of ['ok', 'error']) m.checkpointWrites.inc({ result: r }, 0);
  byRegistry.set(registry, m);
  return m;
}

export function recordSynced(m: FetcherMetrics, counts: StateCounts): void {
  for (const s of SYNC_STATES) m.synced.set({ state: s }, counts[s]);
}

export function recordRequests(m: FetcherMetrics, counts: OperationCounts): void {
  for (const op of BUCKET_OPERATIONS) if (counts[op] > 0) m.requests.inc({ operation: op }, counts[op]);
}

export function recordBadInput(m: FetcherMetrics, kind: BadInputKind, n = 1): void {
  m.badInput.inc({ kind }, n);
}
