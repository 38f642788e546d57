/** Shared wiring of the `strata bucket` commands: bucket, layout and tenants from flags; progress. */
import type { Command } from 'commander';
import type { Bucket } from '../objstore/bucket.js';
import { createBucket, loadObjstoreConfig } from '../objstore/config.js';
import { type Layout, type Tenancy, layoutFor, listTenants, parseTenancy } from '../block/layout.js';
import { checkTenancy, invalidTenantIdMessage, tenantIdProblem } from '../block/tenancy-check.js';
import { InvalidArgumentError } from '../util/errors.js';
import { type LogLevel, type Logger, createLogger } from '../util/logger.js';

export interface BucketFlags {
  'objstore.configFile'?: string;
  'objstore.config'?: string;
  tenant?: string;
  tenancy?: string;
  'log.level'?: string;
  'log.format'?: string;
}

/** Adds --objstore.config-file, --objstore.config, --tenant, --tenancy, --log.level and --log.format. */
export function bucketOptions(cmd: Command): Command {
  return cmd
    .option('--objstore.config-file <file>', 'objstore config file (Thanos format)')
    .option('--objstore.config <yaml>', 'objstore config as inline YAML (instead of a file)')
    .option('--tenant <name>', 'tenant (multi-tenant layout <tenant>/<ULID>); implies --tenancy multi')
    .option(
      '--tenancy <mode>',
      'single (Thanos: blocks at the bucket root) or multi (Cortex/Mimir: <tenant>/<ULID>); default: multi when --tenant is given, else single',
    )
    .option('--log.level <level>', 'debug, info, warn or error (logs go to stderr)', 'warn')
    .option('--log.format <format>', 'logfmt or json', 'logfmt');
}

export interface BucketContext {
  bucket: Bucket;
  layout: Layout;
  logger: Logger;
  /** --tenant, when given ('' in the single-tenant layout). */
  tenant?: string;
  /** A status line on a terminal; none with --log.format json (stderr stays JSON lines). */
  progress(): Progress;
  close(): Promise<void>;
}

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export function resolveTenancy(flags: BucketFlags): Tenancy {
  if (flags.tenancy !== undefined) return parseTenancy(flags.tenancy);
  return flags.tenant !== undefined ? 'multi' : 'single';
}

export async function openBucket(flags: BucketFlags): Promise<BucketContext> {
  const level = (flags['log.level'] ?? 'warn') as LogLevel;
  if (!LEVELS.includes(level))
    throw new InvalidArgumentError(`--log.level must be one of ${LEVELS.join(', ')}`);
  const format = flags['log.format'] ?? 'logfmt';
  if (format !== 'logfmt' && format !== 'json')
    throw new InvalidArgumentError('--log.format must be logfmt or json');
  const tenancy = resolveTenancy(flags);
  if (tenancy === 'single' && flags.tenant !== undefined && flags.tenant !== '') {
    throw new InvalidArgumentError('--tenant needs --tenancy multi');
  }
  if (tenancy === 'multi' && flags.tenant !== undefined && tenantIdProblem(flags.tenant) !== undefined) {
    throw new InvalidArgumentError(`--tenant: ${invalidTenantIdMessage(flags.tenant)}`);
  }
  const logger = createLogger({ level, format });
  const config = await loadObjstoreConfig(
    {
      ...(flags['objstore.configFile'] !== undefined ? { file: flags['objstore.configFile'] } : {}),
      ...(flags['objstore.config'] !== undefined ? { inline: flags['objstore.config'] } : {}),
    },
    logger,
  );
  const bucket = await createBucket(config, { logger });
  await checkTenancy(bucket, tenancy).catch(async (err: unknown) => {
    await bucket.close();
    throw err;
  });
  const tenant = tenancy === 'single' ? '' : flags.tenant;
  return {
    bucket,
    layout: layoutFor(tenancy),
    logger,
    ...(tenant !== undefined ? { tenant } : {}),
    progress: () => (format === 'json' ? NO_PROGRESS : progressLine()),
    close: () => bucket.close(),
  };
}

/** --tenant, or every tenant of the bucket (multi) / the single tenant ''. */
export async function targetTenants(ctx: BucketContext): Promise<string[]> {
  return ctx.tenant !== undefined ? [ctx.tenant] : listTenants(ctx.bucket, ctx.layout);
}

/** The one tenant a write goes to; multi-tenant writes need --tenant. */
export function requireTenant(ctx: BucketContext): string {
  if (ctx.tenant === undefined) throw new InvalidArgumentError('--tenant is required with --tenancy multi');
  return ctx.tenant;
}

/** Runs `fn` with an open bucket and always closes it. */
export async function withBucket<T>(flags: BucketFlags, fn: (ctx: BucketContext) => Promise<T>): Promise<T> {
  const ctx = await openBucket(flags);
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

/** `<tenant>/<ULID>` or `<ULID>` for the single tenant. */
export function blockRef(tenant: string, id: string): string {
  return tenant ? `${tenant}/${id}` : id;
}

export interface Progress {
  update(text: string): void;
  done(): void;
}

const NO_PROGRESS: Progress = { update: () => {}, done: () => {} };

/** One self-overwriting status line on a terminal; nothing at all when the stream is piped. */
export function progressLine(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return NO_PROGRESS;
  let shown = false;
  let last = 0;
  return {
    update(text: string): void {
      const now = Date.now();
      if (now - last < 100) return; // a redraw per file would flood slow terminals
      last = now;
      const width = (stream.columns || 80) - 1;
      stream.write(`\r${text.slice(0, width).padEnd(width)}`);
      shown = true;
    },
    done(): void {
      if (shown) stream.write(`\r${' '.repeat((stream.columns || 80) - 1)}\r`);
      shown = false;
    },
  };
}

export function formatLabelMap(labels: Readonly<Record<string, string>> | undefined): string {
  const keys = Object.keys(labels ?? {}).sort();
  return keys.length === 0 ? '' : `{${keys.map((k) => `${k}=${JSON.stringify(labels![k])}`).join(',')}}`;
}

export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** Range as 2h, 8h, 2d, 1d12h... */
export function formatRange(ms: number): string {
  const h = Math.floor(ms / 3600_000);
  const m = Math.floor((ms % 3600_000) / 60_000);
  const d = Math.floor(h / 24);
  const parts = [d ? `${d}d` : '', h % 24 ? `${h % 24}h` : '', m ? `${m}m` : ''].join('');
  return parts || `${ms}ms`;
}

/** `name=value` → entries; repeatable flag collector. */
export function labelArg(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`--label wants name=value, got ${JSON.stringify(value)}`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
