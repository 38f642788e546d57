/**
 * Helpers of the ring-sharding tests: `strata compact` / `strata planner` processes on a ring in a
 * real etcd, the flags that make them quick (sub-second heartbeats, short stability waits and
 * tenant leases), and the check that no two instances ever worked on one tenant at the same time,
 * read from their 'compaction started' / 'compaction done' log lines.
 */
import { join } from 'node:path';
import { expect } from 'vitest';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import type { HaFixture } from '../compactor/fixtures.js';
import {
  compactArgs,
  filesystemObjstore,
  logRecords,
  runStrataOk,
  startStrata,
  type StartOptions,
} from '../compactor/run.js';
import { liveKeys, readTenants, settled, uploadFixture, withOutputs } from '../planner/cluster.js';
import { partialBlocks } from '../compactor/inspect.js';
import { waitFor, type TrackedProcess } from '../support/processes.js';

export interface RingTimings {
  heartbeat?: string;
  timeout?: string;
  stabilityMin?: string;
  stabilityMax?: string;
  leaseTtl?: string;
}

/** The ring flags of a test instance. */
export function ringFlags(
  endpoints: readonly string[],
  prefix: string,
  id: string,
  t: RingTimings = {},
): string[] {
  return [
    '--sharding-ring.store',
    'etcd',
    '--sharding-ring.etcd.endpoints',
    endpoints.join(','),
    '--sharding-ring.prefix',
    prefix,
    '--sharding-ring.instance-id',
    id,
    '--sharding-ring.heartbeat-period',
    t.heartbeat ?? '300ms',
    '--sharding-ring.heartbeat-timeout',
    t.timeout ?? '3s',
    '--sharding-ring.wait-stability-min-duration',
    t.stabilityMin ?? '1s',
    '--sharding-ring.wait-stability-max-duration',
    t.stabilityMax ?? '10s',
    '--sharding-ring.tenant-lease-ttl',
    t.leaseTtl ?? '3s',
  ];
}

let prefixes = 0;

/** A ring prefix of its own for every test. */
export function freshPrefix(): string {
  return `/strata-test/${process.pid}/sharding-${Date.now()}-${++prefixes}/collectors/`;
}

/** A filesystem bucket holding the fixture. */
export async function fixtureBucket(dir: string, fx: HaFixture): Promise<FilesystemBucket> {
  const bucket = new FilesystemBucket({ directory: dir });
  await uploadFixture(bucket, fx);
  return bucket;
}

/** The end state one unsharded `strata compact` reaches on the fixture (live block keys per tenant). */
export async function referenceEndState(root: string, fx: HaFixture): Promise<Map<string, string[]>> {
  const ref = await fixtureBucket(join(root, 'ref'), fx);
  try {
    await runStrataOk(
      compactArgs({ objstore: filesystemObjstore(join(root, 'ref')), dataDir: join(root, 'ref-data') }),
    );
    return await liveKeys(ref, fx);
  } finally {
    await ref.close();
  }
}

/** `strata compact --wait` as ring instance `id`. */
export function startShardedCompact(
  o: {
    bucketDir: string;
    dataDir: string;
    endpoints: readonly string[];
    prefix: string;
    id: string;
    timings?: RingTimings;
  },
  start: StartOptions = {},
): TrackedProcess {
  return startStrata(
    compactArgs({
      objstore: filesystemObjstore(o.bucketDir),
      dataDir: o.dataDir,
      // A partial block in a held tenant is a dead owner's (nobody else uploads there): no wait.
      extra: [
        '--wait',
        '--wait-interval',
        '1s',
        '--partial-block-delete-delay',
        '1s',
        ...ringFlags(o.endpoints, o.prefix, o.id, o.timings),
      ],
    }),
    start,
  );
}

export interface WorkInterval {
  instance: string;
  tenant: string;
  plan: string;
  start: number;
  /** End of the plan; for a plan never done, when its process died (or Infinity). */
  end: number;
}

/** The plans a process ran, from its log lines; `diedAt` closes a plan that never finished. */
export function workIntervals(output: string, diedAt = Infinity): WorkInterval[] {
  const open = new Map<string, WorkInterval>();
  const out: WorkInterval[] = [];
  for (const r of logRecords(output)) {
    const t = Date.parse(r.ts ?? '');
    if (r.msg === 'compaction started' && r.plan !== undefined) {
      const w = { instance: r.instance ?? '', tenant: r.tenant ?? '', plan: r.plan, start: t, end: diedAt };
      open.set(r.plan, w);
      out.push(w);
    } else if (r.msg === 'compaction done' && r.plan !== undefined) {
      const w = open.get(r.plan);
      if (w !== undefined) w.end = t;
      open.delete(r.plan);
    }
  }
  return out;
}

/** No two instances worked on one tenant at overlapping times. */
export function expectNoConcurrentTenants(intervals: readonly WorkInterval[]): void {
  const byTenant = new Map<string, WorkInterval[]>();
  for (const w of intervals) {
    expect(w.instance, `plan ${w.plan} logged without its instance`).not.toBe('');
    const list = byTenant.get(w.tenant);
    if (list === undefined) byTenant.set(w.tenant, [w]);
    else list.push(w);
  }
  const clashes: string[] = [];
  for (const [tenant, list] of byTenant) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i]!;
        const b = list[j]!;
        if (a.instance !== b.instance && a.start < b.end && b.start < a.end) {
          clashes.push(`${tenant}: ${a.instance} ${a.plan} and ${b.instance} ${b.plan}`);
        }
      }
    }
  }
  expect(clashes, 'tenants worked on by two instances at once').toEqual([]);
}

/** Until every tenant's live blocks are `want` and nothing is left to clean. */
export async function converged(
  bucket: FilesystemBucket,
  fx: HaFixture,
  want: Map<string, string[]>,
  procs: readonly TrackedProcess[],
  timeoutMs = 150_000,
): Promise<void> {
  try {
    await waitFor(
      'the sharded instances to reach the reference state',
      async () => {
        const keys = await liveKeys(bucket, fx);
        const same = [...want].every(([t, k]) => JSON.stringify(keys.get(t)) === JSON.stringify(k));
        if (!same) return undefined;
        const states = await readTenants(bucket, fx);
        return [...states.values()].every((st) => settled(st) && partialBlocks(st).length === 0)
          ? true
          : undefined;
      },
      timeoutMs,
      500,
    );
  } catch (err) {
    throw withOutputs(err, procs);
  }
}
