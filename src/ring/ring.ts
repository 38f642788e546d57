/**
 * The ring at one moment: who owns which key. Pure; built from the members and a time.
 *
 * Ownership as Cortex's compactor computes it (`Ring.Get` with replication factor 1 and
 * `RingOp` = ACTIVE): a key belongs to the instance holding the first token strictly greater
 * than the key, wrapping past 2^32 - 1 to the smallest token. A token held by several instances
 * belongs to the one with the greatest ID (Cortex fills its token map in ID order, the last
 * write wins).
 *
 * When that instance is not healthy (not ACTIVE, or its heartbeat is older than the timeout),
 * Cortex leaves the key unowned until the instance is forgotten. Strata by default walks on to
 * the next token of a healthy instance instead, so a dead member's keys move after the heartbeat
 * timeout rather than after the auto-forget delay; `strict` gives Cortex's answer. The two only
 * differ on keys Cortex leaves unowned, so a mixed fleet never has two owners from this rule.
 */
import { fnv1a32Words, tenantKey } from './hash.js';
import { isHealthy, type RingInstance } from './model.js';

export interface HashRingOptions {
  /** Epoch milliseconds at which health is judged. */
  nowMs: number;
  /** Heartbeat age after which an instance is unhealthy; 0 disables (Cortex: 1 m). */
  heartbeatTimeoutMs: number;
}

/** 2^32: the size of the token space. */
export const TOKEN_SPACE = 0x1_0000_0000;

export class HashRing {
  /** Every member, sorted by ID. */
  readonly instances: readonly RingInstance[];
  readonly nowMs: number;
  readonly heartbeatTimeoutMs: number;
  /** Distinct tokens of every member, ascending. */
  readonly tokens: Uint32Array;
  /** Per entry of `tokens`: index of its owner in `instances`. */
  private readonly owners: Int32Array;
  private readonly healthy: readonly boolean[];
  /** The same for healthy members only. */
  private readonly liveTokens: Uint32Array;
  private readonly liveOwners: Int32Array;
  private readonly byId: ReadonlyMap<string, number>;

  constructor(instances: readonly RingInstance[], opts: HashRingOptions) {
    const sorted = [...instances].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.instances = sorted;
    this.nowMs = opts.nowMs;
    this.heartbeatTimeoutMs = opts.heartbeatTimeoutMs;
    this.byId = new Map(sorted.map((inst, i) => [inst.id, i]));
    this.healthy = sorted.map((inst) => isHealthy(inst, opts.nowMs, opts.heartbeatTimeoutMs));
    [this.tokens, this.owners] = tokenTable(sorted, () => true);
    [this.liveTokens, this.liveOwners] = tokenTable(sorted, (i) => this.healthy[i]!);
  }

  get size(): number {
    return this.instances.length;
  }

  instance(id: string): RingInstance | undefined {
    const i = this.byId.get(id);
    return i === undefined ? undefined : this.instances[i];
  }

  /** ACTIVE with a fresh heartbeat. */
  isHealthy(id: string): boolean {
    const i = this.byId.get(id);
    return i !== undefined && this.healthy[i]!;
  }

  healthyInstances(): RingInstance[] {
    return this.instances.filter((_, i) => this.healthy[i]);
  }

  /** Zones of every member, sorted (`''` for members without a zone). */
  zones(): string[] {
    return [...new Set(this.instances.map((i) => i.zone))].sort();
  }

  /** The owner of `tokens[index]`. */
  ownerAt(index: number): RingInstance {
    return this.instances[this.owners[index]!]!;
  }

  /** The owner of a 32-bit key, or undefined when nobody owns it (see the module comment). */
  ownerOfKey(key: number, strict = false): RingInstance | undefined {
    const k = key >>> 0;
    if (strict) {
      if (this.tokens.length === 0) return undefined;
      const i = this.owners[successor(this.tokens, k)]!;
      return this.healthy[i] ? this.instances[i] : undefined;
    }
    if (this.liveTokens.length === 0) return undefined;
    return this.instances[this.liveOwners[successor(this.liveTokens, k)]!];
  }

  ownerOfTenant(tenant: string, strict = false): RingInstance | undefined {
    return this.ownerOfKey(tenantKey(tenant), strict);
  }

  /**
   * Fraction of the token space each member's tokens cover (Cortex's ring page "Ownership"):
   * the token t_i owns [t_(i-1), t_i). Every member is listed, health aside.
   */
  ownership(): Map<string, number> {
    const owned = new Map<string, number>(this.instances.map((i) => [i.id, 0]));
    const n = this.tokens.length;
    for (let i = 0; i < n; i++) {
      const prev = this.tokens[(i + n - 1) % n]!;
      const cur = this.tokens[i]!;
      const span = n === 1 ? TOKEN_SPACE : (cur - prev + TOKEN_SPACE) % TOKEN_SPACE;
      const id = this.instances[this.owners[i]!]!.id;
      owned.set(id, owned.get(id)! + span / TOKEN_SPACE);
    }
    return owned;
  }

  /**
   * A fingerprint of the healthy members and everything of theirs that decides ownership (ID,
   * address, zone, tokens, registration time; not the heartbeat time). Equal fingerprints, equal
   * ownership. What Cortex's WaitRingStability compares.
   */
  topologyKey(): string {
    const parts: string[] = [];
    this.instances.forEach((inst, i) => {
      if (!this.healthy[i]) return;
      const toks = `${inst.tokens.length}:${fnv1a32Words(inst.tokens).toString(16)}`;
      parts.push([inst.id, inst.addr, inst.zone, inst.registeredSec, toks].join('\u0000'));
    });
    return parts.join('\u0001');
  }
}

/** Index of the first token strictly greater than `key`, wrapping to 0. `tokens` is not empty. */
export function successor(tokens: Uint32Array, key: number): number {
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (tokens[mid]! > key) hi = mid;
    else lo = mid + 1;
  }
  return lo === tokens.length ? 0 : lo;
}

/**
 * Distinct tokens of the members `include` accepts, ascending, with the index of their owner;
 * a shared token goes to the member with the greatest index (= greatest ID).
 */
function tokenTable(
  instances: readonly RingInstance[],
  include: (index: number) => boolean,
): [Uint32Array, Int32Array] {
  if (instances.length >= 1 << 20) throw new RangeError('more than 2^20 ring members');
  let n = 0;
  instances.forEach((inst, i) => {
    if (include(i)) n += inst.tokens.length;
  });
  // token * 2^20 + index stays below 2^52: exact in a double, and sorts by (token, index).
  const packed = new Float64Array(n);
  let k = 0;
  instances.forEach((inst, i) => {
    if (!include(i)) return;
    for (const t of inst.tokens) packed[k++] = (t >>> 0) * 0x10_0000 + i;
  });
  packed.sort();
  const tokens = new Uint32Array(n);
  const owners = new Int32Array(n);
  let m = 0;
  for (let j = 0; j < n; j++) {
    const token = Math.floor(packed[j]! / 0x10_0000);
    const owner = packed[j]! - token * 0x10_0000;
    if (m > 0 && tokens[m - 1] === token) owners[m - 1] = owner;
    else {
      tokens[m] = token;
      owners[m] = owner;
      m++;
    }
  }
  return [tokens.slice(0, m), owners.slice(0, m)];
}
