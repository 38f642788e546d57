/**
 * `strata compact --wait --etcd.endpoints ...` as an HA singleton: two replicas in one etcd
 * election (lease TTL 3 s), every step slowed down by STRATA_DEBUG_PHASE_DELAY_MS.
 *
 * The bucket starts with one tenant. Exactly one replica reports leader true at /api/v1/status
 * (at every sample both answer until the kill) and logs compaction passes; the other logs no pass, not even a
 * step, while it waits. Then the second tenant's blocks arrive, and the leader is SIGKILLed in the
 * middle of compacting them: the waiting replica reports leader true within TTL + 2 s and takes
 * the bucket to what `strata compact` (no HA) makes of an identical copy: the same live blocks
 * (range, level, sources) and the same data in every tenant.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffDumps } from '../support/dump.js';
import { logRecords } from '../compactor/run.js';
import { haSuite } from './ha-cluster.js';
import {
  FAILOVER_LIMIT_MS,
  PHASE_DELAY_MS,
  TTL_MS,
  endState,
  fixtureBucket,
  liveShape,
  outputs,
  ports,
  sampleLeaders,
  startCompactReplica,
  timeline,
  notSoleLeader,
  uniquePrefix,
  uploadTenant,
  waitConverged,
  waitForLines,
  waitForSingleLeader,
  waitUntilLeader,
  type Replica,
} from './ha-support.js';

const suite = haSuite('compact-ha');

const passDone = (r: Record<string, string>): boolean => r.msg === 'compaction pass done';

describe('strata compact as an HA singleton', () => {
  it(
    'one replica compacts, the other waits; SIGKILL mid-pass: the other takes over within TTL + 2 s and finishes',
    { timeout: 150_000 },
    async () => {
      const tl = timeline();
      const ref = suite.ref();
      const etcd = suite.etcd();
      const root = await suite.root('compact-ha');
      expect(ref.fx.tenants.length).toBe(2);
      const [first, second] = ref.fx.tenants.map((t) => t.tenant) as [string, string];
      const b = await fixtureBucket(root, 'bucket', ref.fx, [first]);
      const prefix = uniquePrefix('compact-singleton');
      const [p1, p2] = await ports(2);
      const env = { STRATA_DEBUG_PHASE_DELAY_MS: String(PHASE_DELAY_MS) };
      const replicas: Replica[] = [
        startCompactReplica({
          name: 'compact-a',
          objstore: b.objstore,
          dataDir: join(root, 'a'),
          httpPort: p1!,
          endpoints: etcd.endpoints,
          prefix,
          env,
        }),
        startCompactReplica({
          name: 'compact-b',
          objstore: b.objstore,
          dataDir: join(root, 'b'),
          httpPort: p2!,
          endpoints: etcd.endpoints,
          prefix,
          env,
        }),
      ];
      const diag = (): string => outputs(replicas);
      const sampler = sampleLeaders(replicas);
      try {
        const { leader } = await waitForSingleLeader(replicas);
        const electedAt = Date.now();
        const waiting = replicas.find((r) => r !== leader)!;
        tl.lap('leader');
        // The leader compacts the first tenant and goes on with passes (--wait-interval 1s).
        await waitConverged(b, ref, `the leader compacting ${first}`, diag, [first]);
        await waitForLines('two compaction passes of the leader', [leader.proc], passDone, 2);
        tl.lap('two passes');
        const leaderLog = logRecords(leader.proc.output());
        const epoch0 = Number(leaderLog.find((r) => r.msg === 'leading: compacting')?.epoch);
        expect(epoch0, 'epoch of the first term').toBeGreaterThan(0);
        expect(leaderLog.filter(passDone)[0]?.plans, 'plans of the first pass').not.toBe('0');
        // New blocks; the leader starts on them and dies in the middle.
        await uploadTenant(b, ref.fx, second);
        await waitForLines(
          `two plans of ${second} done by the leader`,
          [leader.proc],
          (r) => r.msg === 'compaction done' && r.tenant === second,
          2,
        );
        const doneAtKill = logRecords(leader.proc.output()).filter(
          (r) => r.msg === 'compaction done' && r.tenant === second,
        ).length;
        const passesAtKill = logRecords(leader.proc.output()).filter(passDone).length;
        // All along, the other one only waited: no pass, no step, never leading.
        const idle = logRecords(waiting.proc.output()).filter(
          (r) => passDone(r) || r.msg === 'debug: step' || r.msg === 'leading: compacting',
        );
        expect(idle, `${waiting.name} while not leading\n${diag()}`).toEqual([]);
        // Since the election, every sample both answered showed exactly one leader, the same one.
        const since = sampler.samples.filter((s) => s.at >= electedAt && s.answered.length === 2);
        expect(since.length, 'status samples with both replicas up').toBeGreaterThan(5);
        expect(
          notSoleLeader(sampler.samples, leader.name, electedAt, Date.now()),
          'samples without exactly one leader',
        ).toEqual([]);
        tl.lap('mid-pass');
        const killedAt = Date.now();
        await leader.proc.stop('SIGKILL', 5000);
        const { at } = await waitUntilLeader(waiting);
        const failover = at - killedAt;
        tl.lap('take-over');
        console.info(
          `strata compact SIGKILL: ${waiting.name} reports leader after ${failover} ms (TTL ${TTL_MS} ms; ` +
            `${doneAtKill} plans of ${second} done, ${passesAtKill} passes at the kill)`,
        );
        expect(failover, `fail-over time\n${diag()}`).toBeLessThan(FAILOVER_LIMIT_MS);
        // The dead leader's pass over the second tenant never finished.
        expect(
          (await liveShape(b.bucket, second)).length,
          `${second} live blocks at the take-over`,
        ).toBeGreaterThan(ref.end.shapes.get(second)!.length);

        await waitConverged(b, ref, 'after the SIGKILL of the compacting replica', diag);
        expect(
          Number(logRecords(waiting.proc.output()).find((r) => r.msg === 'leading: compacting')?.epoch),
          'epoch of the new term',
        ).toBeGreaterThan(epoch0);
        tl.lap('converged');
        const takeover = logRecords(waiting.proc.output());
        expect(takeover.some((r) => r.msg === 'leading: compacting')).toBe(true);
        expect(
          takeover.filter((r) => r.msg === 'compaction done' && r.tenant === second).length,
          `plans of ${second} the new leader ran`,
        ).toBeGreaterThan(0);
        await sampler.stop();
        await waiting.proc.stop('SIGTERM', 30_000);
        expect(waiting.proc.child.exitCode, diag()).toBe(0);
        const end = await endState(b.bucket, ref.fx, join(root, 'scratch'));
        for (const t of ref.fx.tenants) {
          expect(end.shapes.get(t.tenant), `${t.tenant} live blocks vs strata compact`).toEqual(
            ref.end.shapes.get(t.tenant),
          );
          expect(
            diffDumps(ref.end.dumps.get(t.tenant)!, end.dumps.get(t.tenant)!),
            `${t.tenant} data vs strata compact`,
          ).toBeUndefined();
        }
        tl.lap('checked');
        console.info(`strata compact HA: ${tl.text()}`);
      } finally {
        await sampler.stop();
        await Promise.all(replicas.map((r) => r.proc.stop('SIGTERM', 10_000)));
        await b.bucket.close();
      }
    },
  );
});
