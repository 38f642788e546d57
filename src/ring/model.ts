/**
 * The ring's members as plain values, read from a Cortex `ring.Desc`, and the few edits the
 * lifecycler makes to a descriptor. Edits change the descriptor's own message objects in place,
 * so fields of a newer schema (kept by protobuf-es on each message) survive the write-back.
 */
import { create } from '@bufbuild/protobuf';
import {
  InstanceDescSchema,
  InstanceState,
  type Desc,
  type InstanceDesc,
} from '../../gen/cortex/ring/ring_pb.js';

export { InstanceState };
export type { Desc, InstanceDesc };

/** Wall-clock time in epoch milliseconds (heartbeats are unix seconds, compared across hosts). */
export interface WallClock {
  now(): number;
}

export const systemClock: WallClock = { now: () => Date.now() };

export interface RingInstance {
  readonly id: string;
  readonly addr: string;
  /** Unix seconds of the latest heartbeat (Cortex `timestamp`). */
  readonly heartbeatSec: number;
  readonly state: InstanceState;
  /** Sorted ascending, unsigned 32-bit. */
  readonly tokens: readonly number[];
  readonly zone: string;
  /** Unix seconds of the first registration; 0 = unknown (Cortex `registered_timestamp`). */
  readonly registeredSec: number;
}

/** The members of a descriptor, sorted by ID, tokens sorted (older writers did not sort). */
export function instancesOf(desc: Desc): RingInstance[] {
  const out: RingInstance[] = [];
  for (const id of Object.keys(desc.ingesters).sort()) {
    const d = desc.ingesters[id]!;
    out.push({
      id,
      addr: d.addr,
      heartbeatSec: Number(d.timestamp),
      state: d.state,
      tokens: sortedTokens(d.tokens),
      zone: d.zone,
      registeredSec: Number(d.registeredTimestamp),
    });
  }
  return out;
}

function sortedTokens(tokens: readonly number[]): number[] {
  const out = tokens.map((t) => t >>> 0);
  for (let i = 1; i < out.length; i++) {
    if (out[i - 1]! > out[i]!) return out.sort((a, b) => a - b);
  }
  return out;
}

/** ACTIVE, LEAVING... or `UNKNOWN(n)` for a state from a newer schema. */
export function stateName(state: InstanceState): string {
  return InstanceState[state] ?? `UNKNOWN(${String(state)})`;
}

/**
 * Cortex's heartbeat check: healthy while `now - heartbeat <= timeout` (both at one-second
 * precision of the heartbeat); a timeout of 0 disables the check.
 */
export function isHeartbeatHealthy(inst: RingInstance, nowMs: number, heartbeatTimeoutMs: number): boolean {
  if (heartbeatTimeoutMs <= 0) return true;
  return nowMs - inst.heartbeatSec * 1000 <= heartbeatTimeoutMs;
}

/** Owns keys: ACTIVE (Cortex's compactor `RingOp`) and heartbeating. */
export function isHealthy(inst: RingInstance, nowMs: number, heartbeatTimeoutMs: number): boolean {
  return inst.state === InstanceState.ACTIVE && isHeartbeatHealthy(inst, nowMs, heartbeatTimeoutMs);
}

/** The entry of `id` (own property only: IDs like "constructor" must not find Object's). */
export function instanceEntry(desc: Desc, id: string): InstanceDesc | undefined {
  return Object.hasOwn(desc.ingesters, id) ? desc.ingesters[id] : undefined;
}

export interface InstanceFields {
  addr: string;
  zone: string;
  state: InstanceState;
  tokens: readonly number[];
  heartbeatSec: number;
  /** Set only when the instance is new; an existing value (even 0) is never replaced. */
  registeredSec: number;
}

/**
 * Creates or updates the entry of `id`, reusing its message object when there is one (its
 * unknown fields stay). Returns the entry.
 */
export function putInstance(desc: Desc, id: string, f: InstanceFields): InstanceDesc {
  let d = instanceEntry(desc, id);
  if (d === undefined) {
    d = create(InstanceDescSchema, { registeredTimestamp: BigInt(Math.trunc(f.registeredSec)) });
    desc.ingesters[id] = d;
  }
  d.addr = f.addr;
  d.zone = f.zone;
  d.state = f.state;
  d.tokens = f.tokens.map((t) => t >>> 0);
  d.timestamp = BigInt(Math.trunc(f.heartbeatSec));
  return d;
}

export function removeInstance(desc: Desc, id: string): boolean {
  if (!Object.hasOwn(desc.ingesters, id)) return false;
  delete desc.ingesters[id];
  return true;
}

/**
 * Cortex's `AutoForgetFromRing`: removes every instance (except `keep`) whose latest heartbeat
 * is older than `forgetDelayMs`. Returns the removed IDs; 0 disables.
 */
export function autoForget(desc: Desc, nowMs: number, forgetDelayMs: number, keep: string): string[] {
  if (forgetDelayMs <= 0) return [];
  const removed: string[] = [];
  for (const [id, d] of Object.entries(desc.ingesters)) {
    if (id === keep) continue;
    if (nowMs - Number(d.timestamp) * 1000 > forgetDelayMs) {
      delete desc.ingesters[id];
      removed.push(id);
    }
  }
  return removed.sort();
}

export function sameTokens(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  const x = sortedTokens(a);
  const y = sortedTokens(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

export function nowSeconds(clock: WallClock): number {
  return Math.floor(clock.now() / 1000);
}
