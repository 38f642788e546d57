/**
 * `strata planner` HA on a three-member etcd: two replicas (lease TTL 3 s, grace period 2 s), three
 * `strata worker`s given both addresses and slowed down (STRATA_DEBUG_PHASE_DELAY_MS) so the run
 * lasts several seconds, over the multi-tenant HA fixture bucket. The leader is SIGKILLed mid-run
 * (some plans done, not all): the other replica reports leader true within TTL + 2 s, the workers
 * follow it (plans under a higher epoch, none of the dead leader's after its death), and the run
 * ends as `strata compact` on an identical copy of the bucket ends it: the same live blocks (range,
 * level, sources) and the same data per tenant. From the workers' logs: no two runs sharing a
 * source block at once under different epochs (crossEpochConflicts), no block compacted twice.
 */
import { describe, expect, it } from 'vitest';
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
import { FAILOVER_LIMIT_MS, TTL_MS, timeline, waitUntilLeader } from './ha-support.js';

const suite = haSuite('planner-sigkill');

describe('strata planner HA: the leader SIGKILLed', () => {
  it(
    'the other leads within TTL + 2 s, workers follow, same end state as strata compact',
    { timeout: 120_000 },
    async () => {
      const tl = timeline();
      const ref = suite.ref();
      const root = await suite.root('planner-sigkill');
      const c = await startPlannerCluster(root, 'planner-sigkill', ref, suite.etcd().endpoints);
      try {
        const { leader, status } = await c.leader();
        const electedAt = Date.now();
        tl.lap('leader');
        const epoch0 = Number(status.epoch);
        await waitForMidRun(c, midRun(ref));
        tl.lap('mid-run');
        expectSoleLeader(c, leader, electedAt);
        const doneAtKill = c.plansDone();
        const killedAt = Date.now();
        await leader.proc.stop('SIGKILL', 5000);
        const follower = c.other(leader);
        const { at, status: st1 } = await waitUntilLeader(follower);
        tl.lap('take-over');
        const failover = at - killedAt;
        console.info(
          `planner SIGKILL: ${follower.name} reports leader after ${failover} ms ` +
            `(TTL ${TTL_MS} ms; ${doneAtKill}/${ref.plans} plans done at the kill)`,
        );
        expect(failover, `fail-over time\n${c.diagnostics()}`).toBeLessThan(FAILOVER_LIMIT_MS);
        const epoch1 = Number(st1.epoch);
        expect(epoch1).toBeGreaterThan(epoch0);
        // Workers follow: plans are handed out under the new epoch.
        expect(await waitForNewerEpochPlan(c, epoch0)).toBe(epoch1);
        tl.lap('new epoch plan');

        const runs = await expectReferenceEndState(c, ref, root, 'after the leader’s SIGKILL', tl);
        // The dead leader handed out nothing after its death (a plan sent just before it is logged
        // by its worker a moment later: 1 s of slack).
        expect(
          runs.filter((r) => r.epoch !== epoch1 && r.start > killedAt + 1000).map((r) => r.plan),
          'plans of the old epoch started after the kill',
        ).toEqual([]);
        expect([...new Set(runs.map((r) => r.epoch))].sort()).toEqual([epoch0, epoch1].sort());
        console.info(
          `planner SIGKILL: ${runs.length} plan runs, ${runs.filter((r) => r.epoch === epoch1).length} ` +
            `under the new epoch; ${runningAt(runs, epoch0, killedAt).length} of the old one running at ` +
            `the kill; ${tl.text()}`,
        );
      } finally {
        await c.stop();
      }
    },
  );
});
