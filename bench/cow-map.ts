/**
 * What the fetcher's copy-on-write results cost and save (src/util/cow-map.ts), at the 1M-block
 * bench's shape (100 tenants × 10,000 metas): iterating a snapshot that has layers (10 blocks added
 * per tenant since the base was shared) against iterating a plain Map of the same entries — the
 * anchor — and the whole-map copy it replaced (`new Map(map)` per tenant, what every sync with
 * changes paid before). Medians of `--runs` (default 7).
 *
 * Run: `npm run build && node dist/bench/cow-map.js [--runs 7]`
 */
import { CowMap } from '../src/util/cow-map.js';

const TENANTS = 100;
const PER_TENANT = 10_000;

interface Entry {
  v: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function sum(maps: readonly ReadonlyMap<string, Entry>[]): number {
  let s = 0;
  for (const m of maps) for (const [, e] of m) s += e.v;
  return s;
}

function main(): void {
  const i = process.argv.indexOf('--runs');
  const runs = i > 0 ? Number(process.argv[i + 1]) : 7;
  const plain: Map<string, Entry>[] = [];
  const layered: ReadonlyMap<string, Entry>[] = [];
  for (let t = 0; t < TENANTS; t++) {
    const c = new CowMap<string, Entry>();
    for (let k = 0; k < PER_TENANT; k++) c.set(`t${t}-${k}`, { v: k });
    c.snapshot();
    for (let k = 0; k < 10; k++) c.set(`t${t}-new-${k}`, { v: k });
    layered.push(c.snapshot());
    plain.push(new Map(c));
  }
  if (sum(plain) !== sum(layered)) throw new Error('the layered snapshot differs from the map');
  const times = { plain: [] as number[], layered: [] as number[], copy: [] as number[] };
  for (let r = 0; r < runs; r++) {
    let t0 = performance.now();
    sum(plain);
    times.plain.push(performance.now() - t0);
    t0 = performance.now();
    sum(layered);
    times.layered.push(performance.now() - t0);
    t0 = performance.now();
    const copies = plain.map((m) => new Map(m));
    times.copy.push(performance.now() - t0);
    if (copies.length !== TENANTS) throw new Error('unreachable');
  }
  const n = TENANTS * PER_TENANT;
  const p = median(times.plain);
  const l = median(times.layered);
  console.log(
    `${n} entries, medians of ${runs}: iterate a Map ${p.toFixed(1)} ms (anchor), a layered snapshot ` +
      `${l.toFixed(1)} ms (${(l / p).toFixed(2)}×); copy every tenant's map ${median(times.copy).toFixed(1)} ms ` +
      `(what each sync with changes paid before the layers)`,
  );
}

main();
