/**
 * A Bucket that counts and times operations: prom-client metrics on the Registry passed in (names
 * follow Thanos' objstore_bucket_* metrics), plus plain counters that tests and benchmarks read.
 * One operation is one Bucket call, not one HTTP request (a 250-key listing is one 'iter').
 * Not-found answers are expected results, not failures.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import {
  BUCKET_OPERATIONS,
  type Bucket,
  type BucketOperation,
  type IterEntry,
  type IterOptions,
} from './bucket.js';
import { ForwardingBucket, type RequestOperation } from './forwarding.js';

export type OperationCounts = Record<BucketOperation, number>;

export interface InstrumentedBucketDeps {
  registry?: Registry;
  /** Monotonic milliseconds (default performance.now). */
  now?: () => number;
}

type Labels = 'bucket' | 'operation';

interface Metrics {
  ops: Counter<Labels>;
  failures: Counter<Labels>;
  duration: Histogram<Labels>;
}

const metricsByRegistry = new WeakMap<Registry, Metrics>();

/** One set of metrics per registry, shared by every instrumented bucket registered on it. */
function metricsFor(registry: Registry): Metrics {
  const existing = metricsByRegistry.get(registry);
  if (existing) return existing;
  const labelNames: Labels[] = ['bucket', 'operation'];
  const m: Metrics = {
    ops: new Counter({
      name: 'strata_objstore_bucket_operations_total',
      help: 'Object storage operations, by bucket and operation.',
      labelNames,
      registers: [registry],
    }),
    failures: new Counter({
      name: 'strata_objstore_bucket_operation_failures_total',
      help: 'Object storage operations that failed (not-found answers excluded).',
      labelNames,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'strata_objstore_bucket_operation_duration_seconds',
      help: 'Duration of object storage operations (iter: until the listing is consumed).',
      labelNames,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
  };
  metricsByRegistry.set(registry, m);
  return m;
}

function zeroCounts(): OperationCounts {
  return Object.fromEntries(BUCKET_OPERATIONS.map((op) => [op, 0])) as OperationCounts;
}

export class InstrumentedBucket extends ForwardingBucket {
  readonly #metrics: Metrics | undefined;
  readonly #now: () => number;
  #ops: OperationCounts = zeroCounts();
  #failures: OperationCounts = zeroCounts();

  constructor(inner: Bucket, deps: InstrumentedBucketDeps = {}) {
    super(inner);
    this.#metrics = deps.registry ? metricsFor(deps.registry) : undefined;
    this.#now = deps.now ?? (() => performance.now());
    if (this.#metrics) {
      // Export zeros so rate() works from the first scrape.
      for (const op of BUCKET_OPERATIONS) {
        this.#metrics.ops.inc({ bucket: this.name, operation: op }, 0);
        this.#metrics.failures.inc({ bucket: this.name, operation: op }, 0);
      }
    }
  }

  /** Operations started, by operation, since creation or the last reset. */
  operationCounts(): OperationCounts {
    return { ...this.#ops };
  }

  failureCounts(): OperationCounts {
    return { ...this.#failures };
  }

  totalOperations(): number {
    return BUCKET_OPERATIONS.reduce((n, op) => n + this.#ops[op], 0);
  }

  /** Resets the plain counters only; Prometheus counters never go down. */
  resetCounts(): void {
    this.#ops = zeroCounts();
    this.#failures = zeroCounts();
  }

  protected override call<T>(op: RequestOperation, fn: () => Promise<T>): Promise<T> {
    return this.#track(op, fn);
  }

  override async *iter(prefix: string, options?: IterOptions): AsyncGenerator<IterEntry> {
    const start = this.#begin('iter');
    let failed: unknown;
    try {
      yield* this.inner.iter(prefix, options);
    } catch (err) {
      failed = err;
      throw err;
    } finally {
      this.#end('iter', start, failed);
    }
  }

  async #track<T>(op: BucketOperation, fn: () => Promise<T>): Promise<T> {
    const start = this.#begin(op);
    try {
      const v = await fn();
      this.#end(op, start, undefined);
      return v;
    } catch (err) {
      this.#end(op, start, err ?? new Error('undefined thrown'));
      throw err;
    }
  }

  #begin(op: BucketOperation): number {
    this.#ops[op] += 1;
    this.#metrics?.ops.inc({ bucket: this.name, operation: op });
    return this.#now();
  }

  #end(op: BucketOperation, start: number, err: unknown): void {
    const labels = { bucket: this.name, operation: op };
    this.#metrics?.duration.observe(labels, (this.#now() - start) / 1000);
    if (err !== undefined && !this.inner.isNotFound(err)) {
      this.#failures[op] += 1;
      this.#metrics?.failures.inc(labels);
    }
  }
}
