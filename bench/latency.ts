/**
 * A Bucket that waits a fixed time before every request, so benchmarks on a local bucket show
 * how request counts turn into wall time on a remote store. A listing pays once per page of
 * `pageSize` entries, as S3's ListObjectsV2 would. Benchmark and test scaffolding: not in src/.
 */
import type { Bucket, IterEntry, IterOptions } from '../src/objstore/bucket.js';
import { ForwardingBucket, type RequestOperation } from '../src/objstore/forwarding.js';
import { realSleep, type Sleep } from '../src/objstore/retry.js';

export interface LatencyBucketOptions {
  delayMs: number;
  /** Entries per simulated listing page (default 1000). */
  pageSize?: number;
  sleep?: Sleep;
}

export class LatencyBucket extends ForwardingBucket {
  readonly #delayMs: number;
  readonly #pageSize: number;
  readonly #sleep: Sleep;

  constructor(inner: Bucket, options: LatencyBucketOptions) {
    super(inner);
    this.#delayMs = Math.max(0, options.delayMs);
    this.#pageSize = Math.max(1, options.pageSize ?? 1000);
    this.#sleep = options.sleep ?? realSleep;
  }

  protected override async call<T>(_op: RequestOperation, fn: () => Promise<T>): Promise<T> {
    await this.#sleep(this.#delayMs);
    return fn();
  }

  override async *iter(prefix: string, options?: IterOptions): AsyncGenerator<IterEntry> {
    await this.#sleep(this.#delayMs);
    let n = 0;
    for await (const e of this.inner.iter(prefix, options)) {
      if (n > 0 && n % this.#pageSize === 0) await this.#sleep(this.#delayMs);
      n++;
      yield e;
    }
  }
}
