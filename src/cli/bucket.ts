/** `strata bucket ...`: blocks in object storage (Thanos or Cortex/Mimir layout). */
import type { Command } from 'commander';
import { intArg } from './args.js';
import { bucketOptions, collect, labelArg } from './bucket-common.js';
import { runBucketDownload } from './bucket-download.js';
import { runBucketIndexShow, runBucketIndexWrite } from './bucket-index.js';
import { runBucketInspect } from './bucket-inspect.js';
import { runBucketLs } from './bucket-ls.js';
import { runBucketMark } from './bucket-mark.js';
import { runBucketUpload } from './bucket-upload.js';
import { runBucketVerify } from './bucket-verify.js';
import { registerBucketWeb } from './bucket-web.js';
import type { BucketFlags } from './bucket-common.js';

export function registerBucketCommands(program: Command): void {
  const bucket = program.command('bucket').description('inspect and manage blocks in object storage');

  bucketOptions(
    bucket.command('ls').description('list complete blocks, one <tenant>/<ULID> (or <ULID>) a line'),
  )
    .option('-o, --output <format>', 'text or json (one object a line)', 'text')
    .action(async (o: BucketFlags & { output: string }) => {
      await runBucketLs(o, process.stdout);
    });

  bucketOptions(
    bucket
      .command('inspect')
      .description('a table per tenant: time range, level, stats, size, labels, markers'),
  )
    .option('-o, --output <format>', 'table or json (one object a line)', 'table')
    .action(async (o: BucketFlags & { output: string }) => {
      await runBucketInspect(o, process.stdout);
    });

  bucketOptions(
    bucket
      .command('upload')
      .description('upload local blocks: chunks, index, then meta.json last')
      .argument('<dirs...>', 'block directories, or directories of blocks'),
  )
    .option('--label <name=value>', 'external label for blocks that have none (repeatable)', labelArg, {})
    .option('--require-labels', 'refuse blocks without external labels (Thanos sidecar rule)', false)
    .option('--concurrency <n>', 'parallel chunk file uploads', intArg, 4)
    .action(
      async (
        dirs: string[],
        o: BucketFlags & { label: Record<string, string>; requireLabels: boolean; concurrency: number },
      ) => {
        await runBucketUpload(dirs, o, process.stdout);
      },
    );

  bucketOptions(
    bucket
      .command('download')
      .description('download one block into <dir>/<ULID>, checking file sizes')
      .argument('<ulid>', 'block ID')
      .argument('<dir>', 'parent directory'),
  )
    .option('--overwrite', 'replace an existing <dir>/<ULID>', false)
    .option('--concurrency <n>', 'parallel file downloads', intArg, 4)
    .action(async (id: string, dir: string, o: BucketFlags & { overwrite: boolean; concurrency: number }) => {
      await runBucketDownload(id, dir, o, process.stdout);
    });

  bucketOptions(bucket.command('mark').description('mark blocks for deletion, no-compact or no-downsample'))
    .option('--id <ulid>', 'block ID (repeatable)', collect, [])
    .requiredOption('--marker <kind>', 'deletion, no-compact or no-downsample')
    .option('--details <text>', 'free text stored in the marker', '')
    .option('--reason <reason>', 'no-compact/no-downsample reason', 'manual')
    .action(async (o: BucketFlags & { id: string[]; marker: string; details: string; reason: string }) => {
      await runBucketMark(o, process.stdout);
    });

  bucketOptions(
    bucket
      .command('verify')
      .description(
        'find partial blocks, bad meta.json/markers, overlaps and duplicate sources; exit 1 on errors',
      ),
  )
    .option('--full', 'also download every block and check its index and chunks', false)
    .option('--work-dir <dir>', 'where --full downloads blocks (default: system temp dir)')
    .option('--max-problems <n>', 'problems listed per block with --full', intArg, 20)
    .action(async (o: BucketFlags & { full: boolean; workDir?: string; maxProblems: number }) => {
      if (!(await runBucketVerify(o, process.stdout))) process.exitCode = 1;
    });

  const index = bucket.command('index').description('the per-tenant bucket index (bucket-index.json.gz)');
  bucketOptions(
    index.command('write').description("scan the bucket and write each tenant's bucket index"),
  ).action(async (o: BucketFlags) => {
    await runBucketIndexWrite(o, process.stdout);
  });
  bucketOptions(index.command('show').description('print bucket indexes as JSON')).action(
    async (o: BucketFlags) => {
      await runBucketIndexShow(o, process.stdout);
    },
  );

  registerBucketWeb(bucket);
}
