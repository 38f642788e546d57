/**
 * Downsampling and retention flags of `strata compact` and `strata planner`, with Thanos' names
 * and checks: retention shorter than the span a block needs before it is downsampled would delete
 * data that never reaches the coarser resolution, so Thanos refuses it, and so do we.
 */
import type { Command } from 'commander';
import { DOWNSAMPLE_RANGE_1H_MS, DOWNSAMPLE_RANGE_5M_MS } from '../tsdb/downsample/block.js';
import type { LifecycleOptions } from '../compactor/pass.js';
import { InvalidArgumentError } from '../util/errors.js';
import { durationArg, intArg } from './args.js';

export interface LifecycleFlags {
  'downsampling.disable': boolean;
  'downsampling.enable'?: boolean;
  /** Only `strata compact` has it (a planner's workers each run one plan at a time). */
  'downsample.concurrency'?: number;
  'retention.resolutionRaw': number;
  'retention.resolution5m': number;
  'retention.resolution1h': number;
}

export function lifecycleOptions(cmd: Command, withConcurrency = true): Command {
  if (withConcurrency) {
    cmd.option(
      '--downsample.concurrency <n>',
      'downsample plans executed at once (within --compact.concurrency)',
      intArg,
      1,
    );
  }
  return cmd
    .option(
      '--downsampling.disable',
      'write no 5m and 1h blocks (retention then holds nothing back); the default with --tenancy multi',
      false,
    )
    .option(
      '--downsampling.enable',
      'write 5m and 1h blocks with --tenancy multi too (Cortex and Mimir queriers cannot read them)',
      false,
    )
    .option(
      '--retention.resolution-raw <duration>',
      'keep raw blocks this long after their maxTime (0: forever)',
      durationArg,
      0,
    )
    .option(
      '--retention.resolution-5m <duration>',
      'keep 5m blocks this long after their maxTime (0: forever)',
      durationArg,
      0,
    )
    .option(
      '--retention.resolution-1h <duration>',
      'keep 1h blocks this long after their maxTime (0: forever)',
      durationArg,
      0,
    );
}

/**
 * The lifecycle of the flags; InvalidArgumentError for the combinations Thanos refuses.
 * Downsampling is on by default in the Thanos layout (as in Thanos) and off in the multi-tenant
 * one: Cortex and Mimir have no downsampling and their store-gateways would serve 5m and 1h
 * blocks as raw data.
 */
export function parseLifecycle(
  f: LifecycleFlags,
  tenancy: string,
): LifecycleOptions & { readonly downsampleConcurrency: number } {
  if (f['downsampling.disable'] && f['downsampling.enable'] === true)
    throw new InvalidArgumentError('--downsampling.disable and --downsampling.enable exclude each other');
  const downsampling =
    f['downsampling.enable'] === true || (!f['downsampling.disable'] && tenancy !== 'multi');
  const raw = f['retention.resolutionRaw'];
  const fiveMinutes = f['retention.resolution5m'];
  const oneHour = f['retention.resolution1h'];
  if (downsampling && raw !== 0 && raw < DOWNSAMPLE_RANGE_5M_MS) {
    throw new InvalidArgumentError(
      '--retention.resolution-raw must be 0 or at least 40h (the span a raw block needs before it is downsampled to 5m)',
    );
  }
  if (downsampling && fiveMinutes !== 0 && fiveMinutes < DOWNSAMPLE_RANGE_1H_MS) {
    throw new InvalidArgumentError(
      '--retention.resolution-5m must be 0 or at least 10d (the span a 5m block needs before it is downsampled to 1h)',
    );
  }
  const downsampleConcurrency = f['downsample.concurrency'] ?? 1;
  if (downsampleConcurrency < 1)
    throw new InvalidArgumentError('--downsample.concurrency must be at least 1');
  return { downsampling, retention: { raw, fiveMinutes, oneHour }, downsampleConcurrency };
}
