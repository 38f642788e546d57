/**
 * Highly available store groups: 2 groups × 3 `strata store` replicas (one bucket per group, its
 * own --store.group-id and external labels) behind one querier. A stopped replica costs no
 * latency (two random choices, first response), two dead replicas cost no answer, a dead group is
 * a partial-response warning or an error naming it. And a SOURCE group of two HA replicas is
 * deduplicated exactly as the compactor's penalty dedup does it.
 */
import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactBlocks } from '../../src/tsdb/compact/compact.js';
import { haFixture, type HaTenant } from '../compactor/fixtures.js';
import { promtoolDump } from '../services/prometheus.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import {
  decodeSeriesSamples,
  grpcError,
  samplesToDumpLines,
  storeApiClient,
  type SeriesAnswer,
  type StoreApiClient,
} from '../storeapi/client.js';
import {
  filesystemConfigFile,
  freshSeed,
  makeData,
  percentile,
  scratch,
  startQuery,
  startStore,
  stopAll,
  uploadBlocks,
  waitHealthyEndpoints,
  type QueryData,
  type Running,
  type Scratch,
} from './harness.js';

const seed = freshSeed();
const GROUPS = ['group-a', 'group-b'] as const;
const REQUESTS = 200;
/**
 * Rounds of REQUESTS per p99, the best kept: other test files share the machine, and a burst of
 * their load inflates one round's p99 (one run of CI: 79.5 ms against a bound of 73.6 ms), never
 * deflates it. A querier that waited on the stopped replica would be slow in every round.
 */
const ROUNDS = 3;
const SLACK_MS = 20;

let s: Scratch | undefined;
let data: QueryData;
const replicas: Record<string, Running[]> = {};
let partialQuery: Running | undefined;
let abortQuery: Running | undefined;
let partialClient: StoreApiClient | undefined;
let abortClient: StoreApiClient | undefined;
let healthy: SeriesAnswer | undefined;

beforeAll(async () => {
  s = await scratch('strata-groups-');
  data = await makeData(
    { seed, series: 12, startMs: 1_700_006_400_000, durationMs: 4 * 3600_000, churn: 0.3 },
    s.path('blocks'),
  );
  const starts: Promise<Running>[] = [];
  for (const g of GROUPS) {
    const bucket = s.path(`bucket-${g}`);
    // Same samples, different external labels: the groups hold different series.
    await uploadBlocks(
      bucket,
      data.blocks.map((b) => b.dir),
      { externalLabels: { group: g } },
    );
    const config = await filesystemConfigFile(s, bucket);
    for (let i = 0; i < 3; i++) {
      starts.push(
        startStore(
          { objstoreConfigFile: config, dataDir: s.path(`store-${g}-${i}`), groupId: g },
          `strata store ${g}/${i}`,
        ),
      );
    }
  }
  const all = await Promise.all(starts);
  replicas[GROUPS[0]] = all.slice(0, 3);
  replicas[GROUPS[1]] = all.slice(3);
  const endpoints = all.map((r) => r.grpc);
  [partialQuery, abortQuery] = await Promise.all([
    startQuery({ endpoints, partialResponse: true }, 'strata query (partial)'),
    startQuery({ endpoints }, 'strata query (abort)'),
  ]);
  await waitHealthyEndpoints(partialQuery, endpoints);
  await waitHealthyEndpoints(abortQuery, endpoints);
  partialClient = storeApiClient(partialQuery.grpc);
  abortClient = storeApiClient(abortQuery.grpc);
}, 120_000);

afterAll(async () => {
  partialClient?.close();
  abortClient?.close();
  await stopAll([...Object.values(replicas).flat(), partialQuery, abortQuery]);
  await s?.cleanup();
  await assertNoLeakedProcesses();
});

const request = (): Parameters<StoreApiClient['series']>[0] => ({
  minTime: data.minTime,
  maxTime: data.maxTime,
  matchers: [{ type: 'EQ', name: '__name__', value: 'strata_gen_requests_total' }],
});

/** The answer as comparable lines: every sample with its full label set. */
function lines(a: SeriesAnswer): string[] {
  return samplesToDumpLines(decodeSeriesSamples(a.series));
}

/** `n` sequential Series calls; returns latencies (ms) and throws on the first failure. */
async function timed(n: number, client: StoreApiClient, want: string[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const a = await client.series(request());
    out.push(performance.now() - t0);
    expect(a.warnings, `request ${i}`).toEqual([]);
    expect(lines(a), `request ${i}: complete answer`).toEqual(want);
  }
  return out;
}

/** The lowest p99 of ROUNDS rounds of REQUESTS sequential Series calls. */
async function bestP99(want: string[]): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++)
    best = Math.min(best, percentile(await timed(REQUESTS, partialClient!, want), 99));
  return best;
}

describe(`store groups: 2 groups × 3 replicas (seed ${seed})`, () => {
  let healthyP99 = 0;

  it('all healthy: both groups answer, 3 rounds of 200 sequential Series requests', async () => {
    healthy = await partialClient!.series(request());
    const want = lines(healthy);
    for (const g of GROUPS)
      expect(
        healthy.series.some((x) => x.labels.group === g),
        g,
      ).toBe(true);
    expect(want.length).toBe(
      2 * data.samples.filter((x) => x.labels.__name__ === 'strata_gen_requests_total').length,
    );
    await timed(20, partialClient!, want); // warm-up
    healthyP99 = await bestP99(want);
  }, 120_000);

  it('one replica SIGSTOPped: p99 within 20% (+20 ms slack) of healthy and no failure (best of 3 rounds each)', async () => {
    const victim = replicas[GROUPS[0]]![0]!;
    victim.signal('SIGSTOP');
    try {
      const p99 = await bestP99(lines(healthy!));
      console.log(`p99 healthy ${healthyP99.toFixed(1)} ms, one replica stopped ${p99.toFixed(1)} ms`);
      expect(p99).toBeLessThanOrEqual(healthyP99 * 1.2 + SLACK_MS);
    } finally {
      victim.signal('SIGCONT');
    }
  }, 120_000);

  it('two replicas of a group SIGKILLed: no failure', async () => {
    const [a, b] = replicas[GROUPS[1]]!;
    a!.signal('SIGKILL');
    b!.signal('SIGKILL');
    await timed(50, partialClient!, lines(healthy!));
    await timed(20, abortClient!, lines(healthy!));
  });

  it('a whole group dead: a warning naming it (partial response) or an error naming it (abort)', async () => {
    replicas[GROUPS[1]]![2]!.signal('SIGKILL');
    const partial = await partialClient!.series(request());
    expect(partial.warnings.join('\n')).toContain(GROUPS[1]);
    // The other group's series are all there.
    const rest = lines(healthy!).filter((l) => l.includes(`group="${GROUPS[0]}"`));
    expect(lines(partial)).toEqual(rest);

    const err = await abortClient!.series({ ...request(), partialResponseDisabled: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, 'abort mode must fail').toBeDefined();
    expect(grpcError(err).message).toContain(GROUPS[1]);
    // Both keep serving: the live group still answers.
    const again = await partialClient!.series({
      ...request(),
      matchers: [...request().matchers, { type: 'EQ', name: 'group', value: GROUPS[0] }],
    });
    expect(lines(again)).toEqual(rest);
  });
});

describe('SOURCE group: HA replicas deduplicated like the compactor (penalty)', () => {
  let tenant: HaTenant;
  let src: Running[] = [];
  let q: Running | undefined;
  let client: StoreApiClient | undefined;

  beforeAll(async () => {
    const fx = await haFixture({
      windows: 6,
      series: 6,
      seed: 31,
      tenants: [{ tenant: 'ha', kind: 'offset' }],
    });
    tenant = fx.tenants[0]!;
    const starts: Promise<Running>[] = [];
    for (const r of ['r1', 'r2']) {
      const bucket = s!.path(`ha-${r}`);
      await uploadBlocks(
        bucket,
        tenant.blocks.filter((b) => b.replica === r).map((b) => b.dir),
      );
      const config = await filesystemConfigFile(s!, bucket);
      starts.push(
        startStore(
          { objstoreConfigFile: config, dataDir: s!.path(`src-${r}`), peerType: 'source' },
          `strata store source ${r}`,
        ),
      );
    }
    src = await Promise.all(starts);
    q = await startQuery(
      { endpoints: src.map((x) => x.grpc), replicaLabel: 'replica', dedupFunc: 'penalty' },
      'strata query (dedup)',
    );
    await waitHealthyEndpoints(
      q,
      src.map((x) => x.grpc),
    );
    client = storeApiClient(q.grpc);
  }, 120_000);

  afterAll(async () => {
    client?.close();
    await stopAll([...src, q]);
  });

  it('gives exactly the samples of strata tsdb compact --dedup penalty of the same blocks', async () => {
    const out = s!.path('penalty-out');
    await mkdir(out, { recursive: true });
    const r = await compactBlocks(
      tenant.blocks.map((b) => b.dir),
      out,
      { dedup: 'penalty', replicaLabels: ['replica'] },
    );
    expect(r.dir).toBeDefined();
    const want = await promtoolDump(r.dir!);
    const a = await client!.series({
      minTime: Math.min(...tenant.blocks.map((b) => b.minTime)),
      maxTime: Math.max(...tenant.blocks.map((b) => b.maxTime)),
      matchers: [{ type: 'RE', name: '__name__', value: '.+' }],
    });
    expect(a.warnings).toEqual([]);
    for (const x of a.series) expect(x.labels.replica, 'replica label removed').toBeUndefined();
    // The external label (cluster) is not in the compacted block's index: compare without it.
    const got = samplesToDumpLines(decodeSeriesSamples(a.series), ['cluster']);
    expect(got.length).toBe(want.length);
    expect(got).toEqual(want);
  });
});
