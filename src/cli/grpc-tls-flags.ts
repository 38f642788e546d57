/**
 * The gRPC TLS flags, named and worded as Thanos has them: --grpc-server-tls-* for the commands
 * that serve gRPC (planner, store, query), --grpc-client-tls-* and --grpc-client-server-name for
 * the ones that dial (worker, query). Files are read here, once at start; server files are also
 * reloaded when they change (src/util/h2c-server.ts).
 */
import type { Command } from 'commander';
import type { SecureClientSessionOptions } from 'node:http2';
import type { Logger } from '../util/logger.js';
import {
  clientTlsFiles,
  loadClientTls,
  serverTlsFiles,
  warnIfWorldReadable,
  type ServerTlsFiles,
} from '../util/tls.js';

export interface GrpcServerTlsFlags {
  grpcServerTlsCert?: string;
  grpcServerTlsKey?: string;
  grpcServerTlsClientCa?: string;
}

export interface GrpcClientTlsFlags {
  grpcClientTlsSecure: boolean;
  grpcClientTlsSkipVerify: boolean;
  grpcClientTlsCert?: string;
  grpcClientTlsKey?: string;
  grpcClientTlsCa?: string;
  grpcClientServerName?: string;
}

export function grpcServerTlsOptions(cmd: Command): Command {
  return cmd
    .option(
      '--grpc-server-tls-cert <file>',
      'TLS certificate for the gRPC server, leave blank to disable TLS (reloaded when the file changes)',
    )
    .option('--grpc-server-tls-key <file>', 'TLS key for the gRPC server, leave blank to disable TLS')
    .option(
      '--grpc-server-tls-client-ca <file>',
      'TLS CA to verify clients against (mutual TLS); if none is given, clients are not asked for a certificate',
    );
}

export function grpcClientTlsOptions(cmd: Command): Command {
  return cmd
    .option('--grpc-client-tls-secure', 'use TLS when talking to the gRPC server', false)
    .option(
      '--grpc-client-tls-skip-verify',
      'disable TLS certificate verification, i.e. self signed, signed by fake CA',
      false,
    )
    .option('--grpc-client-tls-cert <file>', 'TLS certificate to use to identify this client to the server')
    .option('--grpc-client-tls-key <file>', "TLS key for the client's certificate")
    .option(
      '--grpc-client-tls-ca <file>',
      'TLS CA certificates to use to verify gRPC servers (default: system CAs)',
    )
    .option(
      '--grpc-client-server-name <name>',
      'server name to verify the hostname on the returned gRPC certificates (see RFC 4366 section 3.1)',
    );
}

/** The server's TLS files, or undefined for h2c. Throws ERR_TLS_CONFIG on a bad combination. */
export function parseGrpcServerTls(f: GrpcServerTlsFlags): ServerTlsFiles | undefined {
  return serverTlsFiles({
    cert: f.grpcServerTlsCert,
    key: f.grpcServerTlsKey,
    clientCa: f.grpcServerTlsClientCa,
  });
}

/**
 * http2.connect options for TLS, or undefined for h2c (without --grpc-client-tls-secure the other
 * client flags do nothing, as in Thanos: said in a warning). Reads and checks the files.
 */
export async function loadGrpcClientTls(
  f: GrpcClientTlsFlags,
  logger: Logger,
): Promise<SecureClientSessionOptions | undefined> {
  const files = clientTlsFiles({
    secure: f.grpcClientTlsSecure,
    cert: f.grpcClientTlsCert,
    key: f.grpcClientTlsKey,
    ca: f.grpcClientTlsCa,
    serverName: f.grpcClientServerName,
    skipVerify: f.grpcClientTlsSkipVerify,
  });
  if (files === undefined) {
    const unused = [f.grpcClientTlsCert, f.grpcClientTlsKey, f.grpcClientTlsCa, f.grpcClientServerName].some(
      (v) => v !== undefined && v !== '',
    );
    if (unused || f.grpcClientTlsSkipVerify) {
      logger.warn('gRPC client TLS flags given without --grpc-client-tls-secure: connecting without TLS');
    }
    return undefined;
  }
  if (files.key) await warnIfWorldReadable(files.key, logger);
  return loadClientTls(files);
}
