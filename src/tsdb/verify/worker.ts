/** Worker-thread entry: verifies one range of a block's chunks (see verify.ts) and posts the result. */
import { parentPort, workerData } from 'node:worker_threads';
import { verifyChunkRange, type ChunkRangeJob } from './chunks.js';

parentPort?.postMessage(await verifyChunkRange(workerData as ChunkRangeJob));
