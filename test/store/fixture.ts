/**
 * Blocks for the store tests, made by promtool and uploaded to a bucket, with the oracle: the
 * `promtool tsdb dump` of the same blocks (one source's overlapping blocks merged by promtool),
 * external labels added. Also a gRPC client of a running `strata store` and chunk decoding.
 */
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { Store } from '../../gen/thanos/store/storepb/rpc_pb.js';
import { Info } from '../../gen/thanos/info/infopb/rpc_pb.js';
import type { Series } from '../../gen/thanos/store/storepb/types_pb.js';
import type { Bucket } from '../../src/objstore/bucket.js';
import { layoutFor } from '../../src/block/layout.js';
import { uploadBlock } from '../../src/block/upload.js';
import { newMatcher, type MatchType } from '../../src/tsdb/index/matchers.js';
import { SampleBuf } from '../../src/tsdb/samples/sample-buf.js';
import { decodeChunkInto } from '../../src/tsdb/chunkenc/chunk.js';
import { bitsToFloat } from '../../src/tsdb/chunkenc/float-bits.js';
import { createBlocksFromSamples, promtoolDump, type CreatedBlock } from '../services/prometheus.js';
import { generateSamples, type Sample } from '../support/openmetrics.js';
import { formatDumpLine, parseDumpLine, parseLabels, sortDumpLines } from '../support/dump.js';

export const HOUR = 3600_000;
/** 800 s after a 2h boundary (generateSamples' default start). */
export const T0 = 1_700_000_000_000;

export interface FixtureBlock extends CreatedBlock {
  readonly ext: Readonly<Record<string, string>>;
}

export interface StoreFixture {
  /** Local dirs of the blocks (by source). */
  readonly blocks: readonly FixtureBlock[];
  /** The temp dir holding them: the caller removes it. */
  readonly root: string;
  /** Oracle dump lines with external labels, sorted like promtool (all sources). */
  readonly oracle: readonly string[];
  /** ULID of the corrupt block (written to the bucket, not in the oracle). */
  readonly corrupt: string;
}

/** Samples of a second, overlapping block of source a: other timestamps plus exact copies. */
function overlapSamples(a: readonly Sample[]): Sample[] {
  const out: Sample[] = [];
  const from = T0 + 2 * HOUR;
  const to = T0 + 3 * HOUR;
  const names = new Set<string>();
  for (const s of a) {
    if (s.t < from || s.t >= to) continue;
    const key = JSON.stringify(s.labels);
    if (names.size >= 8 && !names.has(key)) continue;
    names.add(key);
    out.push({ labels: s.labels, t: s.t, v: s.v });
    out.push({ labels: s.labels, t: s.t + 7001, v: s.v + 0.5 });
  }
  return out;
}

/** Makes the blocks (two of source a overlap), uploads them and a corrupt block, dumps the oracle. */
export async function makeFixture(bucket: Bucket, tenant = ''): Promise<StoreFixture> {
  const root = await mkdtemp(join(tmpdir(), 'strata-store-fx-'));
  const a = generateSamples({
    seed: 5151,
    series: 24,
    startMs: T0,
    durationMs: 5 * HOUR,
    churn: 0.3,
    gapProbability: 0.01,
  });
  const c = generateSamples({
    seed: 977,
    series: 6,
    startMs: T0 + HOUR,
    durationMs: 2 * HOUR,
    trickyLabels: false,
  });
  const dirA = join(root, 'a');
  const dirC = join(root, 'c');
  const blocksA = await createBlocksFromSamples(a, dirA);
  const blocksB = await createBlocksFromSamples(overlapSamples(a), dirA);
  const blocksC = await createBlocksFromSamples(c, dirC);
  const extA = { source: 'a' };
  const extC = { source: 'b' };
  const layout = layoutFor(tenant === '' ? 'single' : 'multi');
  const all: FixtureBlock[] = [
    ...[...blocksA, ...blocksB].map((b) => ({ ...b, ext: extA })),
    ...blocksC.map((b) => ({ ...b, ext: extC })),
  ];
  for (const b of all) await uploadBlock(bucket, layout, tenant, b.dir, { externalLabels: b.ext });
  // A copy of a block under a new ULID whose index symbol table is damaged (CRC mismatch).
  const corrupt = '01HZZZZZZZZZZZZZZZZZZZZZZZ';
  const cdir = join(root, corrupt);
  await cp(blocksC[0]!.dir, cdir, { recursive: true });
  const meta = JSON.parse(await readFile(join(cdir, 'meta.json'), 'utf8')) as Record<string, unknown>;
  meta.ulid = corrupt;
  // Its own sources, or the duplicate filter would hide the original instead.
  (meta.compaction as { sources: string[] }).sources = [corrupt];
  await writeFile(join(cdir, 'meta.json'), JSON.stringify(meta));
  const index = await readFile(join(cdir, 'index'));
  for (let i = 20; i < 60; i++) index[i] = index[i]! ^ 0x5a;
  await writeFile(join(cdir, 'index'), index);
  await uploadBlock(bucket, layout, tenant, cdir, { externalLabels: extC });
  const withExt = (lines: string[], ext: Record<string, string>): string[] =>
    lines.map((l) => {
      const d = parseDumpLine(l);
      return `${formatLabelsWith(d.labels, ext)} ${d.value} ${d.t}`;
    });
  const oracle = sortDumpLines([
    ...withExt(await promtoolDump(dirA), extA),
    ...withExt(await promtoolDump(dirC), extC),
  ]);
  return { blocks: all, oracle, corrupt, root };
}

function formatLabelsWith(text: string, ext: Record<string, string>): string {
  const l = { ...parseLabels(text), ...ext };
  return formatDumpLine({ labels: l, t: 0, v: 0 }).replace(/ 0 0$/, '');
}

export interface WireMatcher {
  type: MatchType;
  name: string;
  value: string;
}

const WIRE: Record<MatchType, number> = { '=': 0, '!=': 1, '=~': 2, '!~': 3 };

export function wire(ms: readonly WireMatcher[]): { type: number; name: string; value: string }[] {
  return ms.map((m) => ({ type: WIRE[m.type], name: m.name, value: m.value }));
}

/** The oracle lines of series matching `ms` with samples in [mint, maxt]. */
export function expected(
  oracle: readonly string[],
  ms: readonly WireMatcher[],
  mint: number,
  maxt: number,
): string[] {
  const matchers = ms.map((m) => newMatcher(m.type, m.name, m.value));
  return oracle.filter((line) => {
    const d = parseDumpLine(line);
    if (d.t < mint || d.t > maxt) return false;
    const labels = parseLabels(d.labels);
    return matchers.every((m) => m.matches(labels[m.name] ?? ''));
  });
}

/** The samples of Series responses in [mint, maxt] as dump lines (chunks decoded). */
export function seriesToDump(series: readonly Series[], mint: number, maxt: number): string[] {
  const out: string[] = [];
  const buf = new SampleBuf();
  for (const s of series) {
    const labels: Record<string, string> = {};
    for (const l of s.labels) labels[l.name] = l.value;
    for (const c of s.chunks) {
      decodeChunkInto({ encoding: c.raw!.type + 1, data: c.raw!.data, dataOffset: 0 }, buf, 'response');
      for (let i = 0; i < buf.len; i++) {
        const t = buf.ts[i]!;
        if (t < mint || t > maxt) continue;
        out.push(formatDumpLine({ labels, t, v: bitsToFloat(buf.hi[i]!, buf.lo[i]!) }));
      }
    }
  }
  return out;
}

export interface StoreClients {
  readonly store: Client<typeof Store>;
  readonly info: Client<typeof Info>;
}

export function storeClients(address: string): StoreClients {
  const transport = createGrpcTransport({ baseUrl: `http://${address}` });
  return { store: createClient(Store, transport), info: createClient(Info, transport) };
}

/** All series of a Series call. */
export async function collectSeries(
  c: StoreClients,
  req: { minTime: bigint; maxTime: bigint; matchers: ReturnType<typeof wire>; skipChunks?: boolean },
): Promise<Series[]> {
  const out: Series[] = [];
  for await (const r of c.store.series(req)) if (r.result.case === 'series') out.push(r.result.value);
  return out;
}
