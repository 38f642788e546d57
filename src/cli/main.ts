/** The `strata` command: wiring only; every command lives in its own module. */
import { Command } from 'commander';
import { exitCodeFor, reportError, toStrataError, type ErrorOutput } from './errors.js';
import { logSettingsFromArgv, routeProcessOutput } from './process-output.js';
import { applyCliConventions, helpHint, isHelpOrVersion } from './usage.js';
import { errorCode } from '../util/errors.js';
import { packageVersion } from '../util/version.js';

// First, before anything can warn: stderr belongs to the logger from here on.
const settings = logSettingsFromArgv(process.argv.slice(2));
const errorOutput: ErrorOutput = {
  format: settings.format,
  logger: routeProcessOutput(settings),
  write: (line) => process.stderr.write(line),
};

function fail(err: unknown): void {
  const e = toStrataError(err);
  reportError(e, errorOutput, helpHint());
  process.exitCode = exitCodeFor(e);
}

// A stray rejection or exception would otherwise print a stack trace over several lines.
process.on('uncaughtException', (err) => {
  fail(err);
  process.exit();
});
// A reader that stops early (`strata tsdb dump | head`) ends the command quietly.
process.stdout.on('error', (err) => {
  if (errorCode(err) !== 'EPIPE') fail(err);
  process.exit();
});

type Register = (program: Command) => void;

/**
 * Command groups, loaded on demand: `strata tsdb compact` need not load the S3 SDK, gRPC and etcd
 * clients (~0.3 s of start-up and ~40 MiB of RSS). Help and unknown commands load them all.
 */
const GROUPS: Readonly<Record<string, () => Promise<Register>>> = {
  tsdb: async () => (await import('./tsdb.js')).registerTsdbCommands,
  bucket: async () => (await import('./bucket.js')).registerBucketCommands,
  demo: async () => (await import('./demo.js')).registerDemoCommand,
  compact: async () => (await import('./compact.js')).registerCompactCommand,
  planner: async () => (await import('./planner.js')).registerPlannerCommand,
  worker: async () => (await import('./worker.js')).registerWorkerCommand,
  store: async () => (await import('./store.js')).registerStoreCommand,
  query: async () => (await import('./query.js')).registerQueryCommand,
};

const program = new Command();
program
  .name('strata')
  .description('Compactor for Prometheus TSDB blocks in object storage (Thanos / Cortex / Mimir layouts)')
  .version(await packageVersion(), '-V, --version', 'print the version');

try {
  const first = process.argv[2];
  const load = first !== undefined && Object.hasOwn(GROUPS, first) ? [GROUPS[first]!] : Object.values(GROUPS);
  for (const register of await Promise.all(load.map((l) => l()))) register(program);
  applyCliConventions(program);
  await program.parseAsync(process.argv);
} catch (err) {
  if (!isHelpOrVersion(err)) fail(err);
}
