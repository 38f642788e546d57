/** Parsers for `strata store` flag values (bad values are InvalidArgumentErrors: exit 2). */
import { resolve } from 'node:path';
import type { ObjstoreConfig } from '../objstore/config.js';
import type { Shard, TimeBound } from '../store/blockset.js';
import { parseDuration } from '../util/duration.js';
import { InvalidArgumentError } from '../util/errors.js';
import { timeArg } from './args.js';

const BYTE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** A byte size: `262144000`, `250MiB`, `1GB`. */
export function bytesArg(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = BYTE_UNITS[(m?.[2] ?? '').toLowerCase()];
  if (m === null || unit === undefined) {
    throw new InvalidArgumentError(`not a byte size: "${value}" (e.g. 262144000, 250MiB, 1GB)`);
  }
  return Math.floor(Number(m[1]) * unit);
}

/** ms since the epoch, RFC 3339, or a duration relative to now (`-2h`; evaluated at each sync). */
export function timeBoundArg(value: string): TimeBound {
  const rel = /^([+-])(\d.*)$/.exec(value);
  if (rel !== null && !/^-?\d+$/.test(value)) {
    const ms = parseDuration(rel[2]!);
    return { relative: rel[1] === '-' ? -ms : ms };
  }
  return { absolute: timeArg(value) };
}

/** `i/N` with 0 <= i < N. */
export function shardArg(value: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  const index = Number(m?.[1]);
  const total = Number(m?.[2]);
  if (m === null || !(total >= 1) || !(index < total)) {
    throw new InvalidArgumentError(`--shard must be i/N with 0 <= i < N (e.g. 0/3), got "${value}"`);
  }
  return { index, total };
}

/**
 * The default store group ID: the objstore type, endpoint and bucket (or directory) and prefix,
 * plus what narrows the blocks served (tenant, shard, time range), so only stores serving the
 * same blocks share a group.
 */
export function defaultGroupId(
  config: ObjstoreConfig,
  o: { tenant?: string; shard?: Shard; minTime?: string; maxTime?: string },
): string {
  const prefix = config.prefix.replace(/^\/+|\/+$/g, '');
  let id =
    config.type === 'S3'
      ? `s3:${config.endpoint.replace(/\/+$/, '')}/${config.bucket}`
      : `filesystem:${resolve(config.directory)}`;
  if (prefix !== '') id += `/${prefix}`;
  if (o.tenant !== undefined) id += `;tenant=${o.tenant}`;
  if (o.shard !== undefined) id += `;shard=${o.shard.index}/${o.shard.total}`;
  if (o.minTime !== undefined || o.maxTime !== undefined)
    id += `;time=${o.minTime ?? ''}..${o.maxTime ?? ''}`;
  return id;
}
