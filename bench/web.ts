/**
 * bench:web — the Blocks APIs and page on a filesystem bucket of many block metas (default
 * 200,000 meta.json files, one tenant): the first sync of `strata bucket web` (in-process), a
 * filtered API page, the timeline, and the page's first render in Chromium; beside the anchor of
 * Thanos' viewer, which sends every meta in one JSON and filters in the browser (timed here as
 * JSON.stringify + JSON.parse + filter of all metas, in-process: no network, in the anchor's favour).
 * `strata bucket web` runs as its own process (bin/strata.js). Medians of --runs runs.
 * Usage: npm run bench:web [-- --blocks N --runs R --dir DIR] (--dir keeps the bucket and reuses it)
 */
import { spawn } from 'node:child_process';
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BlockMeta } from '../src/tsdb/meta.js';
import { launchBrowser } from '../test/support/browser.js';
import { syntheticMetas } from '../test/support/synthetic-metas.js';

const { values } = parseArgs({
  options: {
    blocks: { type: 'string', default: '200000' },
    runs: { type: 'string', default: '7' },
    dir: { type: 'string' },
  },
});
const N = Number(values.blocks);
const RUNS = Math.max(1, Number(values.runs));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number): string => `${x.toFixed(1)} ms`;

async function writeBucket(dir: string, metas: readonly BlockMeta[]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < metas.length) {
      const m = metas[next++]!;
      const d = join(dir, 'bench', m.ulid);
      await mkdir(d, { recursive: true });
      await writeFile(join(d, 'meta.json'), JSON.stringify(m));
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
}

async function main(): Promise<void> {
  const dir = values.dir ?? join(tmpdir(), `strata-bench-web-${process.pid}`);
  const bucketDir = join(dir, 'bucket');
  const metas = syntheticMetas(N);
  let t = performance.now();
  const reuse =
    values.dir !== undefined &&
    (await access(join(bucketDir, 'bench')).then(
      () => true,
      () => false,
    ));
  if (reuse) console.log(`reusing the bucket in ${bucketDir}`);
  else {
    await writeBucket(bucketDir, metas);
    console.log(`wrote ${N} meta.json files in ${Math.round(performance.now() - t)} ms (${bucketDir})`);
  }
  const config = `type: FILESYSTEM\nconfig:\n  directory: ${JSON.stringify(bucketDir)}\n`;
  t = performance.now();
  const child = spawn(
    process.execPath,
    [
      join(import.meta.dirname, '../../bin/strata.js'),
      'bucket',
      'web',
      '--objstore.config',
      config,
      '--tenancy',
      'multi',
      '--http-address',
      '127.0.0.1:0',
      '--refresh',
      '1h',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const stop = (): void => {
    if (child.exitCode === null) child.kill('SIGTERM');
  };
  process.once('exit', stop);
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const m = /UI: http:\/\/([^/\s]+)\//.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`strata bucket web exited (${code})`)));
  });
  console.log(
    `strata bucket web: first sync + index of ${N} blocks in ${Math.round(performance.now() - t)} ms`,
  );
  const base = `http://${address}`;
  const from = metas[Math.floor(N / 5)]!.minTime;
  const to = from + 30 * 86_400_000;
  const query = `tenant=bench&label=replica=r1&level=1&min_time=${from}&max_time=${to}&limit=500&offset=500&sort=-min_time`;
  const match = (m: BlockMeta): boolean =>
    m.thanos?.labels['replica'] === 'r1' && m.compaction.level === 1 && m.maxTime > from && m.minTime < to;
  const page: number[] = [];
  const timeline: number[] = [];
  const anchor: number[] = [];
  let pageBytes = 0;
  let timelineBytes = 0;
  let anchorBytes = 0;
  let total = 0;
  for (let i = 0; i < RUNS; i++) {
    t = performance.now();
    const body = await (await fetch(`${base}/api/v1/blocks?${query}`)).text();
    page.push(performance.now() - t);
    pageBytes = body.length;
    total = (JSON.parse(body) as { data: { total: number } }).data.total;
    t = performance.now();
    timelineBytes = (await (await fetch(`${base}/api/v1/strata/blocks/timeline?tenant=bench`)).text()).length;
    timeline.push(performance.now() - t);
  }
  // The anchor after every request: it blocks this process for seconds (idle keep-alive sockets
  // would be closed under a request).
  for (let i = 0; i < RUNS; i++) {
    t = performance.now();
    const all = JSON.stringify({ status: 'success', data: { blocks: metas, label: '', err: null } });
    const parsed = JSON.parse(all) as { data: { blocks: BlockMeta[] } };
    const hits = parsed.data.blocks.filter(match).sort((a, b) => b.minTime - a.minTime);
    anchor.push(performance.now() - t);
    anchorBytes = all.length;
    if (hits.length !== total)
      throw new Error(`the API counted ${total} matches, the full scan ${hits.length}`);
  }
  const browser = await launchBrowser();
  const renders: number[] = [];
  try {
    for (let i = 0; i < Math.min(RUNS, 5); i++) {
      const p = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await p.goto(`${base}/#/blocks?tenant=bench`);
      let r: unknown;
      while ((r = await p.evaluate('document.getElementById("main").dataset.rendered')) === undefined)
        await new Promise((res) => setTimeout(res, 20));
      renders.push(Number(r));
      await p.close();
    }
  } finally {
    await browser.close();
  }
  stop();
  console.log(`${N} blocks, ${total} match the filter; medians of ${RUNS} runs:`);
  console.log(
    `  /api/v1/blocks filtered page (500):   ${ms(median(page))}  (${(pageBytes / 1024).toFixed(0)} KiB)`,
  );
  console.log(
    `  /api/v1/strata/blocks/timeline (20k): ${ms(median(timeline))}  (${(timelineBytes / 1024).toFixed(0)} KiB)`,
  );
  console.log(
    `  anchor: all metas as one JSON + parse + filter (Thanos viewer): ${ms(median(anchor))}  (${(anchorBytes / 1048576).toFixed(1)} MiB)`,
  );
  console.log(`  ratio anchor / filtered page:         ${(median(anchor) / median(page)).toFixed(1)}×`);
  console.log(`  page first render in Chromium:        ${ms(median(renders))} (median of ${renders.length})`);
  if (values.dir === undefined) await rm(dir, { recursive: true, force: true });
}

await main();
