/** The `strata` command: wiring only; every command lives in its own module. */
import { Command } from 'commander';
import { registerTsdbCommands } from './tsdb.js';
import { registerBucketCommands } from './bucket.js';
import { registerDemoCommand } from './demo.js';
import { registerCompactCommand } from './compact.js';
import { registerPlannerCommand } from './planner.js';
import { registerWorkerCommand } from './worker.js';
import { exitCodeFor, reportError } from './errors.js';

const program = new Command();
program
  .name('strata')
  .description('Compactor for Prometheus TSDB blocks in object storage (Thanos / Cortex / Mimir layouts)')
  .showHelpAfterError()
  .exitOverride();

registerTsdbCommands(program);
registerBucketCommands(program);
registerDemoCommand(program);
registerCompactCommand(program);
registerPlannerCommand(program);
registerWorkerCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const code = exitCodeFor(err);
  if (code !== 0) reportError(err);
  process.exitCode = code;
}
