/**
 * `strata demo` (what `npm start` runs): the embedded default. Synthesizes a realistic
 * multi-tenant bucket under a local folder (Cortex layout, HA replica pairs, days of 2h blocks),
 * runs `strata compact` on it as a filesystem bucket until everything is compacted, and prints a
 * before/after table per tenant.
 */
import type { Command } from 'commander';
import { readdir, rm, stat, writeFile } from 'node:fs/promises';
import { prepareDir } from '../util/dirs.js';
import { InvalidArgumentError } from '../util/errors.js';
import { join } from 'node:path';
import { writeSynthBlocks } from '../tsdb/synth/write.js';
import { readMetaFile } from '../tsdb/meta.js';
import { blockFiles } from '../tsdb/block/files.js';
import { isUlid } from '../tsdb/ulid.js';
import { NO_RING } from './ring-setup.js';
import { runCompactCommand } from './compact.js';
import { formatBytes, formatTable } from './output.js';
import { intArg, logFormatOption } from './args.js';
import { runBucketWeb, uiUrl } from './bucket-web.js';
import { untilSignalled } from './sync-setup.js';

interface TenantStats {
  blocks: number;
  bytes: number;
  maxSeries: number;
  samples: number;
  levels: Map<number, number>;
}

async function tenantStats(dir: string): Promise<TenantStats> {
  const s: TenantStats = { blocks: 0, bytes: 0, maxSeries: 0, samples: 0, levels: new Map() };
  for (const name of (await readdir(dir)).filter(isUlid)) {
    const b = join(dir, name);
    const marked = await stat(join(b, 'deletion-mark.json')).then(
      () => true,
      () => false,
    );
    if (marked) continue;
    const m = await readMetaFile(b).catch(() => undefined);
    if (!m) continue;
    s.blocks++;
    s.bytes += (await blockFiles(b)).reduce((a, f) => a + f.size, 0);
    s.maxSeries = Math.max(s.maxSeries, m.stats.numSeries);
    s.samples += m.stats.numSamples;
    s.levels.set(m.compaction.level, (s.levels.get(m.compaction.level) ?? 0) + 1);
  }
  return s;
}

function levels(s: TenantStats): string {
  return [...s.levels.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([l, n]) => `L${l}×${n}`)
    .join(' ');
}

interface DemoOptions {
  dir: string;
  tenants: number;
  series: number;
  hours: number;
  'log.format': string;
  serve: boolean;
  httpAddress: string;
}

/** Wipes an earlier demo folder; refuses any other non-empty folder (`--dir ~` must not cost a home). */
async function wipeDemoDir(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  if (names.length === 0) return;
  const ours = new Set(['objstore.yaml', 'bucket', 'data']);
  if (!names.includes('objstore.yaml') || !names.every((n) => ours.has(n))) {
    throw new InvalidArgumentError(
      `--dir ${dir}: not empty and not an earlier demo folder (objstore.yaml, bucket/, data/); refusing to wipe it`,
    );
  }
  await rm(dir, { recursive: true, force: true });
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('synthesize a multi-tenant bucket with HA replicas and compact it fully with strata compact')
    .option('--dir <dir>', 'working folder (wiped first)', '.strata-demo')
    .option('--tenants <n>', 'tenants', intArg, 3)
    .option('--series <n>', 'series per tenant and replica', intArg, 100)
    .option('--hours <h>', 'hours of 2h blocks per replica', intArg, 72)
    .addOption(logFormatOption('logfmt or json (logs of the compaction, on stderr)'))
    .option(
      '--http-address <host:port>',
      'where the web UI on the demo bucket listens afterwards',
      '127.0.0.1:10902',
    )
    .option('--no-serve', 'exit after compacting instead of serving the web UI until Ctrl-C')
    .action(async (o: DemoOptions) => {
      const out = process.stdout;
      const bucketDir = join(o.dir, 'bucket');
      await wipeDemoDir(o.dir);
      await prepareDir(o.dir, '--dir');
      const configFile = join(o.dir, 'objstore.yaml');
      await writeFile(configFile, `type: FILESYSTEM\nconfig:\n  directory: ${JSON.stringify(bucketDir)}\n`);
      const tenants = Array.from({ length: o.tenants }, (_, i) => `tenant-${i + 1}`);
      // Data ending a day ago, so no block is too fresh and ranges up to 2d can fill.
      const start = Math.floor((Date.now() - 86_400_000) / 7_200_000) * 7_200_000 - o.hours * 3600_000;
      let t0 = performance.now();
      const made = await writeSynthBlocks({
        outDir: bucketDir,
        series: o.series,
        hours: o.hours,
        seed: 1,
        startMs: start,
        tenants,
        replicas: 2,
      });
      out.write(
        `synthesized ${made.length} blocks in ${bucketDir}: ${o.tenants} tenants × 2 HA replicas × ${o.hours / 2} blocks of 2h, ` +
          `${o.series} series each (${Math.round(performance.now() - t0)} ms)\n`,
      );
      const before = new Map<string, TenantStats>();
      for (const t of tenants) before.set(t, await tenantStats(join(bucketDir, t)));
      out.write(
        `running: strata compact --tenancy multi --deduplication.replica-label replica --deduplication.func penalty --delete-delay 0s (filesystem bucket ${bucketDir})\n`,
      );
      t0 = performance.now();
      const ac = new AbortController();
      const run = await runCompactCommand(
        {
          'objstore.configFile': configFile,
          dataDir: join(o.dir, 'data'),
          tenancy: 'multi',
          consistencyDelay: 0,
          deleteDelay: 0,
          partialBlockDeleteDelay: 48 * 3600_000,
          'bucketIndex.refreshInterval': 15 * 60_000,
          'downsampling.disable': false,
          'downsample.concurrency': 1,
          'retention.resolutionRaw': 0,
          'retention.resolution5m': 0,
          'retention.resolution1h': 0,
          'compact.concurrency': 2,
          'compact.plansAhead': 1,
          'etcd.endpoints': [],
          'etcd.leaseTtl': 10_000,
          'compact.blockRanges': '2h,8h,2d,14d',
          blockMetaFetchConcurrency: 32,
          'deduplication.replicaLabel': ['replica'],
          'deduplication.func': 'penalty',
          httpAddress: '127.0.0.1:0',
          'log.level': 'warn',
          'log.format': o['log.format'],
          wait: false,
          waitInterval: 0,
          syncCheckpoint: true,
          ...NO_RING,
        },
        ac.signal,
      );
      const took = performance.now() - t0;
      const rows: string[][] = [];
      for (const t of tenants) {
        const b = before.get(t)!;
        const a = await tenantStats(join(bucketDir, t));
        rows.push([
          t,
          `${b.blocks} → ${a.blocks}`,
          `${formatBytes(b.bytes)} → ${formatBytes(a.bytes)}`,
          `${b.samples} → ${a.samples}`,
          `${b.maxSeries} → ${a.maxSeries}`,
          `${levels(b)} → ${levels(a)}`,
        ]);
      }
      const s = run.summaries[0]!;
      out.write('\n' + formatTable(['TENANT', 'BLOCKS', 'BYTES', 'SAMPLES', 'SERIES/BLOCK', 'LEVELS'], rows));
      out.write(
        `\n${s.plansDone} compactions (${s.plansFailed} failed), ${s.deletedMarked} source blocks deleted, in ${Math.round(took)} ms ` +
          `(sync ${Math.round(s.phaseMs.sync)} ms, compact ${Math.round(s.phaseMs.compact)} ms, upload ${Math.round(s.phaseMs.upload)} ms, ` +
          `download ${Math.round(s.phaseMs.download)} ms, cleanup ${Math.round(s.phaseMs.cleanup)} ms)\n`,
      );
      out.write(
        `\ntry: node bin/strata.js bucket inspect --objstore.config-file ${configFile} --tenancy multi\n`,
      );
      if (!o.serve) return;
      // The UI on the compacted bucket: `strata bucket web` in this process, until Ctrl-C.
      await untilSignalled((_: unknown, signal: AbortSignal) =>
        runBucketWeb(
          {
            'objstore.configFile': configFile,
            tenancy: 'multi',
            httpAddress: o.httpAddress,
            refresh: 60_000,
            'log.format': o['log.format'],
          },
          signal,
          (address) =>
            out.write(`\nUI: ${uiUrl(address)}  (the Blocks page of the demo bucket; Ctrl-C to stop)\n`),
        ),
      )(undefined);
    });
}
