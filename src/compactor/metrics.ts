/** The compactor's Prometheus metrics, registered on a Registry passed in. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface CompactorMetrics {
  compactions: Counter<'tenant'>;
  compactionsFailed: Counter<'tenant' | 'kind'>;
  compactionDuration: Histogram;
  blocksMarked: Counter<'marker' | 'reason'>;
  blocksDeleted: Counter<'kind'>;
  bytesRead: Counter;
  bytesWritten: Counter;
  todoCompactions: Gauge<'tenant'>;
  todoCompactionBlocks: Gauge<'tenant'>;
  todoDeletionBlocks: Gauge<'tenant'>;
  runningPlans: Gauge;
  peakRunningPlans: Gauge;
  runningCompactions: Gauge;
  peakRunningCompactions: Gauge;
  iterations: Counter;
  lastSuccess: Gauge;
  downsampleDuration: Histogram;
  todoDownsampleBlocks: Gauge;
  retentionMarked: Counter<'resolution'>;
  retentionHeld: Gauge;
}

export function compactorMetrics(registry: Registry): CompactorMetrics {
  const r = [registry];
  return {
    compactions: new Counter({
      name: 'strata_compactions_total',
      help: 'Compaction plans completed.',
      labelNames: ['tenant'],
      registers: r,
    }),
    compactionsFailed: new Counter({
      name: 'strata_compactions_failed_total',
      help: 'Compaction plans that failed, by kind (bad-block, transient, failed).',
      labelNames: ['tenant', 'kind'],
      registers: r,
    }),
    compactionDuration: new Histogram({
      name: 'strata_compaction_duration_seconds',
      help: 'Time to execute one plan end to end (download, compact, upload, mark).',
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
      registers: r,
    }),
    blocksMarked: new Counter({
      name: 'strata_blocks_marked_total',
      help: 'Markers written, by marker (deletion, no-compact) and reason.',
      labelNames: ['marker', 'reason'],
      registers: r,
    }),
    blocksDeleted: new Counter({
      name: 'strata_blocks_cleaned_total',
      help: 'Blocks hard-deleted by the cleaner, by kind (marked, partial).',
      labelNames: ['kind'],
      registers: r,
    }),
    bytesRead: new Counter({
      name: 'strata_compaction_bytes_read_total',
      help: 'Bytes of input blocks compacted.',
      registers: r,
    }),
    bytesWritten: new Counter({
      name: 'strata_compaction_bytes_written_total',
      help: 'Bytes of output blocks written.',
      registers: r,
    }),
    todoCompactions: new Gauge({
      name: 'strata_compact_todo_compactions',
      help: 'Compactions left to reach the final levels (like thanos_compact_todo_compactions).',
      labelNames: ['tenant'],
      registers: r,
    }),
    todoCompactionBlocks: new Gauge({
      name: 'strata_compact_todo_compaction_blocks',
      help: 'Blocks still to be compacted (like thanos_compact_todo_compaction_blocks).',
      labelNames: ['tenant'],
      registers: r,
    }),
    todoDeletionBlocks: new Gauge({
      name: 'strata_compact_todo_deletion_blocks',
      help: 'Blocks marked for deletion and waiting for the delete delay.',
      labelNames: ['tenant'],
      registers: r,
    }),
    runningPlans: new Gauge({
      name: 'strata_compact_running_plans',
      help: 'Plans executing now.',
      registers: r,
    }),
    peakRunningPlans: new Gauge({
      name: 'strata_compact_peak_running_plans',
      help: 'Most plans that executed at once since start.',
      registers: r,
    }),
    runningCompactions: new Gauge({
      name: 'strata_compact_running_compactions',
      help: 'Plans in their compact phase now (at most --compact.concurrency).',
      registers: r,
    }),
    peakRunningCompactions: new Gauge({
      name: 'strata_compact_peak_running_compactions',
      help: 'Most plans in their compact phase at once since start.',
      registers: r,
    }),
    iterations: new Counter({
      name: 'strata_compact_iterations_total',
      help: 'Full compaction passes completed.',
      registers: r,
    }),
    lastSuccess: new Gauge({
      name: 'strata_compact_last_successful_pass_timestamp_seconds',
      help: 'When the last full pass ended.',
      registers: r,
    }),
    downsampleDuration: new Histogram({
      name: 'strata_compact_downsample_duration_seconds',
      help: 'Time to execute one downsample plan end to end (download, downsample, upload).',
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
      registers: r,
    }),
    todoDownsampleBlocks: new Gauge({
      name: 'strata_compact_todo_downsample_blocks',
      help: 'Blocks waiting to be downsampled (like thanos_compact_todo_downsample_blocks).',
      registers: r,
    }),
    retentionMarked: new Counter({
      name: 'strata_compact_retention_marked_blocks_total',
      help: 'Blocks marked for deletion by retention, by resolution (raw, 5m, 1h).',
      labelNames: ['resolution'],
      registers: r,
    }),
    retentionHeld: new Gauge({
      name: 'strata_compact_retention_held_blocks',
      help: 'Blocks past their retention kept until a coarser resolution covers them.',
      registers: r,
    }),
  };
}
