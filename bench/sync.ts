/**
 * Metadata sync benchmark: a synthetic multi-tenant bucket (meta.json only, no chunk data) on the
 * filesystem bucket, behind a fixed latency per request, synced by the fetcher.
 *
 * Run: `npm run build && node dist/bench/sync.js [--blocks 1000000] [--tenants 100]
 *   [--latency-ms 20] [--concurrency 32] [--new-blocks 1000] [--dir /tmp/strata-bench-sync]
 *   [--phases bucket,cold,warm,restart,kill] [--full-list-every N] [--profile F.cpuprofile]
 *   [--heap-snapshot F.heapsnapshot]`
 *
 * Phases: bucket (the simulated store's own CPU for a cold sync's requests); cold sync (no cache, no checkpoint); warm sync after adding new blocks (same process);
 * restart (new fetcher on the complete checkpoint and meta cache; a run without the cold phase
 * starts from the copy of them a cold-only run left in DIR/cache.pristine); kill (a child process runs a
 * cold sync and is SIGKILLed once it has issued half of the meta.json reads; a new fetcher
 * resumes from its checkpoint). Prints times, requests and peak RSS.
 * Targets: warm sync with 1,000 new blocks O(new blocks + list pages) requests and < 5 s; a
 * resumed sync redoes < 2% of the meta.json reads; peak RSS < 1 GiB at 1M blocks.
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { Session } from 'node:inspector';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry } from 'prom-client';
import { encodeTime } from 'ulidx';
import { multiTenantLayout } from '../src/block/layout.js';
import { MetaFetcher, defaultCompactorFilters, type SyncResult } from '../src/block/fetcher/index.js';
import type { Bucket } from '../src/objstore/bucket.js';
import { FilesystemBucket } from '../src/objstore/filesystem.js';
import { LatencyBucket } from './latency.js';
import type { OperationCounts } from '../src/objstore/instrumented.js';

interface Flags {
  blocks: number;
  tenants: number;
  latencyMs: number;
  concurrency: number;
  /** Tenants synced at once (0: the fetcher's default). */
  tenantConcurrency: number;
  newBlocks: number;
  dir: string;
  phases: Set<string>;
  /** The fetcher's fullListEvery (0: its default, 10); large keeps full listings out of runs. */
  fullListEvery: number;
  /** Write a CPU profile of the warm sync with new blocks here (inspector). */
  profile: string;
  /** Write a heap snapshot here after the warm syncs (forced GC first): where the live heap goes. */
  heapSnapshot: string;
}

const H = 3_600_000;
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** Old blocks span the 180 days before this time; new blocks get ULIDs at "now". */
const HISTORY_MS = 180 * 24 * H;

function parseFlags(argv: readonly string[]): Flags {
  const get = (name: string, dflt: string): string => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && i + 1 < argv.length ? argv[i + 1]! : dflt;
  };
  const num = (name: string, dflt: number): number => {
    const v = Number(get(name, String(dflt)).replace(/_/g, ''));
    if (!Number.isFinite(v) || v < 0) throw new Error(`--${name}: not a number`);
    return v;
  };
  return {
    blocks: num('blocks', 1_000_000),
    tenants: num('tenants', 100),
    latencyMs: num('latency-ms', 20),
    concurrency: num('concurrency', 32),
    tenantConcurrency: num('tenant-concurrency', 0),
    newBlocks: num('new-blocks', 1000),
    dir: get('dir', join(tmpdir(), 'strata-bench-sync')),
    phases: new Set(get('phases', 'cold,warm,restart,kill').split(',')),
    profile: get('profile', ''),
    heapSnapshot: get('heap-snapshot', ''),
    fullListEvery: num('full-list-every', 0),
  };
}

function tenantName(t: number): string {
  return `tenant-${String(t).padStart(4, '0')}`;
}

/** Deterministic ULID: time `ms`, random part from (tenant, seq). */
function ulidOf(ms: number, tenant: number, seq: number): string {
  let r = '';
  let n = tenant * 1_000_000_007 + seq;
  for (let i = 0; i < 16; i++) {
    r = CROCKFORD[n % 32]! + r;
    n = Math.floor(n / 32);
  }
  return encodeTime(ms, 10) + r;
}

/** A sidecar-style meta.json (~700 bytes), written as Thanos writes it. */
function metaText(id: string, t: number, minTime: number, uploadMs: number): string {
  const replica = t % 2 === 0 ? 'a' : 'b';
  return `{
\t"ulid": "${id}",
\t"minTime": ${minTime},
\t"maxTime": ${minTime + 2 * H},
\t"stats": {
\t\t"numSamples": ${100_000 + (minTime % 9973)},
\t\t"numSeries": 1000,
\t\t"numChunks": 1200
\t},
\t"compaction": {
\t\t"level": 1,
\t\t"sources": [
\t\t\t"${id}"
\t\t]
\t},
\t"version": 1,
\t"thanos": {
\t\t"labels": {
\t\t\t"cluster": "c${t % 10}",
\t\t\t"env": "prod",
\t\t\t"replica": "${replica}",
\t\t\t"tenant": "${tenantName(t)}"
\t\t},
\t\t"downsample": {
\t\t\t"resolution": 0
\t\t},
\t\t"source": "sidecar",
\t\t"segment_files": [
\t\t\t"000001"
\t\t],
\t\t"files": [
\t\t\t{
\t\t\t\t"rel_path": "chunks/000001",
\t\t\t\t"size_bytes": ${1_000_000 + (minTime % 100_003)}
\t\t\t},
\t\t\t{
\t\t\t\t"rel_path": "index",
\t\t\t\t"size_bytes": ${200_000 + (minTime % 10_007)}
\t\t\t},
\t\t\t{
\t\t\t\t"rel_path": "meta.json"
\t\t\t}
\t\t],
\t\t"index_stats": {},
\t\t"upload_time": "${new Date(uploadMs).toISOString()}"
\t}
}
`;
}

/** Writes the bucket straight to disk (sync fs calls: far faster than a million uploads). */
function ensureBucket(f: Flags, baseMs: number): string {
  const dir = join(f.dir, `bucket-${f.blocks}x${f.tenants}`);
  const done = `${dir}.complete`;
  if (existsSync(done)) return dir;
  rmSync(dir, { recursive: true, force: true });
  const t0 = performance.now();
  const perTenant = Math.ceil(f.blocks / f.tenants);
  const step = Math.floor(HISTORY_MS / perTenant);
  let n = 0;
  for (let t = 0; t < f.tenants && n < f.blocks; t++) {
    const tdir = join(dir, tenantName(t));
    mkdirSync(tdir, { recursive: true });
    for (let i = 0; i < perTenant && n < f.blocks; i++, n++) {
      const minTime = baseMs - HISTORY_MS + i * step;
      const id = ulidOf(minTime + 2 * H, t, i);
      const bdir = join(tdir, id);
      mkdirSync(bdir);
      writeFileSync(join(bdir, 'meta.json'), metaText(id, t, minTime, minTime + 2 * H + 60_000));
    }
    if (t % 10 === 9) console.log(`  wrote ${n} blocks (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  writeFileSync(done, `${n}\n`);
  console.log(`synthetic bucket: ${n} blocks in ${((performance.now() - t0) / 1000).toFixed(0)} s at ${dir}`);
  return dir;
}

/**
 * The new blocks of the warm phase: recent ULIDs spread over the tenants, different in every run
 * (a run reusing the cache must not know them). Their paths go to a manifest first, so the next
 * run removes what a killed run left behind.
 */
function newBlockPaths(f: Flags, dir: string, nowMs: number): { path: string; id: string; t: number }[] {
  const manifest = join(f.dir, 'new-blocks.txt');
  if (existsSync(manifest)) {
    for (const p of readFileSync(manifest, 'utf8').split('\n'))
      if (p) rmSync(p, { recursive: true, force: true });
  }
  const run = Math.floor(Date.now() / 1000) % 1_000_000;
  const out: { path: string; id: string; t: number }[] = [];
  for (let i = 0; i < f.newBlocks; i++) {
    const t = i % f.tenants;
    const id = ulidOf(nowMs - 60_000 + i, t, 900_000_000 + run * 10_000 + i);
    out.push({ path: join(dir, tenantName(t), id), id, t });
  }
  writeFileSync(manifest, out.map((b) => b.path).join('\n'));
  return out;
}

function bucketStack(dir: string, f: Flags): Bucket {
  return new LatencyBucket(new FilesystemBucket({ directory: dir, fsync: false }), {
    delayMs: f.latencyMs,
    pageSize: 1000,
  });
}

function fetcherFor(bucket: Bucket, f: Flags, cacheDir: string, nowMs: number): MetaFetcher {
  return new MetaFetcher(
    { bucket, layout: multiTenantLayout(), registry: new Registry(), now: () => nowMs },
    {
      cacheDir,
      concurrency: f.concurrency,
      ...(f.tenantConcurrency > 0 ? { tenantConcurrency: f.tenantConcurrency } : {}),
      filters: defaultCompactorFilters(),
      ...(f.fullListEvery > 0 ? { fullListEvery: f.fullListEvery } : {}),
    },
  );
}

function fmtRequests(r: OperationCounts): string {
  const parts = Object.entries(r)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k}=${v}`);
  const total = Object.values(r).reduce((a, b) => a + b, 0);
  return `${total} (${parts.join(', ') || 'none'})`;
}

/** RSS, with V8's heap (allocated/used) and the memory outside it (typed arrays, buffers). */
function rssMiB(): string {
  const u = process.memoryUsage();
  const mib = (n: number): string => (n / 2 ** 20).toFixed(0);
  return `${mib(u.rss)} MiB (heap ${mib(u.heapTotal)}/${mib(u.heapUsed)}, external ${mib(u.external)})`;
}

function heapMiB(): string {
  return `${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`;
}

function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB on Linux
}

function loaded(r: SyncResult): number {
  let n = 0;
  for (const t of r.tenants.values()) n += t.metas.size;
  return n;
}

/** CPU seconds (user + system) of this process since `from` (process.cpuUsage()). */
function cpuSeconds(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
}

function load1(): string {
  return loadavg()[0]!.toFixed(2);
}

function report(name: string, r: SyncResult, wallMs: number, cpu?: NodeJS.CpuUsage): void {
  const cpuText =
    cpu === undefined
      ? ''
      : (() => {
          const s = cpuSeconds(cpu);
          const perCpu =
            r.stats.metaReads > 0
              ? `, ${(r.stats.metaReads / s).toFixed(0)} meta.json reads per CPU-second`
              : '';
          return `CPU ${s.toFixed(2)} s${perCpu}, `;
        })();
  console.log(
    `${name}: ${(wallMs / 1000).toFixed(2)} s, load ${load1()}, ${cpuText}${loaded(r)} blocks visible, ` +
      `meta.json reads ${r.stats.metaReads}, cache hits ${r.stats.cacheHits}, ` +
      `requests ${fmtRequests(r.stats.requests)}, RSS ${rssMiB()}`,
  );
}

/** Starts the V8 CPU profiler; the returned function stops it and gives the .cpuprofile JSON. */
async function startProfile(): Promise<() => Promise<string>> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) =>
      session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))),
    );
  await post('Profiler.enable');
  await post('Profiler.start');
  return async () => {
    const res = (await post('Profiler.stop')) as { profile: unknown };
    session.disconnect();
    return JSON.stringify(res.profile);
  };
}

function forceGc(): void {
  setFlagsFromString('--expose_gc');
  (runInNewContext('gc') as () => void)();
}

/**
 * What the simulated object store itself costs this process for a cold sync's requests: every
 * tenant listed (16 at once) and every meta.json fetched (`concurrency` in flight), nothing
 * parsed or kept. The cold sync's CPU minus this is the fetcher's own.
 */
async function bucketOnly(
  bucket: Bucket,
  f: Flags,
): Promise<{ reads: number; cpuS: number; wallMs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const tenants: string[] = [];
  for await (const e of bucket.iter('')) if (e.key.endsWith('/')) tenants.push(e.key);
  const keys: string[] = [];
  let reads = 0;
  let next = 0;
  const getter = async (): Promise<void> => {
    while (keys.length > 0) {
      const k = keys.pop()!;
      await bucket.get(k);
      reads++;
    }
  };
  const lister = async (): Promise<void> => {
    while (next < tenants.length) {
      const t = tenants[next++]!;
      for await (const e of bucket.iter(t)) keys.push(`${e.key}meta.json`);
      await Promise.all(Array.from({ length: Math.ceil(f.concurrency / 16) }, getter));
    }
  };
  await Promise.all(Array.from({ length: 16 }, lister));
  return { reads, cpuS: cpuSeconds(c0), wallMs: performance.now() - t0 };
}

/** Child: a cold sync that records, before each meta.json GET, how many it has issued. */
async function child(argv: readonly string[]): Promise<void> {
  const f = parseFlags(argv);
  const [bucketDir, cacheDir, counterFile, nowArg] = argv.slice(argv.indexOf('--child') + 1);
  const fd = openSync(counterFile!, 'w');
  let issued = 0;
  // Written synchronously before the GET leaves, so the count survives SIGKILL exactly.
  class CountingBucket extends LatencyBucket {
    override get(key: string): Promise<Buffer> {
      if (key.endsWith('/meta.json')) {
        const s = Buffer.from(String(++issued).padEnd(16));
        writeSync(fd, s, 0, s.length, 0);
      }
      return super.get(key);
    }
  }
  const counting = new CountingBucket(new FilesystemBucket({ directory: bucketDir!, fsync: false }), {
    delayMs: f.latencyMs,
    pageSize: 1000,
  });
  const fetcher = fetcherFor(counting, f, cacheDir!, Number(nowArg));
  await fetcher.sync();
  closeSync(fd);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--child')) return child(argv);
  const f = parseFlags(argv);
  console.log(
    `sync bench: ${f.blocks} blocks, ${f.tenants} tenants, ${f.latencyMs} ms per request, ` +
      `concurrency ${f.concurrency}, ${f.newBlocks} new blocks; node ${process.version}`,
  );
  mkdirSync(f.dir, { recursive: true });
  // Old blocks end a day before "now"; every run uses the same clock so the bucket is reusable.
  const nowMs = Date.UTC(2026, 0, 1);
  const bucketDir = ensureBucket(f, nowMs - 24 * H);
  const fresh = newBlockPaths(f, bucketDir, nowMs);
  const cacheDir = join(f.dir, 'cache');
  // Without the cold phase, warm and restart reuse the cache and checkpoint of an earlier run: the
  // copy a cold-only run left, so that every run starts from the same state (the new blocks of a
  // run are deleted by the next, and a fetcher that never lists whole would remember them).
  const pristine = `${cacheDir}.pristine`;
  if (f.phases.has('cold')) await rm(cacheDir, { recursive: true, force: true });
  else if (existsSync(pristine)) {
    await rm(cacheDir, { recursive: true, force: true });
    cpSync(pristine, cacheDir, { recursive: true });
  }

  try {
    if (f.phases.has('bucket')) {
      const b = await bucketOnly(bucketStack(bucketDir, f), f);
      console.log(
        `bucket only (list + GET every meta.json, nothing parsed): ${(b.wallMs / 1000).toFixed(2)} s, ` +
          `load ${load1()}, CPU ${b.cpuS.toFixed(2)} s for ${b.reads} reads`,
      );
    }
    if (f.phases.has('cold') || f.phases.has('warm')) {
      const bucket = bucketStack(bucketDir, f);
      let fetcher: MetaFetcher | undefined = fetcherFor(bucket, f, cacheDir, nowMs);
      let t0 = performance.now();
      let c0 = process.cpuUsage();
      // Results are reported and dropped: the caller's copy must not count as the fetcher's memory.
      report(
        f.phases.has('cold') ? 'cold sync' : 'restart',
        await fetcher.sync(),
        performance.now() - t0,
        c0,
      );
      console.log(`  peak RSS so far: ${peakRssMiB().toFixed(0)} MiB`);
      if (f.phases.has('warm')) {
        t0 = performance.now();
        c0 = process.cpuUsage();
        report('warm sync, nothing new', await fetcher.sync(), performance.now() - t0, c0);
        for (const b of fresh) {
          mkdirSync(b.path, { recursive: true });
          writeFileSync(join(b.path, 'meta.json'), metaText(b.id, b.t, nowMs - 3 * H, nowMs - H));
        }
        const stopProfile = f.profile ? await startProfile() : undefined;
        t0 = performance.now();
        c0 = process.cpuUsage();
        report(`warm sync, ${f.newBlocks} new blocks`, await fetcher.sync(), performance.now() - t0, c0);
        if (stopProfile) writeFileSync(f.profile, await stopProfile());
        console.log(`  peak RSS so far: ${peakRssMiB().toFixed(0)} MiB`);
      }
      forceGc();
      if (f.heapSnapshot) console.log(`  heap snapshot: ${writeHeapSnapshot(f.heapSnapshot)}`);
      console.log(
        `  live heap after GC: ${heapMiB()}, external ${(process.memoryUsage().external / 2 ** 20).toFixed(0)} MiB`,
      );
      await fetcher.close();
      fetcher = undefined;
      if (f.phases.has('cold') && !f.phases.has('warm')) {
        await rm(pristine, { recursive: true, force: true });
        cpSync(cacheDir, pristine, { recursive: true });
      }
      forceGc();
      if (f.phases.has('restart') && f.phases.has('cold')) {
        t0 = performance.now();
        const c1 = process.cpuUsage();
        const again = fetcherFor(bucketStack(bucketDir, f), f, cacheDir, nowMs);
        report(
          'restart (state from checkpoint + metas file)',
          await again.sync(),
          performance.now() - t0,
          c1,
        );
        await again.close();
      }
      forceGc();
    }

    if (f.phases.has('kill')) {
      const killedCache = join(f.dir, 'cache-killed');
      await rm(killedCache, { recursive: true, force: true });
      mkdirSync(killedCache, { recursive: true });
      const counter = join(f.dir, 'child-reads');
      writeFileSync(counter, '0');
      const total = f.blocks + (f.phases.has('warm') ? f.newBlocks : 0);
      const target = Math.floor(total / 2);
      const t0 = performance.now();
      const proc = spawn(
        process.execPath,
        [process.argv[1]!, ...argv, '--child', bucketDir, killedCache, counter, String(nowMs)],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      let issued = 0;
      while (issued < target && proc.exitCode === null) {
        await new Promise((r) => setTimeout(r, 50));
        issued = Number(readFileSync(counter, 'utf8').trim()) || 0;
      }
      proc.kill('SIGKILL');
      await exited;
      issued = Number(readFileSync(counter, 'utf8').trim()) || 0;
      console.log(
        `killed child after ${((performance.now() - t0) / 1000).toFixed(1)} s with ${issued} of ${total} ` +
          `meta.json reads issued`,
      );
      const t1 = performance.now();
      const resumed = fetcherFor(bucketStack(bucketDir, f), f, killedCache, nowMs);
      const r = await resumed.sync();
      const redone = issued + r.stats.metaReads - total;
      report('resumed sync', r, performance.now() - t1);
      console.log(
        `  meta.json reads redone after the kill: ${redone} (${((100 * redone) / Math.max(1, issued)).toFixed(2)}% ` +
          `of the ${issued} the killed sync issued, ${((100 * redone) / total).toFixed(3)}% of all)`,
      );
      await resumed.close();
    }
  } finally {
    for (const b of fresh) rmSync(b.path, { recursive: true, force: true });
  }
  console.log(`peak RSS: ${peakRssMiB().toFixed(0)} MiB`);
}

await main();
