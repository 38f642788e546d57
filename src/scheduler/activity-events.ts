/** The planner's scheduler events recorded in a CompactionActivity (passes, failed plans). */
import type { BacklogSample, CompactionActivity } from '../compactor/activity.js';
import type { SchedulerEvents } from './service.js';

/** `backlog`: what is left after a planning pass, sampled after each. */
export function activityEvents(
  a: CompactionActivity,
  backlog: () => Omit<BacklogSample, 'atMs'>,
): SchedulerEvents {
  return {
    planned: (e) => {
      a.passCompleted(e.durationMs);
      a.sample(backlog());
    },
    completed: () => a.planDone(),
    failed: (e) =>
      a.planFailed({
        plan: e.plan.id,
        tenant: e.plan.tenant,
        kind: e.outcome.action === 'park' ? 'parked' : 'retry',
        code: e.code,
        message: e.reason,
      }),
  };
}

/** Both sets of hooks, `a`'s first. */
export function bothEvents(a: SchedulerEvents, b: SchedulerEvents): SchedulerEvents {
  const out: SchedulerEvents = {};
  for (const k of Object.keys({ ...a, ...b }) as (keyof SchedulerEvents)[]) {
    const f = a[k] as ((e: never) => void) | undefined;
    const g = b[k] as ((e: never) => void) | undefined;
    (out as Record<string, (e: never) => void>)[k] = (e: never) => {
      f?.(e);
      g?.(e);
    };
  }
  return out;
}
