/**
 * `strata planner` HA when the leader is cut off rather than dead: SIGSTOP freezes it mid-run (its
 * TCP connections stay open, its workers keep waiting on them), the other replica takes over, and
 * once that one is past its grace period SIGCONT thaws the old leader, whose workers' messages
 * (NEXT, COMPLETE, heartbeats) were waiting for it.
 *
 * Checked from every worker's log (planRuns in ha-support.ts): no two runs that share a source
 * block overlapped in time under different epochs unless one of them was cancelled before it wrote
 * anything to the bucket (crossEpochConflicts documents the rule), no block was compacted twice,
 * and no worker received a plan of the old epoch after the thaw. The thawed leader reports leader
 * false at once, logs the end of its term, and the run ends as `strata compact` ends it.
 */
import { describe, expect, it } from 'vitest';
import { logRecords } from '../compactor/run.js';
import { waitFor } from '../support/processes.js';
import {
  expectReferenceEndState,
  expectSoleLeader,
  midRun,
  haSuite,
  runningAt,
  startPlannerCluster,
  waitForNewerEpochPlan,
  waitForMidRun,
} from './ha-cluster.js';
import { FAILOVER_LIMIT_MS, LONG_MS, status, timeline, waitUntilLeader } from './ha-support.js';

const suite = haSuite('planner-sigstop');

describe('strata planner HA: the leader frozen and thawed', () => {
  it(
    'SIGSTOP mid-run, take-over, SIGCONT: never two epochs on one block at once, no old-epoch plan after the thaw',
    { timeout: 120_000 },
    async () => {
      const tl = timeline();
      const ref = suite.ref();
      const root = await suite.root('planner-sigstop');
      const c = await startPlannerCluster(root, 'planner-sigstop', ref, suite.etcd().endpoints);
      try {
        const { leader: old, status: st0 } = await c.leader();
        const electedAt = Date.now();
        tl.lap('leader');
        const epoch0 = Number(st0.epoch);
        await waitForMidRun(c, midRun(ref));
        tl.lap('mid-run');
        expectSoleLeader(c, old, electedAt);
        const stoppedAt = Date.now();
        process.kill(old.proc.pid, 'SIGSTOP');
        const next = c.other(old);
        const { at: tookOverAt, status: st1 } = await waitUntilLeader(next);
        const epoch1 = Number(st1.epoch);
        tl.lap('take-over');
        console.info(
          `planner SIGSTOP: ${next.name} reports leader after ${tookOverAt - stoppedAt} ms ` +
            `(epoch ${epoch0} → ${epoch1})`,
        );
        expect(tookOverAt - stoppedAt, `take-over time\n${c.diagnostics()}`).toBeLessThan(FAILOVER_LIMIT_MS);
        expect(epoch1).toBeGreaterThan(epoch0);
        // Thaw only once the new leader hands out plans: the old one's workers come back late.
        await waitFor(`${next.name} past its grace period`, async () =>
          (await status(next))?.in_grace === false ? true : undefined,
        );
        tl.lap('grace over');

        const thawedAt = Date.now();
        process.kill(old.proc.pid, 'SIGCONT');
        // Its first answer after the thaw already says follower (the term's deadline is on the clock).
        const after = await waitFor(`${old.name} answering after the thaw`, () => status(old), LONG_MS);
        expect(after.leader, `${old.name} status after SIGCONT`).toBe(false);
        // Its term ended on its own (step-down deadline, or etcd's lease gone), not by a resign.
        const ended = await waitFor(`${old.name} logging the end of epoch ${epoch0}`, () =>
          Promise.resolve(
            logRecords(old.proc.output()).find(
              (r) => r.msg === 'leadership ended' && Number(r.epoch) === epoch0,
            ),
          ),
        );
        expect(['step-down', 'lease-lost']).toContain(ended.reason);
        // Workers follow the new leader.
        expect(await waitForNewerEpochPlan(c, epoch0)).toBe(epoch1);
        tl.lap('new epoch plan');

        const runs = await expectReferenceEndState(
          c,
          ref,
          root,
          'after SIGSTOP and SIGCONT of the leader',
          tl,
        );
        expect(
          runs.filter((r) => r.epoch !== epoch1 && r.start >= thawedAt).map((r) => `${r.worker} ${r.plan}`),
          'plans of another epoch than the new leader’s started after the thaw',
        ).toEqual([]);
        expect(c.samples.filter((s) => s.at >= thawedAt && s.leaders.includes(old.name))).toEqual([]);
        console.info(
          `planner SIGSTOP: thawed ${thawedAt - stoppedAt} ms after the freeze; ${runs.length} plan runs, ` +
            `${runs.filter((r) => r.epoch === epoch1).length} under epoch ${epoch1}; of epoch ${epoch0}: ` +
            `${runningAt(runs, epoch0, stoppedAt).length} running at the freeze, ` +
            `${runningAt(runs, epoch0, thawedAt).length} at the thaw; ` +
            `cancelled runs: ${runs.filter((r) => r.outcome === 'cancelled').length}; ${tl.text()}`,
        );
      } finally {
        await c.stop();
      }
    },
  );
});
