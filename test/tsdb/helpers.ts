/** Shared helpers for tsdb tests: in-process dump, temp dirs, writing blocks from samples. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runDump, type DumpOptions } from '../../src/cli/tsdb-dump.js';
import { BlockWriter, type BlockWriterResult } from '../../src/tsdb/block/writer.js';
import { SampleBuf } from '../../src/tsdb/samples/sample-buf.js';
import { encodeXorChunks } from '../../src/tsdb/chunkenc/encode.js';
import { compareLabels, labelsFromRecord, type Labels } from '../../src/tsdb/labels.js';
import { floatHi, floatLo } from '../../src/tsdb/chunkenc/float-bits.js';
import type { Sample } from '../support/dump.js';

export async function tempDir(
  prefix = 'strata-test-',
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** `strata tsdb dump` in-process; returns the lines. */
export async function strataDump(path: string, opts: DumpOptions = {}): Promise<string[]> {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer, _enc, cb): void {
      text += chunk.toString('utf8');
      cb();
    },
  });
  await runDump(path, opts, out);
  return text.split('\n').filter((l) => l !== '');
}

/**
 * Writes one block holding `samples` with Strata's writer (series sorted, chunks of `perChunk`).
 * Values given as numbers; pass `bits` to write exact 64-bit patterns instead.
 */
export async function writeBlockFromSamples(
  dir: string,
  samples: readonly Sample[],
  perChunk = 120,
  extra: { thanosLabels?: Record<string, string>; minTime?: number; maxTime?: number } = {},
): Promise<BlockWriterResult | undefined> {
  const bySeries = new Map<string, { labels: Labels; s: Sample[] }>();
  for (const s of samples) {
    const labels = labelsFromRecord(s.labels);
    const key = JSON.stringify(labels);
    let e = bySeries.get(key);
    if (!e) bySeries.set(key, (e = { labels, s: [] }));
    e.s.push(s);
  }
  const series = [...bySeries.values()].sort((a, b) => compareLabels(a.labels, b.labels));
  const symbols = new Set<string>();
  for (const e of series) for (const l of e.labels) symbols.add(l.name).add(l.value);
  const w = await BlockWriter.create(dir, {
    symbols,
    ...(extra.minTime !== undefined ? { minTime: extra.minTime } : {}),
    ...(extra.maxTime !== undefined ? { maxTime: extra.maxTime } : {}),
    thanos: { labels: extra.thanosLabels ?? {}, downsample: { resolution: 0 }, source: 'test' },
  });
  const buf = new SampleBuf();
  for (const e of series) {
    buf.reset();
    for (const s of [...e.s].sort((a, b) => a.t - b.t)) buf.push(s.t, floatHi(s.v), floatLo(s.v));
    await w.addSeries(e.labels, encodeXorChunks(buf, perChunk));
  }
  return w.finish();
}
