import { classifyMeta, Interner } from '../../../src/block/fetcher/meta-read.js';
import { formatMeta } from '../../../src/tsdb/meta.js';
import { mkMeta, ulidAt, T0 } from './helpers.js';
const N = Number(process.argv[2] ?? 200000);
const mode = process.argv[3] ?? 'full';
const interner = new Interner();
const m = new Map();
const gc = (globalThis as unknown as { gc: () => void }).gc;
gc();
const before = process.memoryUsage();
for (let i = 0; i < N; i++) {
  const id = Buffer.from(ulidAt(T0 + i * 1000, i), 'latin1').toString('latin1');
  if (mode === 'ids') {
    m.set(id, i);
    continue;
  }
  const meta = mkMeta(id, {
    labels: { cluster: `c${i % 100}`, env: 'prod', replica: `r${i % 2}`, tenant: `t${i % 100}` },
    uploadTime: new Date(T0 + i * 1000).toISOString(),
  });
  const text = formatMeta(meta);
  const o = classifyMeta(id, Buffer.from(text), 'k', interner);
  if (o.kind === 'loaded') m.set(id, o.meta);
}
gc();
const after = process.memoryUsage();
console.log(
  m.size,
  mode,
  'heap/block',
  ((after.heapUsed - before.heapUsed) / N).toFixed(0),
  'rss MB',
  (after.rss / 1e6).toFixed(0),
);
