/** The `strata` command: wiring only; every command lives in its own module. */
import { Command } from 'commander';
import { exitCodeFor, reportError } from './errors.js';

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
};

const program = new Command();
program
  .name('strata')
  .description('Compactor for Prometheus TSDB blocks in object storage (Thanos / Cortex / Mimir layouts)')
  .showHelpAfterError()
  .exitOverride();

const first = process.argv[2];
const load = first !== undefined && Object.hasOwn(GROUPS, first) ? [GROUPS[first]!] : Object.values(GROUPS);
for (const register of await Promise.all(load.map((l) => l()))) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const code = exitCodeFor(err);
  if (code !== 0) reportError(err);
  process.exitCode = code;
}
