/**
 * `strata planner` HA when etcd loses a member: two replicas (lease TTL 3 s) on a three-member
 * etcd, three slowed-down workers over the multi-tenant HA fixture bucket; etcd's raft leader is
 * SIGKILLed (by PID) mid-run. The quorum survives, so the planners' election goes on: the leader
 * keeps its term or another term begins (no plan of an older epoch handed out once a newer one
 * was), and compaction goes on to the end state of `strata compact` on an identical copy of the bucket,
 * without cross-epoch conflicts or blocks compacted twice.
 */
import { describe, expect, it } from 'vitest';
import {
  expectReferenceEndState,
  expectSoleLeader,
  midRun,
  haSuite,
  startPlannerCluster,
  waitForMidRun,
} from './ha-cluster.js';
import { timeline } from './ha-support.js';

const suite = haSuite('planner-etcd');

describe('strata planner HA: an etcd member SIGKILLed', () => {
  it(
    'compaction goes on and completes, the leader stays or fails over, epochs only grow',
    { timeout: 120_000 },
    async () => {
      const tl = timeline();
      const ref = suite.ref();
      const etcd = suite.etcd();
      const root = await suite.root('planner-etcd');
      const c = await startPlannerCluster(root, 'planner-etcd', ref, etcd.endpoints);
      const victim = await etcd.raftLeader();
      expect(victim, 'etcd raft leader').toBeDefined();
      try {
        const { leader, status } = await c.leader();
        const electedAt = Date.now();
        tl.lap('leader');
        const epoch0 = Number(status.epoch);
        await waitForMidRun(c, midRun(ref));
        tl.lap('mid-run');
        expectSoleLeader(c, leader, electedAt);
        const killedAt = Date.now();
        const pid = victim!.pid;
        await victim!.kill('SIGKILL'); // process.kill(pid, 'SIGKILL'), then waits for the exit
        expect(victim!.running(), `etcd ${victim!.name} (pid ${pid}) still running`).toBe(false);

        const runs = await expectReferenceEndState(c, ref, root, 'after an etcd member’s SIGKILL', tl);
        const epochs = [...new Set(runs.map((r) => r.epoch))].sort((a, b) => a - b);
        const after = c.samples.filter((s) => s.at > killedAt);
        const leaders = [...new Set(after.flatMap((s) => s.leaders))];
        const stayed = epochs.length === 1 && leaders.every((l) => l === leader.name);
        console.info(
          `etcd member ${victim!.name} (raft leader) SIGKILLed: the planner leader ` +
            `${stayed ? 'kept its term' : `changed (leaders ${leaders.join(', ')})`}; epochs ${epochs.join(', ')}; ` +
            `${runs.length} plan runs; ${tl.text()}`,
        );
        expect(epochs[0]).toBe(epoch0);
        // Someone led after the kill, and epochs only grew.
        expect(leaders.length, 'replicas seen leading after the kill').toBeGreaterThan(0);
        // A plan of an older epoch starts only while that term lives: not after a plan of a newer
        // epoch started (1 s of slack: a plan handed out is logged by its worker a moment later).
        const stale = runs.filter((r) => runs.some((x) => x.epoch > r.epoch && x.start + 1000 < r.start));
        expect(
          stale.map((r) => `${r.plan} epoch ${r.epoch}`),
          'old-epoch plans after a newer epoch',
        ).toEqual([]);
      } finally {
        await c.stop();
        await victim?.restart();
      }
    },
  );
});
