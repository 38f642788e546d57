/**
 * The Prometheus oracle for tests and benchmarks: real `promtool` (2.42) to make and read blocks,
 * and a real `prometheus` server on loopback for tombstones, queries and its own compactor.
 * Facts behind every choice here are in docs/promtool-facts.md.
 *
 * Every child process goes through test/support/processes.ts (tracked, stopped by PID).
 * All times are int64 milliseconds as JS numbers unless a name says otherwise.
 */
import { cp, lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { freePort, startProcess, waitFor, type TrackedProcess } from '../support/processes.js';
import { sortDumpLines, type Sample } from '../support/dump.js';
import { openMetricsFromSamples } from '../support/openmetrics.js';

/** Binaries; override with STRATA_PROMTOOL / STRATA_PROMETHEUS. */
export const PROMTOOL = process.env.STRATA_PROMTOOL ?? 'promtool';
export const PROMETHEUS = process.env.STRATA_PROMETHEUS ?? 'prometheus';

const TWO_HOURS = 2 * 3600_000;
const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/i;

// ---------------------------------------------------------------------------------------------
// Running promtool

export interface ToolResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Kill the tool after this long (default 300 s). */
  timeoutMs?: number;
  /** Resolve instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
}

/** Runs `promtool ARGS...` as a tracked process; throws with its stderr on a non-zero exit. */
export async function runPromtool(args: readonly string[], opts: RunOptions = {}): Promise<ToolResult> {
  const proc = startProcess('promtool', PROMTOOL, args);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  proc.child.stdout?.on('data', (d: Buffer) => out.push(d));
  proc.child.stderr?.on('data', (d: Buffer) => err.push(d));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    proc.child.once('close', (code, signal) => res({ code, signal }));
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((res) => {
    timer = setTimeout(() => res('timeout'), opts.timeoutMs ?? 300_000);
  });
  const first = await Promise.race([closed, timedOut]);
  clearTimeout(timer);
  if (first === 'timeout') {
    await proc.stop('SIGKILL', 1000);
    throw new Error(`promtool ${args.join(' ')}: timed out`);
  }
  const result: ToolResult = {
    ...first,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
  };
  if (result.code !== 0 && !opts.allowFailure) {
    throw new Error(
      `promtool ${args.join(' ')}: exit ${result.code ?? result.signal}: ${result.stderr.trim()}`,
    );
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Making blocks

export interface CreatedBlock {
  ulid: string;
  /** Absolute path of the block directory. */
  dir: string;
  minTime: number;
  /** Exclusive: last sample + 1. */
  maxTime: number;
  numSamples: number;
  numSeries: number;
  numChunks: number;
}

export interface CreateBlocksOptions {
  /**
   * promtool's hidden `--max-block-duration` (Go duration, e.g. `24h`). promtool rounds it DOWN
   * to 2h·3^k (2h, 6h, 18h, 54h, ...); anything under 6h means 2h windows.
   */
  maxBlockDuration?: string;
  timeoutMs?: number;
}

/**
 * Writes `omText` to a temp file and runs `promtool tsdb create-blocks-from openmetrics FILE OUTDIR`.
 * Returns the blocks this call added to outDir (blocks already there are left alone), by minTime.
 * Windows are [k·D, (k+1)·D) with D = 2h unless maxBlockDuration says otherwise, aligned to the
 * Unix epoch; each block spans first..last sample + 1 of its window.
 */
export async function createBlocksFromOpenMetrics(
  omText: string,
  outDir: string,
  opts: CreateBlocksOptions = {},
): Promise<CreatedBlock[]> {
  await mkdir(outDir, { recursive: true });
  const before = new Set(await ulidDirs(outDir));
  const tmp = await mkdtemp(join(tmpdir(), 'strata-om-'));
  try {
    const file = join(tmp, 'input.om');
    await writeFile(file, omText);
    const args = ['tsdb', 'create-blocks-from'];
    if (opts.maxBlockDuration !== undefined) args.push(`--max-block-duration=${opts.maxBlockDuration}`);
    args.push('openmetrics', '--quiet', file, outDir);
    await runPromtool(args, { timeoutMs: opts.timeoutMs });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const created: CreatedBlock[] = [];
  for (const name of await ulidDirs(outDir)) {
    if (before.has(name)) continue;
    const dir = resolve(outDir, name);
    const meta = await readMeta(dir);
    created.push({
      ulid: meta.ulid,
      dir,
      minTime: meta.minTime,
      maxTime: meta.maxTime,
      numSamples: meta.stats?.numSamples ?? 0,
      numSeries: meta.stats?.numSeries ?? 0,
      numChunks: meta.stats?.numChunks ?? 0,
    });
  }
  return created.sort((a, b) => a.minTime - b.minTime);
}

/**
 * Same blocks as one createBlocksFromOpenMetrics call on all samples, but one promtool run per
 * window: promtool re-parses its whole input once per window, so one file costs O(windows ×
 * samples) to parse (measured: 460k samples over 24 windows took 28.7 s in one file, 10.0 s per
 * window; with 2 windows it makes no difference, appending (~10 µs/sample) dominates).
 * Samples must be >= 0 ms and have no two samples of a series at one timestamp.
 */
export async function createBlocksFromSamples(
  samples: readonly Sample[],
  outDir: string,
  opts: { maxBlockDurationMs?: number; timeoutMs?: number } = {},
): Promise<CreatedBlock[]> {
  const d = promtoolBlockDuration(opts.maxBlockDurationMs);
  const windows = new Map<number, Sample[]>();
  for (const s of samples) {
    const w = Math.floor(s.t / d) * d;
    const list = windows.get(w);
    if (list) list.push(s);
    else windows.set(w, [s]);
  }
  const createOpts: CreateBlocksOptions = { timeoutMs: opts.timeoutMs };
  if (opts.maxBlockDurationMs !== undefined) createOpts.maxBlockDuration = `${opts.maxBlockDurationMs}ms`;
  const out: CreatedBlock[] = [];
  for (const w of [...windows.keys()].sort((a, b) => a - b)) {
    out.push(
      ...(await createBlocksFromOpenMetrics(openMetricsFromSamples(windows.get(w)!), outDir, createOpts)),
    );
  }
  return out;
}

export interface PredictedBlock {
  minTime: number;
  maxTime: number;
  numSamples: number;
}

/** The block duration promtool uses for a `--max-block-duration` of `maxMs` (2h·3^k <= maxMs). */
export function promtoolBlockDuration(maxMs?: number): number {
  if (maxMs === undefined || maxMs <= TWO_HOURS) return TWO_HOURS;
  let d = TWO_HOURS;
  for (let k = 1; k < 10 && d * 3 <= maxMs; k++) d *= 3;
  return d;
}

/**
 * The blocks promtool will cut for samples at these timestamps (one sample each, no duplicates),
 * replaying its algorithm, including its loss of samples that precede a negative window start.
 */
export function predictPromtoolBlocks(
  timestamps: Iterable<number>,
  maxBlockDurationMs?: number,
): PredictedBlock[] {
  const d = promtoolBlockDuration(maxBlockDurationMs);
  const ts = [...timestamps];
  if (ts.length === 0) return [];
  let min = Infinity;
  for (const t of ts) if (t < min) min = t;
  const alignedMin = d * Math.trunc(min / d); // Go integer division truncates toward zero
  const windows = new Map<number, PredictedBlock>();
  for (const t of ts) {
    if (t < alignedMin) continue;
    const w = alignedMin + Math.floor((t - alignedMin) / d) * d;
    const b = windows.get(w);
    if (b === undefined) windows.set(w, { minTime: t, maxTime: t + 1, numSamples: 1 });
    else {
      b.minTime = Math.min(b.minTime, t);
      b.maxTime = Math.max(b.maxTime, t + 1);
      b.numSamples++;
    }
  }
  return [...windows.values()].sort((a, b) => a.minTime - b.minTime);
}

// ---------------------------------------------------------------------------------------------
// Reading blocks: dump, list, analyze

/**
 * Runs `fn` on a throw-away directory that shows promtool the blocks of `dir` and an empty `wal`.
 * `dir` is a DB dir (block subdirs named by ULID) or a single block dir (has meta.json). Each
 * block appears as a real `<ULID>/` dir of symlinks to the original files (promtool ignores
 * symlinked block dirs), so promtool's side effects (`wal/`, `chunks_head/`) land in the view,
 * which lives under os.tmpdir() and is deleted afterwards. The original dir is never written.
 * A `wal` in `dir` (a Prometheus data dir) is NOT shown: only persisted blocks are read.
 */
export async function withBlocksView<T>(dir: string, fn: (viewDir: string) => Promise<T>): Promise<T> {
  const abs = resolve(dir);
  const blocks: { name: string; dir: string }[] = [];
  if (await exists(join(abs, 'meta.json'))) {
    blocks.push({ name: (await readMeta(abs)).ulid, dir: abs });
  } else {
    for (const name of await ulidDirs(abs)) blocks.push({ name, dir: join(abs, name) });
  }
  const view = await mkdtemp(join(tmpdir(), 'strata-promtool-view-'));
  try {
    await mkdir(join(view, 'wal'));
    for (const b of blocks) {
      const target = join(view, b.name);
      await mkdir(target);
      for (const entry of await readdir(b.dir)) await symlink(join(b.dir, entry), join(target, entry));
    }
    return await fn(view);
  } finally {
    await rm(view, { recursive: true, force: true });
  }
}

export interface DumpOptions {
  /** Series selector (default promtool's `{__name__=~'(?s:.*)'}`). */
  match?: string;
  /** Inclusive bounds in ms. */
  minTime?: number;
  maxTime?: number;
  timeoutMs?: number;
}

/**
 * `promtool tsdb dump` of a DB dir or a block dir: one `{labels} %g-value ts_ms` line per sample,
 * in promtool's order (series by label set over ALL blocks merged, then time; equal timestamps
 * of one series across overlapping blocks printed once). See withBlocksView for side effects.
 */
export async function promtoolDump(dir: string, opts: DumpOptions = {}): Promise<string[]> {
  const args = ['tsdb', 'dump'];
  if (opts.match !== undefined) args.push(`--match=${opts.match}`);
  if (opts.minTime !== undefined) args.push(`--min-time=${opts.minTime}`);
  if (opts.maxTime !== undefined) args.push(`--max-time=${opts.maxTime}`);
  const res = await withBlocksView(dir, (view) =>
    runPromtool([...args, view], { timeoutMs: opts.timeoutMs }),
  );
  return splitLines(res.stdout);
}

/** promtoolDump, then sortDumpLines (a no-op for one dir; kept for symmetry with crafted dumps). */
export async function sortedDump(dir: string, opts: DumpOptions = {}): Promise<string[]> {
  return sortDumpLines(await promtoolDump(dir, opts));
}

export interface ListedBlock {
  ulid: string;
  minTime: number;
  maxTime: number;
  /** Go duration text, e.g. `1h59m45.001s`. */
  duration: string;
  numSamples: number;
  numChunks: number;
  numSeries: number;
  /** Bytes on disk. */
  size: number;
}

/** `promtool tsdb list DIR`, parsed; sorted by minTime as promtool prints it. */
export async function promtoolList(dir: string): Promise<ListedBlock[]> {
  const res = await withBlocksView(dir, (view) => runPromtool(['tsdb', 'list', view]));
  const rows = splitLines(res.stdout).slice(1); // header: BLOCK ULID  MIN TIME  MAX TIME ...
  return rows.map((row) => {
    const f = row.trim().split(/\s+/);
    if (f.length !== 8) throw new Error(`unexpected promtool list row: ${row}`);
    return {
      ulid: f[0]!,
      minTime: Number(f[1]),
      maxTime: Number(f[2]),
      duration: f[3]!,
      numSamples: Number(f[4]),
      numChunks: Number(f[5]),
      numSeries: Number(f[6]),
      size: Number(f[7]),
    };
  });
}

export interface BlockAnalysis {
  blockId: string;
  /** Go duration text of maxTime - minTime. */
  duration: string;
  series: number;
  labelNames: number;
  postings: number;
  postingsEntries: number;
  /** promtool's full output. */
  text: string;
}

/** `promtool tsdb analyze DIR [BLOCK]` (default block: the one with the highest minTime). */
export async function promtoolAnalyze(
  dir: string,
  blockId?: string,
  opts: { limit?: number; extended?: boolean } = {},
): Promise<BlockAnalysis> {
  const args = ['tsdb', 'analyze'];
  if (opts.limit !== undefined) args.push(`--limit=${opts.limit}`);
  if (opts.extended) args.push('--extended');
  const res = await withBlocksView(dir, (view) =>
    runPromtool(blockId === undefined ? [...args, view] : [...args, view, blockId]),
  );
  const field = (name: string): string => {
    const m = new RegExp(`^${name.replace(/[()]/g, '\\$&')}: (.*)$`, 'm').exec(res.stdout);
    if (!m) throw new Error(`promtool analyze: no "${name}" in output:\n${res.stdout}`);
    return m[1]!;
  };
  return {
    blockId: field('Block ID'),
    duration: field('Duration'),
    series: Number(field('Series')),
    labelNames: Number(field('Label names')),
    postings: Number(field('Postings (unique label pairs)')),
    postingsEntries: Number(field('Postings entries (total label pairs)')),
    text: res.stdout,
  };
}

// ---------------------------------------------------------------------------------------------
// Block files

interface MetaJson {
  ulid: string;
  minTime: number;
  maxTime: number;
  stats?: { numSamples?: number; numSeries?: number; numChunks?: number; numTombstones?: number };
}

async function readMeta(blockDir: string): Promise<MetaJson> {
  const meta = JSON.parse(await readFile(join(blockDir, 'meta.json'), 'utf8')) as MetaJson;
  if (typeof meta.ulid !== 'string') throw new Error(`${blockDir}/meta.json: no ulid`);
  return meta;
}

export interface TombstoneEntry {
  /** Series reference (index offset / 16). */
  ref: number;
  /** Closed interval [mint, maxt], exact int64. */
  mint: bigint;
  maxt: bigint;
}

/** Reads and checks `<block>/tombstones` (magic 0x0130BA30, version 1, entries, CRC32C). */
export async function readTombstones(
  blockDir: string,
): Promise<{ bytes: Buffer; entries: TombstoneEntry[] }> {
  const bytes = await readFile(join(blockDir, 'tombstones'));
  if (bytes.length < 9 || bytes.readUInt32BE(0) !== 0x0130ba30 || bytes[4] !== 1) {
    throw new Error(`${blockDir}/tombstones: bad header`);
  }
  const body = bytes.subarray(5, bytes.length - 4);
  if (crc32c(body) >>> 0 !== bytes.readUInt32BE(bytes.length - 4))
    throw new Error(`${blockDir}/tombstones: bad CRC`);
  const entries: TombstoneEntry[] = [];
  let pos = 0;
  const uvarint = (): bigint => {
    let x = 0n;
    let shift = 0n;
    for (;;) {
      const b = body[pos++];
      if (b === undefined) throw new Error(`${blockDir}/tombstones: truncated`);
      x |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return x;
      shift += 7n;
    }
  };
  const varint = (): bigint => {
    const u = uvarint();
    return u & 1n ? -(u >> 1n) - 1n : u >> 1n;
  };
  while (pos < body.length) entries.push({ ref: Number(uvarint()), mint: varint(), maxt: varint() });
  return { bytes, entries };
}

// ---------------------------------------------------------------------------------------------
// A real Prometheus server

export interface PrometheusServer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly dataDir: string;
  readonly process: TrackedProcess;
  /** Everything Prometheus logged so far (logfmt, stdout and stderr). */
  logs(): string;
  /** SIGTERM (SIGKILL after 10 s) by PID, then removes the temp config dir. */
  stop(): Promise<void>;
}

export interface StartPrometheusOptions {
  /** `--storage.tsdb.path`; created if missing; blocks in it are loaded (and later compacted). */
  dataDir: string;
  /**
   * `--storage.tsdb.retention.time`. Unset = Prometheus' default 15d, measured from the NEWEST
   * block's maxTime (not the clock): older blocks are deleted at startup. It also caps the
   * largest compaction range at retention/10 (max 31d).
   */
  retention?: string;
  /** Appended last, e.g. `['--storage.tsdb.max-block-duration=6h', '--log.level=debug']`. */
  extraArgs?: readonly string[];
  /** Wait this long for /-/ready (default 30 s). */
  timeoutMs?: number;
  /** prometheus.yml text (default: scrapes nothing; see remoteReadConfig). */
  config?: string;
  /** `--web.config.file`: TLS and/or basic auth; then `ready` must know how to get past them. */
  webConfigFile?: string;
  /** `https` when webConfigFile has tls_server_config (url then starts with https://). */
  scheme?: 'http' | 'https';
  /** Whether the server at `url` is ready (default: GET /-/ready answers 200). */
  ready?: (url: string) => Promise<boolean>;
}

const EMPTY_CONFIG = `# Scrapes nothing: the server only serves its TSDB.
global:
  scrape_interval: 1h
  evaluation_interval: 1h
scrape_configs: []
`;

/**
 * Starts `prometheus` on 127.0.0.1:<free port> with a config that scrapes nothing and the admin
 * API enabled, and waits until /-/ready answers 200. Its compactor first runs 60 s after start.
 */
export async function startPrometheus(opts: StartPrometheusOptions): Promise<PrometheusServer> {
  await mkdir(opts.dataDir, { recursive: true });
  const confDir = await mkdtemp(join(tmpdir(), 'strata-prometheus-'));
  const configFile = join(confDir, 'prometheus.yml');
  await writeFile(configFile, opts.config ?? EMPTY_CONFIG);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const url = `${opts.scheme ?? 'http'}://127.0.0.1:${port}`;
    const args = [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${resolve(opts.dataDir)}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-admin-api',
      ...(opts.retention !== undefined ? [`--storage.tsdb.retention.time=${opts.retention}`] : []),
      ...(opts.webConfigFile !== undefined ? [`--web.config.file=${opts.webConfigFile}`] : []),
      ...(opts.extraArgs ?? []),
    ];
    const proc = startProcess('prometheus', PROMETHEUS, args);
    try {
      await waitFor(
        'prometheus /-/ready',
        async () => {
          if (proc.exited()) throw new Error(`prometheus exited:\n${proc.output().slice(-3000)}`);
          if (opts.ready) return (await opts.ready(url)) ? true : undefined;
          const res = await fetch(`${url}/-/ready`);
          await res.arrayBuffer();
          return res.status === 200 ? true : undefined;
        },
        opts.timeoutMs ?? 30_000,
        50,
      );
      return {
        url,
        dataDir: opts.dataDir,
        process: proc,
        logs: () => proc.output(),
        async stop(): Promise<void> {
          await proc.stop('SIGTERM', 10_000);
          await rm(confDir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      lastError = err;
      await proc.stop('SIGKILL', 1000);
      if (!/address already in use/.test(proc.output())) break;
    }
  }
  await rm(confDir, { recursive: true, force: true });
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

/**
 * A config whose only data source besides the (empty) local TSDB is remote read from `url`
 * (e.g. http://127.0.0.1:PORT/api/v1/read). `read_recent: true` makes Prometheus ask the remote
 * for every range, not only for what is older than its local data.
 */
export function remoteReadConfig(url: string): string {
  return `${EMPTY_CONFIG}remote_read:
  - url: ${JSON.stringify(url)}
    read_recent: true
`;
}

/** Copies block dirs into a Prometheus data dir (created if missing) for startPrometheus. */
export async function copyBlocksInto(dataDir: string, blockDirs: readonly string[]): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  for (const dir of blockDirs) await cp(dir, join(dataDir, basename(dir)), { recursive: true });
}

/** Seconds text for the HTTP API, exact to the ms (the API rounds to ms). */
export function apiTime(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  const a = Math.abs(ms);
  return `${sign}${Math.floor(a / 1000)}.${String(a % 1000).padStart(3, '0')}`;
}

/**
 * POST /api/v1/admin/tsdb/delete_series (expects 204). Without start/end Prometheus uses its
 * min/max API times, then clamps each tombstone to the series' own first..last chunk time in
 * that block. Tombstones of persisted blocks are on disk when this returns.
 */
export async function deleteSeries(
  url: string,
  matchers: readonly string[],
  startMs?: number,
  endMs?: number,
): Promise<void> {
  const body = new URLSearchParams();
  for (const m of matchers) body.append('match[]', m);
  if (startMs !== undefined) body.append('start', apiTime(startMs));
  if (endMs !== undefined) body.append('end', apiTime(endMs));
  const res = await fetch(`${url}/api/v1/admin/tsdb/delete_series`, { method: 'POST', body });
  const text = await res.text();
  if (res.status !== 204) throw new Error(`delete_series ${matchers.join(' ')}: HTTP ${res.status}: ${text}`);
}

export interface MatrixSeries {
  metric: Record<string, string>;
  /** [unix seconds, value text] pairs; value text is strconv 'f' -1 (or NaN, +Inf, -Inf). */
  values: [number, string][];
}

export interface QueryRangeResponse {
  status: 'success';
  data: { resultType: 'matrix'; result: MatrixSeries[] };
  warnings?: string[];
}

/** GET /api/v1/query_range; start, end and step in ms. Throws unless status is success. */
export async function queryRange(
  url: string,
  query: string,
  startMs: number,
  endMs: number,
  stepMs: number,
): Promise<QueryRangeResponse> {
  const params = new URLSearchParams({
    query,
    start: apiTime(startMs),
    end: apiTime(endMs),
    step: apiTime(stepMs),
  });
  const res = await fetch(`${url}/api/v1/query_range?${params.toString()}`);
  const json = (await res.json()) as { status?: string; error?: string; data?: { resultType?: string } };
  if (res.status !== 200 || json.status !== 'success' || json.data?.resultType !== 'matrix') {
    throw new Error(`query_range ${query}: HTTP ${res.status}: ${json.error ?? JSON.stringify(json)}`);
  }
  return json as QueryRangeResponse;
}

/** A matrix as samples (t in ms; `NaN`, `+Inf`, `-Inf` understood). */
export function matrixToSamples(resp: QueryRangeResponse): Sample[] {
  const out: Sample[] = [];
  for (const s of resp.data.result) {
    for (const [sec, text] of s.values) {
      const v =
        text === '+Inf' ? Infinity : text === '-Inf' ? -Infinity : text === 'NaN' ? NaN : Number(text);
      out.push({ labels: s.metric, t: Math.round(sec * 1000), v });
    }
  }
  return out;
}

/** The value of an unlabelled metric from GET /metrics, or undefined if absent. */
export async function scrapeMetric(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `)) return Number(line.slice(name.length + 1));
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Prometheus' own compactor

export interface CompactionLog {
  /** false for `compact blocks resulted in empty block` (everything deleted; inputs marked deletable). */
  produced: boolean;
  count: number;
  mint?: number;
  maxt?: number;
  ulid?: string;
  sources: string[];
  /** The logged `duration`, in ms (covers opening the inputs and writing the output). */
  durationMs: number;
  line: string;
}

/** Parses Go time.Duration.String() text (`24.828985ms`, `850µs`, `1m2.5s`, `0s`) to ms. */
export function parseGoDuration(text: string): number {
  const unitMs: Record<string, number> = {
    h: 3600_000,
    m: 60_000,
    s: 1000,
    ms: 1,
    us: 1e-3,
    µs: 1e-3,
    μs: 1e-3,
    ns: 1e-6,
  };
  const sign = text.startsWith('-') ? -1 : 1;
  const body = text.replace(/^[-+]/, '');
  if (body === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(h|ms|us|µs|μs|ns|m|s)/gy;
  let total = 0;
  let pos = 0;
  for (let m = re.exec(body); m !== null; m = re.exec(body)) {
    total += Number(m[1]) * unitMs[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos !== body.length || pos === 0) throw new Error(`not a Go duration: ${text}`);
  return sign * total;
}

/** Fields of one logfmt line (quoted values unescaped for `\"` and `\\`). */
export function parseLogfmt(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) {
    const raw = m[2]!;
    out[m[1]!] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
  }
  return out;
}

/** The `msg="compact blocks..."` lines of a Prometheus log. */
export function parseCompactionLogs(logText: string): CompactionLog[] {
  const out: CompactionLog[] = [];
  for (const line of logText.split('\n')) {
    if (!line.includes('msg="compact blocks')) continue;
    const f = parseLogfmt(line);
    if (f.msg !== 'compact blocks' && f.msg !== 'compact blocks resulted in empty block') continue;
    out.push({
      produced: f.msg === 'compact blocks',
      count: Number(f.count),
      ...(f.mint !== undefined ? { mint: Number(f.mint) } : {}),
      ...(f.maxt !== undefined ? { maxt: Number(f.maxt) } : {}),
      ...(f.ulid !== undefined ? { ulid: f.ulid } : {}),
      sources: (f.sources ?? '')
        .replace(/^\[|\]$/g, '')
        .split(' ')
        .filter(Boolean),
      durationMs: parseGoDuration(f.duration ?? ''),
      line,
    });
  }
  return out;
}

export interface CompactionResult {
  /** Sum of the logged durations of every compaction in this run, in ms. */
  durationMs: number;
  compactions: CompactionLog[];
}

export interface WaitForCompactionOptions {
  /** Default 150 s (the loop first runs 60 s after the TSDB opened). */
  timeoutMs?: number;
  /** The run is over when no new compaction was logged for this long (default 2 s). */
  settleMs?: number;
  /** Wait for at least this many compactions (default 1). */
  minCompactions?: number;
}

/**
 * Waits for Prometheus' compaction loop (first tick 60 s after the TSDB opened, hard-coded) to
 * log `msg="compact blocks"`, lets the run settle (the loop compacts plan after plan), and returns
 * the logged durations. Throws on `compaction failed`, on exit, or on timeout (e.g. nothing to do).
 */
export async function waitForCompaction(
  prom: PrometheusServer,
  opts: WaitForCompactionOptions = {},
): Promise<CompactionResult> {
  const settleMs = opts.settleMs ?? 2000;
  const minCompactions = opts.minCompactions ?? 1;
  let seen = 0;
  let lastChange = Date.now();
  return waitFor(
    'prometheus compaction',
    async () => {
      const logs = prom.logs();
      if (/msg="compaction failed"/.test(logs)) throw new Error(`compaction failed:\n${logs.slice(-3000)}`);
      if (prom.process.exited()) throw new Error(`prometheus exited:\n${logs.slice(-3000)}`);
      const compactions = parseCompactionLogs(logs);
      if (compactions.length !== seen) {
        seen = compactions.length;
        lastChange = Date.now();
      }
      if (seen < minCompactions || Date.now() - lastChange < settleMs) return undefined;
      if ((await scrapeMetric(prom.url, 'prometheus_tsdb_compaction_populating_block')) !== 0)
        return undefined;
      return { durationMs: compactions.reduce((a, c) => a + c.durationMs, 0), compactions };
    },
    opts.timeoutMs ?? 150_000,
    250,
  );
}

// ---------------------------------------------------------------------------------------------
// Small fs helpers

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Names of the subdirectories of dir named like a ULID (what Prometheus treats as blocks). */
async function ulidDirs(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const ent of await readdir(dir, { withFileTypes: true })) {
    if (!ULID_RE.test(ent.name)) continue;
    if (ent.isDirectory() || (ent.isSymbolicLink() && (await stat(join(dir, ent.name))).isDirectory())) {
      out.push(basename(ent.name));
    }
  }
  return out.sort();
}
