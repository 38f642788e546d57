/**
 * A/B of the compaction engine: the same inputs compacted in-process by two builds of Strata, one
 * fresh process per compaction (JIT warm-up included, as in a real pass), alternating A and B so
 * load changes hit both; medians.
 *
 *   node dist/bench/compact-ab.js --before DIR --after DIR [--runs N] [--dedup exact|penalty]
 *     [--replica-label NAME] INPUTS_DIR...
 *
 * DIR is a built checkout (its dist/src/tsdb/compact/compact.js is loaded), e.g. a `git worktree`
 * of an older commit after `npm run build`. INPUTS_DIR holds the input blocks of one case (e.g. the
 * `in` folders `node dist/bench/compact.js --keep DIR` leaves). One line per case.
 */
import { spawn } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadavg } from 'node:os';

interface Run {
  wall: number;
  cpu: number;
  rss: number;
  samples: number;
}

interface Args {
  before: string;
  after: string;
  runs: number;
  dedup: string;
  replicaLabels: string[];
  cases: string[];
}

const SELF = fileURLToPath(import.meta.url);

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { before: '', after: '', runs: 3, dedup: 'exact', replicaLabels: [], cases: [] };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i]!;
    const next = (): string => {
      const n = argv[++i];
      if (n === undefined) throw new Error(`${v} needs a value`);
      return n;
    };
    if (v === '--before') a.before = resolve(next());
    else if (v === '--after') a.after = resolve(next());
    else if (v === '--runs') a.runs = Number(next());
    else if (v === '--dedup') a.dedup = next();
    else if (v === '--replica-label') a.replicaLabels.push(next());
    else a.cases.push(resolve(v));
  }
  if (!a.before || !a.after || a.cases.length === 0) {
    throw new Error('usage: compact-ab.js --before DIR --after DIR [--runs N] INPUTS_DIR...');
  }
  return a;
}

/** One compaction in this process (the child side). */
async function child(root: string, inputsDir: string, dedup: string, labels: string): Promise<void> {
  const mod = (await import(pathToFileURL(join(root, 'dist/src/tsdb/compact/compact.js')).href)) as {
    compactBlocks: (inputs: string[], out: string, o: object) => Promise<{ outputSamples: number }>;
  };
  const inputs = (await readdir(inputsDir))
    .filter((d) => /^[0-9A-Z]{26}$/.test(d))
    .map((d) => join(inputsDir, d));
  const out = join(inputsDir, '..', `ab-out-${process.pid}`);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await mod.compactBlocks(inputs, out, {
    dedup,
    replicaLabels: labels === '' ? [] : labels.split(','),
  });
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  await rm(out, { recursive: true, force: true });
  const res: Run = {
    wall,
    cpu: (c.user + c.system) / 1000,
    rss: process.resourceUsage().maxRSS / 1024,
    samples: r.outputSamples,
  };
  process.stdout.write(JSON.stringify(res) + '\n');
}

function runChild(root: string, inputsDir: string, a: Args): Promise<Run> {
  return new Promise((res, rej) => {
    const args = [SELF, '--child', root, inputsDir, a.dedup, a.replicaLabels.join(',')];
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    p.once('error', rej);
    p.once('close', (code) =>
      code === 0 ? res(JSON.parse(out.trim()) as Run) : rej(new Error(`child exited ${code}`)),
    );
  });
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[s.length >> 1]!;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') return child(argv[1]!, argv[2]!, argv[3]!, argv[4] ?? '');
  const a = parseArgs(argv);
  const load = (): string => loadavg()[0]!.toFixed(1);
  process.stdout.write(`load ${load()}; before ${a.before}, after ${a.after}; medians of ${a.runs}\n`);
  for (const c of a.cases) {
    const before: Run[] = [];
    const after: Run[] = [];
    for (let i = 0; i < a.runs; i++) {
      before.push(await runChild(a.before, c, a));
      after.push(await runChild(a.after, c, a));
    }
    if (before[0]!.samples !== after[0]!.samples) throw new Error(`${c}: outputs differ in samples`);
    const m = (rs: Run[], k: keyof Run): string => median(rs.map((r) => r[k])).toFixed(0);
    process.stdout.write(
      `${c}: wall ${m(before, 'wall')} → ${m(after, 'wall')} ms, CPU ${m(before, 'cpu')} → ${m(after, 'cpu')} ms, ` +
        `peak RSS ${m(before, 'rss')} → ${m(after, 'rss')} MiB, ${after[0]!.samples} samples out\n`,
    );
  }
  process.stdout.write(`load ${load()}\n`);
}

await main();
