/**
 * `strata bucket web`: the web UI's Blocks page on a bucket, like `thanos tools bucket web`. Syncs
 * the bucket's metadata every --refresh (without filters: marked and fresh blocks are shown too)
 * and serves the UI and its APIs until SIGTERM/SIGINT.
 */
import type { Command } from 'commander';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { MetaFetcher } from '../block/fetcher/fetcher.js';
import { startHttpEndpoint } from '../util/http.js';
import { errorMessage, InvalidArgumentError } from '../util/errors.js';
import { BlockSourceHolder } from '../web/blocks-source.js';
import { durationArg } from './args.js';
import { bucketOptions, openBucket, type BucketFlags } from './bucket-common.js';
import { untilSignalled } from './sync-setup.js';
import { httpConfigOption, httpConfigOptions, readHttpConfig, type HttpConfigFlags } from './http-flags.js';
import { BLOCKS_PAGE, mountBlocksPage } from './web-blocks.js';
import { serveWebUi, webOptions, type WebFlags } from './web-setup.js';

export interface BucketWebFlags extends BucketFlags, WebFlags, HttpConfigFlags {
  httpAddress: string;
  refresh: number;
}

export function registerBucketWeb(bucket: Command): void {
  httpConfigOptions(
    webOptions(
      bucketOptions(
        bucket.command('web').description('serve the web UI (Blocks page and its JSON APIs) for a bucket'),
      ),
    ),
  )
    .option('--http-address <host:port>', 'listen address of the UI, its APIs and /metrics', '0.0.0.0:10902')
    .option('--refresh <duration>', 'how often to re-sync the bucket metadata', durationArg, 30 * 60_000)
    .action(
      untilSignalled((f: BucketWebFlags, signal) =>
        runBucketWeb(f, signal, (address) => process.stdout.write(`UI: ${uiUrl(address)}\n`)),
      ),
    );
}

/** The URL to open for a bound address (a wildcard address is opened on loopback). */
export function uiUrl(address: string): string {
  return `http://${address.replace(/^(0\.0\.0\.0|\[::\]|::):/, '127.0.0.1:')}/`;
}

/** Starts serving; `onListening` gets the bound address once the first sync is done. */
export async function runBucketWeb(
  f: BucketWebFlags,
  signal: AbortSignal,
  onListening?: (address: string) => void,
): Promise<void> {
  if (!(f.refresh >= 1000)) throw new InvalidArgumentError('--refresh must be at least 1s');
  const httpConfig = await readHttpConfig(f);
  const ctx = await openBucket(f);
  const { bucket, layout, logger } = ctx;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const multi = f.tenancy === 'multi' || (f.tenancy === undefined && f.tenant !== undefined);
  const fetcher = new MetaFetcher(
    { bucket, layout, logger, registry },
    { checkpoint: false, filters: [], ...(ctx.tenant !== undefined ? { tenants: [ctx.tenant] } : {}) },
  );
  const holder = new BlockSourceHolder(multi);
  let lastSync: { ok: boolean; at: string; error?: string } | undefined;
  const http = await startHttpEndpoint({
    address: f.httpAddress,
    ...httpConfigOption(httpConfig, logger),
    registry,
    ready: () => holder.view() !== undefined,
    status: () => ({ component: 'bucket web', tenancy: multi ? 'multi' : 'single', last_sync: lastSync }),
  }).catch(async (err: unknown) => {
    await ctx.close();
    throw err;
  });
  try {
    const ui = await serveWebUi(http, { component: 'bucket web', pages: [BLOCKS_PAGE], flags: f });
    mountBlocksPage(http, ui, { source: holder, bucket, layout, logger });
    const refresh = async (): Promise<void> => {
      const t = performance.now();
      try {
        const r = await fetcher.sync({ signal });
        holder.updateFromSync(r, Date.now());
        holder.view()?.prepare();
        lastSync = { ok: true, at: new Date().toISOString() };
        let blocks = 0;
        for (const t of r.tenants.values()) blocks += t.metas.size;
        logger.info('bucket metadata synced', {
          tenants: r.tenants.size,
          blocks,
          ms: Math.round(performance.now() - t),
        });
      } catch (err) {
        if (signal.aborted) return;
        lastSync = { ok: false, at: new Date().toISOString(), error: errorMessage(err) };
        holder.noteError(errorMessage(err));
        logger.warn('bucket metadata sync failed', { err: errorMessage(err) });
      }
    };
    await refresh();
    logger.info('strata bucket web started', { http: http.address, tenancy: multi ? 'multi' : 'single' });
    onListening?.(http.address);
    while (!signal.aborted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, f.refresh);
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
      if (!signal.aborted) await refresh();
    }
  } finally {
    await http.close();
    await fetcher.close();
    await ctx.close();
  }
}
