/**
 * Compactions on worker threads, so that plans executed at once (`--compact.concurrency` > 1)
 * use one core each: compactBlocks is CPU work on whatever thread runs it, and two plans on the
 * main thread share one core. Threads are kept between plans (a start costs ~50 ms of module
 * loading) and unref'd while idle, so they never keep the process alive. Each costs one V8 heap
 * (~10 MiB at rest) on top of the compaction's own memory, which moves there from the main
 * thread.
 *
 * Errors cross the thread as their cause chain (codes, messages, the input block of a
 * CompactionInputError), so a failed plan is classified exactly as on the main thread. Without
 * the built worker file (tests running the TypeScript sources) compactions run in-process.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { compactBlocks, type CompactOptions, type CompactResult } from '../tsdb/compact/compact.js';
import { CompactionInputError } from '../tsdb/compact/errors.js';
import { causeChain, errorCode, type ErrorCode } from '../util/errors.js';

const WORKER_URL = new URL('./compact-worker.js', import.meta.url);

/** What crosses to the thread: everything but functions (ULIDs are minted here). */
export type ThreadCompactOptions = Omit<CompactOptions, 'ulids' | 'seam'>;

export interface CompactJob {
  readonly dirs: readonly string[];
  readonly outDir: string;
  readonly options: ThreadCompactOptions;
}

/** One link of a cause chain, outermost first. */
interface ErrorLink {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly block?: string;
  readonly series?: string;
}

export type CompactReply =
  | { readonly ok: true; readonly result: CompactResult }
  | { readonly ok: false; readonly error: readonly ErrorLink[] };

export function serializeError(err: unknown): ErrorLink[] {
  return causeChain(err).map((e): ErrorLink => {
    const code = errorCode(e);
    const base = {
      name: e instanceof Error ? e.name : 'Error',
      message: e instanceof Error ? e.message : String(e),
      ...(code !== undefined ? { code } : {}),
    };
    if (!(e instanceof CompactionInputError)) return base;
    return { ...base, block: e.block, ...(e.series !== undefined ? { series: e.series } : {}) };
  });
}

/** The chain rebuilt: CompactionInputErrors as themselves, other links as errors with their code. */
export function reviveError(links: readonly ErrorLink[]): Error {
  let cause: Error | undefined;
  for (let i = links.length - 1; i >= 0; i--) {
    const l = links[i]!;
    let e: Error;
    if (l.block !== undefined && l.code !== undefined) {
      const prefix = `block ${l.block}${l.series ? ` series ${l.series}` : ''}: `;
      const detail = l.message.startsWith(prefix) ? l.message.slice(prefix.length) : l.message;
      e = new CompactionInputError(l.code as ErrorCode, l.block, l.series, detail, cause);
    } else {
      e = new Error(l.message, cause === undefined ? undefined : { cause });
      e.name = l.name;
      if (l.code !== undefined) Object.assign(e, { code: l.code });
    }
    cause = e;
  }
  return cause ?? new Error('compaction thread failed without an error');
}

export class CompactThreads {
  private readonly idle: Worker[] = [];
  private readonly available = existsSync(fileURLToPath(WORKER_URL));
  /** Compactions that ran on a thread (not in-process). */
  onThreads = 0;

  /** Compacts on a thread (the sources' samples are read and written there). */
  async compact(dirs: readonly string[], outDir: string, opts: CompactOptions = {}): Promise<CompactResult> {
    if (!this.available || opts.seam !== undefined) return compactBlocks(dirs, outDir, opts);
    const { ulids, seam: _seam, ...rest } = opts;
    const options: ThreadCompactOptions = {
      ...rest,
      ...(ulids && rest.ulid === undefined ? { ulid: ulids() } : {}),
    };
    const w = this.idle.pop() ?? new Worker(WORKER_URL);
    w.ref();
    let reply: CompactReply;
    try {
      reply = await new Promise<CompactReply>((resolve, reject) => {
        const onExit = (code: number): void =>
          reject(new Error(`compaction thread exited with code ${code}`));
        w.once('error', reject);
        w.once('exit', onExit);
        w.once('message', (m: CompactReply) => {
          w.off('error', reject);
          w.off('exit', onExit);
          resolve(m);
        });
        w.postMessage({ dirs, outDir, options } satisfies CompactJob);
      });
    } catch (err) {
      // A thread that failed outside compactBlocks is not reused.
      await w.terminate().catch(() => undefined);
      throw err;
    }
    w.unref();
    this.idle.push(w);
    this.onThreads++;
    if (!reply.ok) throw reviveError(reply.error);
    return reply.result;
  }

  /** Stops the idle threads. */
  async close(): Promise<void> {
    const all = this.idle.splice(0);
    await Promise.all(all.map((w) => w.terminate()));
  }
}
