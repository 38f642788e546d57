/**
 * One request over the store groups. Replica groups (STORE/QUERY): two members at once, the first
 * answer that completes without error wins and the other is aborted; if both fail, the remaining
 * members one by one. SOURCE groups: every member, all awaited (bounded by the response timeout),
 * each answer kept. A call must buffer its whole answer before resolving, so "first" means first
 * complete. Other replica strategies exist to measure the default against (bench/query.ts):
 * one random member (the rest one by one on failure), or all members awaited.
 */
import { errorMessage } from '../util/errors.js';
import type { Endpoint, StoreGroup } from './endpoints.js';
import { hedgeOrder, randomOrder } from './groups.js';
import type { QueryMetrics } from './metrics.js';

export type MemberCall<T> = (ep: Endpoint, signal: AbortSignal) => Promise<T>;

export interface GroupOutcome<T> {
  readonly group: StoreGroup;
  /** One answer for a replica group, one per answering member for a source group. */
  readonly answers: T[];
  /** Set when the group failed as a whole (replica) or a member failed (source). */
  readonly failure?: string;
}

/** How a replica group is asked: two random members + first answer (default), one, or all. */
export type ReplicaStrategy = 'two-random' | 'one-random' | 'all';
export const REPLICA_STRATEGIES: readonly ReplicaStrategy[] = ['two-random', 'one-random', 'all'];

export interface FanOutOptions {
  readonly api: string;
  /** Default two-random. */
  readonly replicaStrategy?: ReplicaStrategy;
  readonly metrics: QueryMetrics;
  /** 0: no limit. */
  readonly responseTimeoutMs: number;
  readonly random: () => number;
  readonly now: () => number;
  readonly signal?: AbortSignal;
}

function memberError(ep: Endpoint, err: unknown): string {
  return `${ep.address}: ${errorMessage(err)}`;
}

/** Runs `call` on one member, recording its health; aborted calls do not count as failures. */
async function attempt<T>(
  ep: Endpoint,
  call: MemberCall<T>,
  signal: AbortSignal,
  now: () => number,
): Promise<T> {
  const start = now();
  try {
    const r = await call(ep, signal);
    ep.succeeded(now() - start);
    return r;
  } catch (err) {
    if (!signal.aborted) ep.failed(err);
    throw err;
  }
}

async function askReplicas<T>(
  g: StoreGroup,
  call: MemberCall<T>,
  o: FanOutOptions,
): Promise<GroupOutcome<T>> {
  const strategy = o.replicaStrategy ?? 'two-random';
  const order =
    strategy === 'one-random' ? randomOrder(g.members, o.random) : hedgeOrder(g.members, o.random);
  const errors: string[] = [];
  const parent = o.signal ?? new AbortController().signal;
  // The first wave at once: two members (or one, or all); the first complete answer wins.
  const wave = strategy === 'two-random' ? 2 : strategy === 'one-random' ? 1 : order.length;
  const pair = order.slice(0, wave).map((ep) => ({ ep, ac: new AbortController(), done: false }));
  const won = await new Promise<{ value: T; index: number } | undefined>((resolve) => {
    let pending = pair.length;
    let first: { value: T; index: number } | undefined;
    if (pending === 0) resolve(undefined);
    pair.forEach((p, index) => {
      attempt(p.ep, call, AbortSignal.any([p.ac.signal, parent]), o.now).then(
        (value) => {
          p.done = true;
          // 'all' waits for every member; the first answer that arrived is kept.
          if (strategy !== 'all') resolve({ value, index });
          else first ??= { value, index };
          if (--pending === 0) resolve(first);
        },
        (err: unknown) => {
          p.done = true;
          if (!p.ac.signal.aborted) errors.push(memberError(p.ep, err));
          if (--pending === 0) resolve(first);
        },
      );
    });
  });
  if (won !== undefined) {
    for (const p of pair) {
      if (!p.done) {
        p.ac.abort();
        o.metrics.cancelled.inc({ group: g.name });
      }
    }
    if (won.index === 1 && strategy === 'two-random') o.metrics.hedgedWins.inc({ group: g.name });
    return { group: g, answers: [won.value] };
  }
  for (const ep of order.slice(wave)) {
    if (parent.aborted) break;
    try {
      return { group: g, answers: [await attempt(ep, call, parent, o.now)] };
    } catch (err) {
      errors.push(memberError(ep, err));
    }
  }
  return { group: g, answers: [], failure: errors.join('; ') || 'no members' };
}

async function askSources<T>(g: StoreGroup, call: MemberCall<T>, o: FanOutOptions): Promise<GroupOutcome<T>> {
  const signals = [o.signal, o.responseTimeoutMs > 0 ? AbortSignal.timeout(o.responseTimeoutMs) : undefined];
  const signal = AbortSignal.any(signals.filter((s): s is AbortSignal => s !== undefined));
  const settled = await Promise.allSettled(g.members.map((ep) => attempt(ep, call, signal, o.now)));
  const answers: T[] = [];
  const errors: string[] = [];
  settled.forEach((s, i) => {
    if (s.status === 'fulfilled') answers.push(s.value);
    else errors.push(memberError(g.members[i]!, s.reason));
  });
  return errors.length === 0 ? { group: g, answers } : { group: g, answers, failure: errors.join('; ') };
}

/** Asks every group; never rejects (failures are in the outcomes). */
export async function fanOut<T>(
  groups: readonly StoreGroup[],
  call: MemberCall<T>,
  o: FanOutOptions,
): Promise<GroupOutcome<T>[]> {
  return Promise.all(
    groups.map(async (g) => {
      const start = o.now();
      const r = g.kind === 'replica' ? await askReplicas(g, call, o) : await askSources(g, call, o);
      o.metrics.groupLatency.observe({ group: g.name }, (o.now() - start) / 1000);
      o.metrics.groupRequests.inc({ group: g.name, api: o.api, outcome: r.failure ? 'failed' : 'success' });
      return r;
    }),
  );
}
