/**
 * A test seam: STRATA_TEST_STEP_HOOK names a module whose `createStepHook(env, logger)` returns a
 * hook called at the start of every step of a pass (crash tests kill the process there; see
 * test/support/step-hook.ts). Unset, there is no hook at all. Not for production use.
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { StepHook } from '../compactor/execute.js';
import type { Logger } from '../util/logger.js';
import { InvalidArgumentError } from '../util/errors.js';

interface StepHookModule {
  createStepHook(env: NodeJS.ProcessEnv, logger: Logger): StepHook | undefined;
}

function isStepHookModule(m: unknown): m is StepHookModule {
  return (
    typeof m === 'object' && m !== null && 'createStepHook' in m && typeof m.createStepHook === 'function'
  );
}

export async function loadStepHook(env: NodeJS.ProcessEnv, logger: Logger): Promise<StepHook | undefined> {
  const path = env.STRATA_TEST_STEP_HOOK;
  if (path === undefined || path === '') return undefined;
  if (!isAbsolute(path))
    throw new InvalidArgumentError(`STRATA_TEST_STEP_HOOK must be an absolute path, got ${path}`);
  const m: unknown = await import(pathToFileURL(path).href);
  if (!isStepHookModule(m)) throw new InvalidArgumentError(`${path} does not export createStepHook`);
  return m.createStepHook(env, logger);
}
