// Fresh-process timing of the restart's metas decode (cold code), N runs in child processes.
import { readMetasFile } from './dist/src/block/fetcher/metas-file.js';
import { Interner } from './dist/src/block/fetcher/meta-read.js';
import { MetaTable } from './dist/src/block/fetcher/meta-table.js';
const path = process.argv[2];
const t0 = performance.now();
const tables = new Map();
const keep = (tenant, m) => { let t = tables.get(tenant); if (!t) tables.set(tenant, (t = new MetaTable())); return t.pack(m); };
const r = await readMetasFile(path, new Interner(), keep);
console.log(`${(performance.now() - t0).toFixed(1)} ms ${r.records}`);
