/**
 * Child process for the SIGKILL test: syncs a filesystem bucket slowly (latency per request) and
 * prints the number of checkpoint writes, so the parent can kill it mid-sync.
 * Usage: vite-node child-sync.ts <bucket dir> <cache dir>
 */
import { FilesystemBucket } from '../../../src/objstore/filesystem.js';
import { LatencyBucket } from '../../../bench/latency.js';
import { multiTenantLayout } from '../../../src/block/layout.js';
import { MetaFetcher } from '../../../src/block/fetcher/index.js';

const [bucketDir, cacheDir] = process.argv.slice(2);
if (!bucketDir || !cacheDir) throw new Error('usage: child-sync.ts <bucket dir> <cache dir>');
const bucket = new LatencyBucket(new FilesystemBucket({ directory: bucketDir, fsync: false }), {
  delayMs: 15,
});
const f = new MetaFetcher(
  { bucket, layout: multiTenantLayout(), now: () => 1_699_488_000_000 + 5000 * 3_600_000 },
  { cacheDir, concurrency: 2, checkpointEveryReads: 5 },
);
const timer = setInterval(() => console.log(`checkpoints=${f.checkpointWrites}`), 10);
await f.sync();
clearInterval(timer);
console.log('done');
