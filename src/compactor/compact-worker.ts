/** Worker-thread entry: runs the compactions compact-threads.ts posts, one at a time, and answers each. */
import { parentPort } from 'node:worker_threads';
import { compactBlocks } from '../tsdb/compact/compact.js';
import { serializeError, type CompactJob, type CompactReply } from './compact-threads.js';

const port = parentPort;
if (port !== null) {
  port.on('message', (job: CompactJob) => {
    void compactBlocks(job.dirs, job.outDir, job.options).then(
      (result) => port.postMessage({ ok: true, result } satisfies CompactReply),
      (err: unknown) => port.postMessage({ ok: false, error: serializeError(err) } satisfies CompactReply),
    );
  });
}
