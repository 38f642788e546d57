/**
 * The key-value store the ring lives in, as the lifecycler and the ring client need it. etcd is
 * the implementation (etcd-kv.ts); the interface lets pure logic be tested without one.
 */

/**
 * Computes the new value from the current one (undefined: the key is absent). Returning
 * undefined writes nothing. May run several times (once per conflict), each time on a freshly
 * decoded value, so editing `current` in place and returning it is safe. A throw aborts the CAS.
 */
export type CasUpdate<T> = (current: T | undefined) => T | undefined;

export interface CasResult<T> {
  /** False when the update returned undefined. */
  written: boolean;
  /** The value now stored as far as this CAS knows (the written one, or the one read). */
  value: T | undefined;
  /** Conflicts lost before the final attempt. */
  conflicts: number;
}

export interface KvWatchHandlers<T> {
  /** The key's new value (undefined: deleted). */
  value(value: T | undefined): void;
  /** A value that does not decode, or a broken watch stream (the watch keeps trying). */
  error(err: Error): void;
}

export interface KvWatch {
  close(): Promise<void>;
}

/** A key held while its holder keeps a lease alive (see RingKv.claim). */
export interface KvClaim {
  readonly key: string;
  /** Extends the lease; false when the lease is gone (the key with it). */
  keepAlive(): Promise<boolean>;
  /** Deletes the key (revokes the lease). */
  release(): Promise<void>;
}

export type ClaimOutcome = { ok: true; claim: KvClaim } | { ok: false; holder: string };

export interface RingKv<T> {
  get(key: string): Promise<T | undefined>;
  /** Read-modify-write, retried when another writer got in between. */
  cas(key: string, update: CasUpdate<T>): Promise<CasResult<T>>;
  watch(key: string, handlers: KvWatchHandlers<T>): KvWatch;
  /**
   * Creates `key` = `holder` tied to a lease of `ttlSeconds`, unless the key exists: then tells
   * who holds it. The key vanishes when the holder stops keeping the lease alive.
   */
  claim(key: string, holder: string, ttlSeconds: number): Promise<ClaimOutcome>;
  close(): Promise<void>;
}
