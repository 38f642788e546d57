/**
 * TLS for the gRPC servers and clients, from the flags Thanos uses: PEM files read with errors
 * that name the flag and the file (never their contents), a warning when a key file is readable
 * by every user, and a poller that reloads server files when they change (rotation without a
 * restart).
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { SecureClientSessionOptions } from 'node:http2';
import { StrataError, errorMessage } from './errors.js';
import type { Logger } from './logger.js';
import { findSystemError, systemErrorText } from './system-errors.js';
import { warnIfWorldReadableMode } from './secret-file.js';

/** A TLS flag combination that cannot work, or a file that cannot be read or parsed. */
export class TlsConfigError extends StrataError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_TLS_CONFIG', message, options);
  }
}

/** One file named by one flag. */
export interface TlsFile {
  readonly flag: string;
  readonly path: string;
}

/** --grpc-server-tls-cert/-key/-client-ca. */
export interface ServerTlsFiles {
  readonly cert: TlsFile;
  readonly key: TlsFile;
  /** Mutual TLS: clients must present a certificate signed by this CA. */
  readonly clientCa?: TlsFile;
}

/** --grpc-client-tls-*: what a client uses once --grpc-client-tls-secure is on. */
export interface ClientTlsFiles {
  readonly cert?: TlsFile;
  readonly key?: TlsFile;
  /** Default: Node's bundled CAs. */
  readonly ca?: TlsFile;
  readonly serverName?: string;
  readonly skipVerify: boolean;
}

/** PEM contents for a secure context (what http2.createSecureServer and setSecureContext take). */
export interface ServerTlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer;
}

async function readPem(f: TlsFile): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await readFile(f.path);
  } catch (err) {
    const sys = findSystemError(err);
    throw new TlsConfigError(
      `${f.flag}: cannot read ${f.path}: ${sys ? systemErrorText(sys) : errorMessage(err)}`,
      {
        cause: err,
      },
    );
  }
  if (!data.includes('-----BEGIN ')) throw new TlsConfigError(`${f.flag}: ${f.path} holds no PEM block`);
  return data;
}

/** Parses the certificate (the first of a chain); the error names the flag and file only. */
function certOf(f: TlsFile, pem: Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new TlsConfigError(`${f.flag}: ${f.path} is not a PEM certificate`, { cause: err });
  }
}

/** Reads a certificate and its key, checking that they belong together. */
export async function readPair(cert: TlsFile, key: TlsFile): Promise<{ cert: Buffer; key: Buffer }> {
  const [c, k] = await Promise.all([readPem(cert), readPem(key)]);
  const x509 = certOf(cert, c);
  let privateKey;
  try {
    privateKey = createPrivateKey(k);
  } catch {
    // No cause: the parser's message may quote the file.
    throw new TlsConfigError(`${key.flag}: ${key.path} is not a PEM private key (or it is encrypted)`);
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new TlsConfigError(`${key.flag}: ${key.path} is not the key of ${cert.flag} ${cert.path}`);
  }
  return { cert: c, key: k };
}

/** Reads a PEM CA bundle, checking that it holds a certificate. */
export async function readCa(f: TlsFile): Promise<Buffer> {
  const pem = await readPem(f);
  certOf(f, pem);
  return pem;
}

/** Warns (once per call) when a key file can be read by every user of the machine. */
export async function warnIfWorldReadable(f: TlsFile, logger: Logger | undefined): Promise<void> {
  try {
    const s = await stat(f.path);
    warnIfWorldReadableMode(s.mode, 'key file', { flag: f.flag, file: f.path }, logger);
  } catch {
    // The read reports a missing file.
  }
}

export async function loadServerTls(files: ServerTlsFiles): Promise<ServerTlsMaterial> {
  const [pair, ca] = await Promise.all([
    readPair(files.cert, files.key),
    files.clientCa ? readCa(files.clientCa) : Promise.resolve(undefined),
  ]);
  return ca ? { ...pair, ca } : pair;
}

/** Node http2.connect options for a client (TLS on, ALPN h2). */
export async function loadClientTls(files: ClientTlsFiles): Promise<SecureClientSessionOptions> {
  const out: { -readonly [K in keyof SecureClientSessionOptions]: SecureClientSessionOptions[K] } = {
    ALPNProtocols: ['h2'],
    rejectUnauthorized: !files.skipVerify,
  };
  if (files.cert && files.key) {
    const pair = await readPair(files.cert, files.key);
    out.cert = pair.cert;
    out.key = pair.key;
  }
  if (files.ca) out.ca = await readCa(files.ca);
  if (files.serverName !== undefined && files.serverName !== '') out.servername = files.serverName;
  return out;
}

/** Flag values as given (empty or absent: unset). */
export interface ServerTlsFlagValues {
  readonly cert?: string;
  readonly key?: string;
  readonly clientCa?: string;
}

const set = (v: string | undefined): v is string => v !== undefined && v !== '';

/** Thanos' rules: no cert and no key is plaintext; one without the other, or a client CA alone, is an error. */
export function serverTlsFiles(
  v: ServerTlsFlagValues,
  prefix = '--grpc-server-tls',
): ServerTlsFiles | undefined {
  if (!set(v.cert) && !set(v.key)) {
    if (set(v.clientCa))
      throw new TlsConfigError(
        `${prefix}-client-ca needs ${prefix}-cert and ${prefix}-key (the server's own)`,
      );
    return undefined;
  }
  if (!set(v.cert) || !set(v.key))
    throw new TlsConfigError(`${prefix}-cert and ${prefix}-key must be given together`);
  return {
    cert: { flag: `${prefix}-cert`, path: v.cert },
    key: { flag: `${prefix}-key`, path: v.key },
    ...(set(v.clientCa) ? { clientCa: { flag: `${prefix}-client-ca`, path: v.clientCa } } : {}),
  };
}

export interface ClientTlsFlagValues {
  readonly secure: boolean;
  readonly cert?: string;
  readonly key?: string;
  readonly ca?: string;
  readonly serverName?: string;
  readonly skipVerify: boolean;
}

/** undefined: plaintext (h2c). The other client flags only apply with --grpc-client-tls-secure, as in Thanos. */
export function clientTlsFiles(v: ClientTlsFlagValues, prefix = '--grpc-client'): ClientTlsFiles | undefined {
  if (!v.secure) return undefined;
  if (set(v.cert) !== set(v.key))
    throw new TlsConfigError(`${prefix}-tls-cert and ${prefix}-tls-key must be given together`);
  return {
    ...(set(v.cert) ? { cert: { flag: `${prefix}-tls-cert`, path: v.cert } } : {}),
    ...(set(v.key) ? { key: { flag: `${prefix}-tls-key`, path: v.key } } : {}),
    ...(set(v.ca) ? { ca: { flag: `${prefix}-tls-ca`, path: v.ca } } : {}),
    ...(set(v.serverName) ? { serverName: v.serverName } : {}),
    skipVerify: v.skipVerify,
  };
}

function fileList(files: ServerTlsFiles): TlsFile[] {
  return [files.cert, files.key, ...(files.clientCa ? [files.clientCa] : [])];
}

/** The files' mtime, size and inode: taken before a load, handed to watchServerTls. */
export async function tlsFingerprint(files: ServerTlsFiles): Promise<string> {
  const parts = await Promise.all(
    fileList(files).map(async (f) => {
      try {
        const s = await stat(f.path);
        return `${s.mtimeMs}:${s.size}:${s.ino}`;
      } catch {
        return 'missing';
      }
    }),
  );
  return parts.join('|');
}

export interface TlsReloader {
  stop(): void;
}

/**
 * Polls the files' mtime, size and inode every `intervalMs`; when they change, loads them again
 * and hands the result to `apply`. A half-written or mismatched set is logged and retried on the
 * next poll; the previous certificates stay in use meanwhile.
 */
export function watchServerTls(
  files: ServerTlsFiles,
  /** tlsFingerprint() taken before the certificates in use were read. */
  since: string,
  intervalMs: number,
  apply: (m: ServerTlsMaterial) => void,
  logger: Logger | undefined,
): TlsReloader {
  let last = since;
  let failed: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const poll = async (): Promise<void> => {
    const now = await tlsFingerprint(files);
    if (now === last || now === failed) return;
    try {
      const m = await loadServerTls(files);
      if (stopped) return;
      apply(m);
      last = now;
      failed = undefined;
      logger?.info('TLS certificates reloaded', { cert: files.cert.path });
    } catch (err) {
      failed = now;
      logger?.warn('TLS certificates not reloaded; keeping the previous ones', { err: errorMessage(err) });
    }
  };
  const tick = (): void => {
    timer = setTimeout(() => {
      void poll().finally(() => {
        if (!stopped) tick();
      });
    }, intervalMs);
    timer.unref();
  };
  tick();
  return {
    stop(): void {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
