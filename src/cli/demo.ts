/**
 * `strata demo`: the embedded default. Synthesizes a small set of 2h blocks from two HA replicas
 * under a local folder, lists and verifies them, then compacts them into one deduplicated block.
 */
import type { Command } from 'commander';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSynthBlocks } from '../tsdb/synth/write.js';
import { compactBlocks } from '../tsdb/compact/compact.js';
import { verifyBlock } from '../tsdb/verify.js';
import { runLs } from './tsdb-ls.js';
import { intArg } from './args.js';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('synthesize a small block set from two HA replicas, verify it and compact it')
    .option('--dir <dir>', 'working folder (wiped first)', '.strata-demo')
    .option('--series <n>', 'series per replica', intArg, 500)
    .option('--hours <h>', 'hours of data', intArg, 6)
    .action(async (o: { dir: string; series: number; hours: number }) => {
      const out = process.stdout;
      const blocksDir = join(o.dir, 'blocks');
      await rm(o.dir, { recursive: true, force: true });
      const start = Math.floor(Date.now() / 7_200_000) * 7_200_000 - o.hours * 3600_000;
      const t0 = performance.now();
      const blocks = await writeSynthBlocks({
        outDir: blocksDir,
        series: o.series,
        hours: o.hours,
        seed: 1,
        startMs: start,
        replicas: 2,
      });
      out.write(
        `synthesized ${blocks.length} blocks (2 replicas × ${o.hours}h of 2h blocks, ${o.series} series) in ${Math.round(performance.now() - t0)} ms\n\n`,
      );
      await runLs(blocksDir, { human: true }, out);
      let clean = 0;
      for (const b of blocks) if ((await verifyBlock(b.dir)).ok) clean++;
      out.write(`\nverify: ${clean}/${blocks.length} blocks clean\n`);
      const outDir = join(o.dir, 'compacted');
      const r = await compactBlocks(
        blocks.map((b) => b.dir),
        outDir,
        { dedup: 'penalty', replicaLabels: ['replica'] },
      );
      out.write(
        `\ncompacted ${r.inputBlocks} blocks (${r.inputSamples} samples) into 1 block (${r.outputSamples} samples, replicas deduplicated) in ${Math.round(r.durationMs)} ms:\n\n`,
      );
      await runLs(outDir, { human: true }, out);
      out.write(`\ntry: node bin/strata.js tsdb dump ${outDir} --match '{__name__="up"}' | head\n`);
    });
}
