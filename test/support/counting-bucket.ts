/** A Bucket wrapper that counts requests by operation (range-read counting in store tests). */
import type { Bucket } from '../../src/objstore/bucket.js';
import { ForwardingBucket, type RequestOperation } from '../../src/objstore/forwarding.js';

export class CountingBucket extends ForwardingBucket {
  readonly counts = new Map<RequestOperation, number>();
  /** Bytes returned by getRange calls. */
  rangeBytes = 0;

  constructor(inner: Bucket) {
    super(inner);
  }

  protected override call<T>(op: RequestOperation, fn: () => Promise<T>): Promise<T> {
    this.counts.set(op, (this.counts.get(op) ?? 0) + 1);
    return fn().then((r) => {
      if (op === 'get_range' && Buffer.isBuffer(r)) this.rangeBytes += r.length;
      return r;
    });
  }

  count(op: RequestOperation): number {
    return this.counts.get(op) ?? 0;
  }

  reset(): void {
    this.counts.clear();
    this.rangeBytes = 0;
  }
}
