/**
 * The step hook the crash and HA tests load into a real `strata compact` / `strata worker` process
 * (through STRATA_TEST_STEP_HOOK, see src/cli/step-hook.ts and startStrata in
 * test/compactor/run.ts), switched on by environment variables so a test can SIGKILL the process
 * inside a known step:
 *
 *   STRATA_DEBUG_PHASES=1            log `debug: step` (level info, field `step`) at the start of
 *                                    every step: sync, download, compact, upload, uploaded (after
 *                                    each output file but meta.json), mark, cleanup, clean (the
 *                                    cleaner, per tenant), index (bucket index update); a plan's
 *                                    steps carry its id (field `plan`): plans overlap
 *   STRATA_DEBUG_PHASE_DELAY_MS=<n>  also sleep n ms at the start of every step
 *   STRATA_DEBUG_KILL_AT=<step>:<k>:<ms>
 *                                    SIGKILL this process <ms> after the k-th start of <step>
 *                                    (while the step runs: no signal latency from outside; 0: at
 *                                    once, in the hook)
 *
 * None changes what a step does; unset (the default) there is no hook at all.
 */
import type { Logger } from '../../src/util/logger.js';
import { InvalidArgumentError } from '../../src/util/errors.js';
import type { PassStep, StepHook } from '../../src/compactor/execute.js';

interface KillAt {
  step: string;
  occurrence: number;
  delayMs: number;
}

function parseKillAt(text: string | undefined): KillAt | undefined {
  if (text === undefined || text === '') return undefined;
  const m = /^([a-z]+):(\d+):(\d+)$/.exec(text);
  if (!m)
    throw new InvalidArgumentError(
      `STRATA_DEBUG_KILL_AT must be <step>:<k>:<ms>, got ${JSON.stringify(text)}`,
    );
  return { step: m[1]!, occurrence: Number(m[2]), delayMs: Number(m[3]) };
}

/** The hook the environment asks for, or undefined when no variable is set. */
export function createStepHook(env: NodeJS.ProcessEnv, logger: Logger): StepHook | undefined {
  const delayText = env.STRATA_DEBUG_PHASE_DELAY_MS ?? '';
  const delayMs = delayText === '' ? 0 : Number(delayText);
  if (!Number.isFinite(delayMs) || delayMs < 0) {
    throw new InvalidArgumentError(
      `STRATA_DEBUG_PHASE_DELAY_MS must be a number of ms, got ${JSON.stringify(delayText)}`,
    );
  }
  const killAt = parseKillAt(env.STRATA_DEBUG_KILL_AT);
  if (env.STRATA_DEBUG_PHASES !== '1' && delayMs === 0 && killAt === undefined) return undefined;
  let seen = 0;
  return async (step: PassStep, plan?: string): Promise<void> => {
    logger.info('debug: step', plan === undefined ? { step } : { step, plan });
    if (killAt && step === killAt.step && ++seen === killAt.occurrence) {
      // 0 ms: die here, before any other step can start (tenants are cleaned several at once, and a
      // timer would let another tenant's step begin first).
      if (killAt.delayMs === 0) process.kill(process.pid, 'SIGKILL');
      setTimeout(() => process.kill(process.pid, 'SIGKILL'), killAt.delayMs);
    }
    if (delayMs > 0) await new Promise<void>((resolve) => setTimeout(resolve, delayMs));
  };
}
