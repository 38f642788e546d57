/**
 * A Bucket that counts and times operations: prom-client metrics on the Registry passed in (names
 * follow Thanos' objstore_bucket_* metrics), plus plain counters that tests and benchmarks read.
 * One operation is one Bucket call, not one HTTP request (a 250-key listing is one 'iter').
 * Not-found answers are expected results, not failures.
 */
import type { Readable } from 'node:stream';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Bucket, IterEntry, IterOptions, ObjectAttributes, UploadBody } from './bucket.js';

export const BUCKET_OPERATIONS = [
  'get',
  'get_range',
  'get_stream',
  'upload',
  'upload_file',
  'download_file',
  'delete',
  'delete_many',
  'exists',
  'attributes',
  'iter',
] as const;

export type BucketOperation = (typeof BUCKET_OPERATIONS)[number];
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

export class InstrumentedBucket implements Bucket {
  readonly name: string;
  readonly #inner: Bucket;
  readonly #metrics: Metrics | undefined;
  readonly #now: () => number;
  #ops: OperationCounts = zeroCounts();
  #failures: OperationCounts = zeroCounts();

  constructor(inner: Bucket, deps: InstrumentedBucketDeps = {}) {
    this.#inner = inner;
    this.name = inner.name;
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

  get(key: string): Promise<Buffer> {
    return this.#track('get', () => this.#inner.get(key));
  }

  getRange(key: string, offset: number, length: number): Promise<Buffer> {
    return this.#track('get_range', () => this.#inner.getRange(key, offset, length));
  }

  getStream(key: string): Promise<Readable> {
    return this.#track('get_stream', () => this.#inner.getStream(key));
  }

  upload(key: string, body: UploadBody, size?: number): Promise<void> {
    return this.#track('upload', () => this.#inner.upload(key, body, size));
  }

  uploadFile(key: string, localPath: string): Promise<void> {
    return this.#track('upload_file', () => this.#inner.uploadFile(key, localPath));
  }

  downloadFile(key: string, localPath: string): Promise<void> {
    return this.#track('download_file', () => this.#inner.downloadFile(key, localPath));
  }

  delete(key: string): Promise<void> {
    return this.#track('delete', () => this.#inner.delete(key));
  }

  deleteMany(keys: readonly string[]): Promise<void> {
    return this.#track('delete_many', () => this.#inner.deleteMany(keys));
  }

  exists(key: string): Promise<boolean> {
    return this.#track('exists', () => this.#inner.exists(key));
  }

  attributes(key: string): Promise<ObjectAttributes> {
    return this.#track('attributes', () => this.#inner.attributes(key));
  }

  async *iter(prefix: string, options?: IterOptions): AsyncGenerator<IterEntry> {
    const start = this.#begin('iter');
    let failed: unknown;
    try {
      yield* this.#inner.iter(prefix, options);
    } catch (err) {
      failed = err;
      throw err;
    } finally {
      this.#end('iter', start, failed);
    }
  }

  isNotFound(err: unknown): boolean {
    return this.#inner.isNotFound(err);
  }

  close(): Promise<void> {
    return this.#inner.close();
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
    if (err !== undefined && !this.#inner.isNotFound(err)) {
      this.#failures[op] += 1;
      this.#metrics?.failures.inc(labels);
    }
  }
}
