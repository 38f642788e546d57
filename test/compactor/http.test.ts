/**
 * `strata compact --wait` with `--compact.concurrency 4` and its HTTP endpoint. One tenant holds
 * five independent groups (external labels cluster=g1..g5, each six 2h blocks), so the first
 * planning pass yields five 8h plans at once: exactly four must compact together (never five),
 * while the fifth downloads ahead (`--compact.plans-ahead`, default 1), which
 * `peak_compactions_running` / `peak_plans_running` in /api/v1/status and the matching gauges in
 * /metrics report (asserted on those counters, not on timing). Then /metrics, /-/healthy,
 * /-/ready and the status JSON are checked, and SIGTERM ends the process with exit 0. A second
 * process on a copy of the bucket runs with `--compact.plans-ahead 0`: four plans at once, never
 * five (a plan holds its slot from download to mark, as in Thanos).
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { uploadBlock } from '../../src/block/upload.js';
import { readMetaFile, writeMetaFile } from '../../src/tsdb/meta.js';
import { ulidSource } from '../../src/tsdb/ulid.js';
import { assertNoLeakedProcesses, freePort, waitFor, type TrackedProcess } from '../support/processes.js';
import { copyBlockAs } from '../compact/helpers.js';
import { haFixture, windowOf } from './fixtures.js';
import { layout, liveBlocks, readTenant, type TenantState } from './inspect.js';
import { compactArgs, filesystemObjstore, startStrata, tail, waitExit, type ExitResult } from './run.js';
import { ensureBuilt } from '../support/build.js';

const TENANT = 'par';
const GROUPS = 5;
const newUlid = ulidSource();

interface Status {
  passes: number;
  last_sync: { at: string; duration_ms: number } | null;
  plans_queued: number;
  /** Absent until the compactor exists (the HTTP endpoint starts first). */
  plans_running?: number;
  peak_plans_running: number;
  compactions_running?: number;
  peak_compactions_running: number;
  running: { id: string; tenant: string; phase: string }[];
  tenants: Record<
    string,
    {
      blocks: number;
      todoCompactions: number;
      todoCompactionBlocks: number;
      pendingDeletion: number;
      partial: number;
      noCompact: number;
    }
  >;
}

let root = '';
let bucket: FilesystemBucket;
let proc: TrackedProcess | undefined;
let base = '';
let status: Status;
let metrics = '';
let maxSeenRunning = 0;
let maxSeenCompacting = 0;
/** The bucket before the first pass, for the run with --compact.plans-ahead 0. */
let pristine = '';
let exit: ExitResult;
let after: TenantState;

async function get(path: string): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

/** The value of one sample line `name{labels} value` of a Prometheus text exposition. */
function metric(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-compactor-http-'));
  const [fx] = await Promise.all([
    haFixture({ windows: 6, series: 4, seed: 71, tenants: [{ tenant: 'src', kind: 'identical' }] }),
    ensureBuilt(),
  ]);
  const r1 = fx.tenants[0]!.blocks.filter((b) => b.replica === 'r1');
  expect(r1.map((b) => windowOf(b.minTime))).toEqual([0, 1, 2, 3, 4, 5]);
  const dir = join(root, 'bucket');
  bucket = new FilesystemBucket({ directory: dir });
  for (let g = 1; g <= GROUPS; g++) {
    for (const b of r1) {
      const copy = await copyBlockAs(b.dir, join(root, 'blocks'), newUlid());
      const meta = await readMetaFile(copy);
      meta.thanos = { labels: { cluster: `g${g}` }, downsample: { resolution: 0 }, source: 'sidecar' };
      await writeMetaFile(copy, meta);
      await uploadBlock(bucket, layout, TENANT, copy);
    }
  }
  pristine = join(root, 'pristine');
  await cp(dir, pristine, { recursive: true });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const args = compactArgs({
    objstore: filesystemObjstore(dir),
    dataDir: join(root, 'data'),
    extra: ['--compact.concurrency', '4', '--wait', '--wait-interval', '1h'],
  });
  args[args.indexOf('127.0.0.1:0')] = `127.0.0.1:${port}`;
  // Each step holds 200 ms, so the four plans started together still overlap on a loaded machine
  // (plans of 4-series blocks otherwise finish in a few ms, and one could end before the fourth began).
  proc = startStrata(args, { env: { STRATA_DEBUG_PHASE_DELAY_MS: '200' } });
  status = await waitFor(
    'the first pass to complete',
    async () => {
      if (proc!.exited()) throw new Error(`strata exited:\n${tail(proc!.output())}`);
      const s = JSON.parse((await get('/api/v1/status')).body) as Status;
      // Until the compactor exists the status holds only `leader`: nothing runs yet.
      maxSeenRunning = Math.max(maxSeenRunning, s.plans_running ?? 0);
      maxSeenCompacting = Math.max(maxSeenCompacting, s.compactions_running ?? 0);
      return s.passes >= 1 ? s : undefined;
    },
    120_000,
    20,
  );
  metrics = (await get('/metrics')).body;
  after = await readTenant(bucket, TENANT);
}, 300_000);

afterAll(async () => {
  await proc?.stop('SIGKILL', 1000);
  await bucket?.close();
  if (root) await rm(root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

describe('strata compact --compact.concurrency 4 and its HTTP endpoint', () => {
  it('compacts four of the five independent plans at once, never five; the fifth downloads ahead', () => {
    expect(status.peak_compactions_running, JSON.stringify(status)).toBe(4);
    expect(metric(metrics, 'strata_compact_peak_running_compactions')).toBe(4);
    expect(maxSeenCompacting).toBeLessThanOrEqual(4);
    expect(maxSeenRunning).toBeLessThanOrEqual(5);
    expect(status.peak_plans_running, JSON.stringify(status)).toBe(5);
    expect(metric(metrics, 'strata_compact_peak_running_plans')).toBe(5);
    expect(metric(metrics, `strata_compactions_total{tenant="${TENANT}"}`)).toBe(GROUPS);
    // The five 8h plans were done: one 8h block (windows 0-3) plus the two newest 2h blocks per
    // group (like Prometheus, the newest block never counts as newer data for its own range).
    const live = liveBlocks(after);
    expect(live).toHaveLength(3 * GROUPS);
    for (let g = 1; g <= GROUPS; g++) {
      const mine = live.filter((b) => b.meta!.thanos?.labels.cluster === `g${g}`);
      expect(mine.map((b) => [windowOf(b.meta!.minTime), windowOf(b.meta!.maxTime - 1)])).toEqual([
        [0, 3],
        [4, 4],
        [5, 5],
      ]);
    }
  });

  it('/metrics exposes the compactor metrics with per-tenant progress', async () => {
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toContain('text/plain');
    for (const name of [
      'strata_compactions_total',
      'strata_compactions_failed_total',
      'strata_compaction_duration_seconds',
      'strata_compact_todo_compactions',
      'strata_compact_todo_compaction_blocks',
      'strata_compact_todo_deletion_blocks',
      'strata_compact_running_plans',
      'strata_compact_peak_running_plans',
      'strata_compact_running_compactions',
      'strata_compact_peak_running_compactions',
      'strata_compact_iterations_total',
      'strata_blocks_cleaned_total',
      'strata_blocks_marked_total',
    ]) {
      expect(res.body, name).toContain(`# TYPE ${name} `);
    }
    expect(metric(res.body, `strata_compact_todo_compactions{tenant="${TENANT}"}`)).toBe(0);
    expect(metric(res.body, `strata_compact_todo_compaction_blocks{tenant="${TENANT}"}`)).toBe(0);
    expect(metric(res.body, 'strata_compact_running_plans')).toBe(0);
    expect(metric(res.body, 'strata_compact_running_compactions')).toBe(0);
    expect(metric(res.body, 'strata_compact_iterations_total')).toBe(1);
    expect(metric(res.body, 'strata_blocks_cleaned_total{kind="marked"}')).toBe(4 * GROUPS);
    expect(metric(res.body, 'strata_compaction_duration_seconds_count')).toBe(GROUPS);
    expect(res.body).toContain('process_resident_memory_bytes');
  });

  it('/-/healthy and /-/ready answer 200', async () => {
    expect((await get('/-/healthy')).status).toBe(200);
    expect((await get('/-/ready')).status).toBe(200);
    expect((await get('/nope')).status).toBe(404);
  });

  it('/api/v1/status is JSON with last_sync and per-tenant progress', async () => {
    const res = await get('/api/v1/status');
    expect(res.status).toBe(200);
    expect(res.type).toContain('application/json');
    const s = JSON.parse(res.body) as Status;
    expect(s.passes).toBe(1);
    expect(s.last_sync).not.toBeNull();
    expect(Number.isNaN(Date.parse(s.last_sync!.at))).toBe(false);
    expect(Date.now() - Date.parse(s.last_sync!.at)).toBeLessThan(120_000);
    expect(s.last_sync!.duration_ms).toBeGreaterThanOrEqual(0);
    expect(s.plans_running).toBe(0);
    expect(s.running).toEqual([]);
    expect(s.compactions_running).toBe(0);
    expect(s.peak_plans_running).toBe(5);
    expect(s.peak_compactions_running).toBe(4);
    expect(s.tenants[TENANT]).toEqual({
      blocks: 3 * GROUPS,
      todoCompactions: 0,
      todoCompactionBlocks: 0,
      pendingDeletion: 0,
      partial: 0,
      noCompact: 0,
    });
  });

  it('SIGTERM stops the --wait loop with exit 0', async () => {
    process.kill(proc!.pid, 'SIGTERM');
    exit = await waitExit(proc!, 30_000);
    expect(exit.code, exit.output).toBe(0);
  });

  it('with --compact.plans-ahead 0 four plans run at once, never five', async () => {
    const port = await freePort();
    const args = compactArgs({
      objstore: filesystemObjstore(pristine),
      dataDir: join(root, 'data-ahead0'),
      extra: ['--compact.concurrency', '4', '--compact.plans-ahead', '0', '--wait', '--wait-interval', '1h'],
    });
    args[args.indexOf('127.0.0.1:0')] = `127.0.0.1:${port}`;
    const p = startStrata(args, { env: { STRATA_DEBUG_PHASE_DELAY_MS: '200' } });
    proc = p;
    let seen = 0;
    const s = await waitFor(
      'the first pass with --compact.plans-ahead 0',
      async () => {
        if (p.exited()) throw new Error(`strata exited:\n${tail(p.output())}`);
        const st = JSON.parse(await (await fetch(`http://127.0.0.1:${port}/api/v1/status`)).text()) as Status;
        seen = Math.max(seen, st.plans_running ?? 0); // absent before the compactor exists
        return st.passes >= 1 ? st : undefined;
      },
      120_000,
      20,
    );
    expect(s.peak_plans_running, JSON.stringify(s)).toBe(4);
    expect(s.peak_compactions_running).toBe(4);
    expect(seen).toBeLessThanOrEqual(4);
    process.kill(p.pid, 'SIGTERM');
    expect((await waitExit(p, 30_000)).code).toBe(0);
  }, 180_000);
});
