/**
 * TLS and authentication of an etcd client, one flag group per client: `--etcd.*` (the election
 * of compact and planner) and `--sharding-ring.etcd.*` (the ring of compact, planner and
 * worker). Cortex has the same under -ring.etcd.* (tls-cert-path, tls-key-path, tls-ca-path,
 * username, password); the password is only read from a file here, so it never shows in `ps` or
 * a shell history. Any TLS flag turns TLS on; https:// endpoints alone use the system CAs.
 */
import type { Command } from 'commander';
import { rootCertificates } from 'node:tls';
import { checkEtcdAccess } from '../util/etcd-access.js';
import type { EtcdAuth, EtcdTls } from '../util/etcd-client.js';
import { InvalidArgumentError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { readSecretFile } from '../util/secret-file.js';
import { TlsConfigError, loadClientTls, warnIfWorldReadable, type TlsFile } from '../util/tls.js';

/** Where a group's values sit in commander's options object. */
export type EtcdFlagGroup = 'etcd' | 'shardingRing.etcd';

type Field = 'tlsCert' | 'tlsKey' | 'tlsCa' | 'username' | 'passwordFile';

export type EtcdSecurityFlags<G extends EtcdFlagGroup> = { readonly [K in `${G}.${Field}`]?: string };

const FLAG: Readonly<Record<EtcdFlagGroup, string>> = {
  etcd: '--etcd',
  'shardingRing.etcd': '--sharding-ring.etcd',
};

export function etcdSecurityOptions(cmd: Command, group: EtcdFlagGroup): Command {
  const p = FLAG[group];
  return cmd
    .option(`${p}.tls-cert <file>`, `TLS certificate identifying this client to etcd (with ${p}.tls-key)`)
    .option(`${p}.tls-key <file>`, `TLS key of ${p}.tls-cert`)
    .option(
      `${p}.tls-ca <file>`,
      "CA certificates that sign etcd's certificate (default: system CAs); any TLS flag turns TLS on",
    )
    .option(`${p}.username <name>`, `etcd user, for etcd with authentication on (with ${p}.password-file)`)
    .option(
      `${p}.password-file <file>`,
      "file holding the etcd user's password (a trailing line break is ignored)",
    );
}

/** The group's flags, checked: which files to read. */
export interface EtcdSecuritySpec {
  /** `--etcd` or `--sharding-ring.etcd`. */
  readonly flags: string;
  readonly cert?: TlsFile;
  readonly key?: TlsFile;
  readonly ca?: TlsFile;
  readonly username?: string;
  readonly passwordFile?: TlsFile;
}

const set = (v: string | undefined): v is string => v !== undefined && v !== '';

/** Checks that the group's flags fit together and with the endpoints; no I/O. */
export function parseEtcdSecurity<G extends EtcdFlagGroup>(
  f: EtcdSecurityFlags<G>,
  group: G,
  endpoints: readonly string[],
): EtcdSecuritySpec {
  const values: Partial<Record<string, string>> = f;
  const get = (field: Field): string | undefined => values[`${group}.${field}`];
  const p = FLAG[group];
  const file = (field: Field, flag: string): TlsFile | undefined => {
    const path = get(field);
    return set(path) ? { flag: `${p}.${flag}`, path } : undefined;
  };
  if (set(get('tlsCert')) !== set(get('tlsKey'))) {
    throw new TlsConfigError(`${p}.tls-cert and ${p}.tls-key must be given together`);
  }
  if (set(get('username')) !== set(get('passwordFile'))) {
    throw new InvalidArgumentError(`${p}.username and ${p}.password-file must be given together`);
  }
  const tls = set(get('tlsCert')) || set(get('tlsCa'));
  const plain = endpoints.flatMap((e) => e.split(',')).find((e) => e.trim().startsWith('http://'));
  if (tls && plain !== undefined) {
    throw new TlsConfigError(`${p}.tls-* turn TLS on, but endpoint ${plain.trim()} is http://: use https://`);
  }
  const cert = file('tlsCert', 'tls-cert');
  const key = file('tlsKey', 'tls-key');
  const ca = file('tlsCa', 'tls-ca');
  const passwordFile = file('passwordFile', 'password-file');
  const username = get('username');
  return {
    flags: p,
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(ca !== undefined ? { ca } : {}),
    ...(set(username) ? { username } : {}),
    ...(passwordFile !== undefined ? { passwordFile } : {}),
  };
}

export interface EtcdSecurity {
  auth?: EtcdAuth;
  tls?: EtcdTls;
}

/** Reads the files (errors name the flag and the path, never the content). */
export async function loadEtcdSecurity(spec: EtcdSecuritySpec, logger: Logger): Promise<EtcdSecurity> {
  const out: EtcdSecurity = {};
  if (spec.cert !== undefined || spec.ca !== undefined) {
    const m = await loadClientTls({
      ...(spec.cert !== undefined ? { cert: spec.cert } : {}),
      ...(spec.key !== undefined ? { key: spec.key } : {}),
      ...(spec.ca !== undefined ? { ca: spec.ca } : {}),
      skipVerify: false,
    });
    if (spec.key !== undefined) await warnIfWorldReadable(spec.key, logger);
    out.tls = {
      rootCertificate: Buffer.isBuffer(m.ca) ? m.ca : Buffer.from(rootCertificates.join('\n')),
      ...(Buffer.isBuffer(m.cert) ? { certChain: m.cert } : {}),
      ...(Buffer.isBuffer(m.key) ? { privateKey: m.key } : {}),
    };
  }
  if (spec.username !== undefined && spec.passwordFile !== undefined) {
    const { flag, path } = spec.passwordFile;
    const raw = await readSecretFile(path, flag, logger);
    const password = raw.toString('utf8').replace(/[\r\n]+$/, '');
    if (password === '') throw new InvalidArgumentError(`${flag}: ${path} is empty`);
    out.auth = { username: spec.username, password };
  }
  return out;
}

export interface PrepareEtcdOptions {
  readonly endpoints: readonly string[];
  /** Keys or prefixes the client will use: read once to prove the credentials. */
  readonly keys: readonly string[];
  readonly callTimeoutMs: number;
  readonly logger: Logger;
}

/**
 * The client's TLS and credentials, read and tried: refused credentials (ERR_ETCD_AUTH) or a
 * failed handshake (ERR_ETCD_TLS) end the command here.
 */
export async function prepareEtcdSecurity(
  spec: EtcdSecuritySpec,
  o: PrepareEtcdOptions,
): Promise<EtcdSecurity> {
  const security = await loadEtcdSecurity(spec, o.logger);
  await checkEtcdAccess(
    { endpoints: o.endpoints, callTimeoutMs: o.callTimeoutMs, ...security },
    { keys: o.keys, flags: spec.flags, logger: o.logger },
  );
  return security;
}

/**
 * The election's etcd security for `strata compact` / `strata planner`: none without --etcd.endpoints;
 * otherwise loaded and checked against the election prefix, closing `owner` when that fails.
 */
export async function prepareElectionEtcd(
  spec: EtcdSecuritySpec,
  o: { endpoints: readonly string[]; prefix: string; logger: Logger; owner: { close(): Promise<void> } },
): Promise<EtcdSecurity | Record<string, never>> {
  if (o.endpoints.length === 0) return {};
  return prepareEtcdSecurity(spec, {
    endpoints: o.endpoints,
    keys: [o.prefix],
    callTimeoutMs: 2000,
    logger: o.logger,
  }).catch(async (err: unknown) => {
    await o.owner.close();
    throw err;
  });
}
