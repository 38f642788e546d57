/** `strata tsdb ...`: local block commands. */
import type { Command } from 'commander';
import { runLs } from './tsdb-ls.js';
import { runDump } from './tsdb-dump.js';
import { runVerify } from './tsdb-verify.js';
import { runSynth } from './tsdb-synth.js';
import { runCompact } from './tsdb-compact.js';
import { runDownsample } from './tsdb-downsample.js';
import { intArg, logFormatOption, timeArg } from './args.js';

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export function registerTsdbCommands(program: Command): void {
  const tsdb = program.command('tsdb').description('work with local TSDB blocks');

  tsdb
    .command('ls')
    .description('list the blocks in a directory')
    .argument('<dir>', 'directory of blocks (or one block)')
    .option('--human', 'print times as RFC 3339 and sizes in MiB', false)
    .action(async (dir: string, o: { human: boolean }) => {
      await runLs(dir, o, process.stdout);
    });

  tsdb
    .command('dump')
    .description(
      'print every sample as `{labels} value timestamp_ms`, like promtool tsdb dump (native histograms as promtool >= 2.48: `{labels} {count:C, sum:S, buckets...} timestamp_ms`)',
    )
    .argument('<path>', 'a block, or a directory of blocks')
    .option('--match <selector>', 'series selector, e.g. \'{__name__="up", job=~"api.*"}\'')
    .option('--min-time <ms>', 'first timestamp to print (inclusive)', timeArg)
    .option('--max-time <ms>', 'last timestamp to print (inclusive)', timeArg)
    .option(
      '--aggregate <name>',
      'downsampled blocks: print only this aggregate (count, sum, min, max, counter) as `{labels} value timestamp_ms`; default: every aggregate, `{labels} aggregate value timestamp_ms`',
    )
    .action(
      async (path: string, o: { match?: string; minTime?: number; maxTime?: number; aggregate?: string }) => {
        await runDump(path, o, process.stdout);
      },
    );

  tsdb
    .command('verify')
    .description('check CRCs, index invariants and every chunk of blocks; exit 1 on any error')
    .argument('<blocks...>', 'block directories (or directories of blocks)')
    .option('--max-problems <n>', 'problems listed per block', intArg, 100)
    .action(async (blocks: string[], o: { maxProblems: number }) => {
      const ok = await runVerify(blocks, o, process.stdout);
      if (!ok) process.exitCode = 1;
    });

  tsdb
    .command('synth')
    .description("write realistic synthetic 2h blocks with Strata's writer")
    .requiredOption('--out <dir>', 'output directory')
    .option('--series <n>', 'series per tenant and replica', intArg, 1000)
    .option('--hours <h>', 'hours of data (cut into 2h blocks)', intArg, 2)
    .option(
      '--tenants <n>',
      'tenants (Cortex layout <out>/<tenant>/<ULID>); 0 = single-tenant layout',
      intArg,
      0,
    )
    .option('--replicas <n>', 'HA replicas per tenant (external label replica=rN); 0 = none', intArg, 0)
    .option('--seed <n>', 'random seed', intArg, 1)
    .option(
      '--histograms <n>',
      'native histogram series per tenant and replica (latency counters with resets and growing layouts, every fifth a gauge)',
      intArg,
      0,
    )
    .option('--start-time <ms>', 'start of the first block (default: now minus --hours, 2h-aligned)', timeArg)
    .action(
      async (o: {
        out: string;
        series: number;
        hours: number;
        tenants: number;
        replicas: number;
        seed: number;
        histograms: number;
        startTime?: number;
      }) => {
        await runSynth(o, process.stdout);
      },
    );

  tsdb
    .command('compact')
    .description('compact blocks into one new block (horizontal and vertical, with deduplication)')
    .argument('<blocks...>', 'input block directories (or directories of blocks)')
    .requiredOption('--out <dir>', 'directory to write the new block into')
    .option(
      '--dedup <mode>',
      'exact (one sample per timestamp, newest block wins) or penalty (Thanos replica dedup)',
      'exact',
    )
    .option('--replica-label <name>', 'external label that tells HA replicas apart (repeatable)', collect, [])
    .option('--max-samples-per-chunk <n>', 'samples per re-encoded chunk', intArg, 120)
    .option(
      '--verify <mode>',
      'output check before the rename: light (checked while writing, then read back in part) or full (also every chunk decoded, like tsdb verify)',
      'light',
    )
    .action(
      async (
        blocks: string[],
        o: { out: string; dedup: string; replicaLabel: string[]; maxSamplesPerChunk: number; verify: string },
      ) => {
        await runCompact(blocks, o, process.stdout);
      },
    );

  tsdb
    .command('downsample')
    .description('downsample blocks like Thanos (raw → 5m, 5m → 1h) into new blocks of aggregated chunks')
    .argument('<blocks...>', 'input block directories (or directories of blocks)')
    .requiredOption('--resolution <res>', '5m (from raw blocks) or 1h (from 5m blocks)')
    .requiredOption('--out <dir>', 'directory to write the new blocks into')
    .action(async (blocks: string[], o: { resolution: string; out: string }) => {
      await runDownsample(blocks, o, process.stdout);
    });

  // These commands log nothing of their own: the format is that of warnings and the error line.
  for (const cmd of tsdb.commands) cmd.addOption(logFormatOption());
}
