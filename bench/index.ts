/**
 * Index writer/reader throughput: `npx vite-node bench/index.ts [numSeries]`.
 * Writes N series (6 labels, 3 chunks each), then opens the index, walks all series with the
 * sequential cursor, runs a few selects and a full validate.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareStrings, type Label } from '../src/tsdb/labels.js';
import { IndexReader } from '../src/tsdb/index/reader.js';
import { IndexWriter } from '../src/tsdb/index/writer.js';
import { parseSelector } from '../src/tsdb/index/matchers.js';
import type { ChunkMeta } from '../src/tsdb/index/format.js';

function ms(t0: number): string {
  return `${(performance.now() - t0).toFixed(0)} ms`;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 200_000);
  const dir = await mkdtemp(join(tmpdir(), 'strata-bench-index-'));
  const path = join(dir, 'index');
  try {
    const sets: Label[][] = [];
    const syms = new Set<string>();
    for (let i = 0; i < n; i++) {
      const ls: Label[] = [
        { name: '__name__', value: `metric_${(i % 500).toString().padStart(3, '0')}` },
        { name: 'env', value: i % 7 === 0 ? 'prod' : 'dev' },
        { name: 'instance', value: `10.0.${(i >> 8) & 255}.${i & 255}:9100` },
        { name: 'job', value: `job_${i % 20}` },
        { name: 'pod', value: `pod-${i.toString(36)}` },
        { name: 'zone', value: `z${i % 3}` },
      ];
      sets.push(ls);
      for (const l of ls) syms.add(l.name).add(l.value);
    }
    sets.sort((a, b) => {
      for (let i = 0; i < a.length; i++) {
        const c = compareStrings(a[i]!.value, b[i]!.value);
        if (c !== 0) return c;
      }
      return 0;
    });
    const symbols = [...syms].sort(compareStrings);
    const chunks: ChunkMeta[] = [
      { mint: 0, maxt: 1000, ref: 0 },
      { mint: 1001, maxt: 2000, ref: 0 },
      { mint: 2001, maxt: 3000, ref: 0 },
    ];
    let t0 = performance.now();
    const w = await IndexWriter.create(path, symbols);
    let ref = 8;
    for (const ls of sets) {
      for (const c of chunks) {
        c.ref = ref;
        ref += 150;
      }
      await w.addSeries(ls, chunks);
    }
    const st = await w.close();
    console.log(`write ${n} series: ${ms(t0)}, ${((await stat(path)).size / 1e6).toFixed(1)} MB`, st);

    t0 = performance.now();
    const r = await IndexReader.open(path);
    console.log(`open: ${ms(t0)}`);
    t0 = performance.now();
    let count = 0;
    let chunksSeen = 0;
    const c = r.seriesCursor();
    for (;;) {
      while (c.next()) {
        count++;
        chunksSeen += c.series.chunks.length;
      }
      if (!(await c.load())) break;
    }
    console.log(`cursor walk: ${count} series, ${chunksSeen} chunks, ${ms(t0)}`);
    t0 = performance.now();
    count = 0;
    for await (const s of r.seriesIterator()) count += s.labels.length > 0 ? 1 : 0;
    console.log(`async iterator walk: ${count} series, ${ms(t0)}`);
    for (const sel of [
      '{env="prod"}',
      'metric_001',
      '{job=~"job_1.*", zone!="z1"}',
      '{pod=~".+", env!="dev"}',
    ]) {
      t0 = performance.now();
      const ids = await r.select(parseSelector(sel));
      console.log(`select ${sel}: ${ids.length} series, ${ms(t0)}`);
    }
    t0 = performance.now();
    const v = await r.validate(0, 3001);
    console.log(`validate: ok=${v.ok} problems=${v.problems.length}, ${ms(t0)}`);
    await r.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
