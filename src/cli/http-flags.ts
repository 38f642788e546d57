/**
 * --http.config (Thanos' name for the exporter-toolkit web config file that Prometheus takes as
 * --web.config.file) and --http.unauthenticated-probes, shared by every command that serves
 * --http-address. The file is read and checked when the command starts, before anything else
 * opens, so a bad file stops the command with ERR_WEB_CONFIG naming the file and the field.
 */
import type { Command } from 'commander';
import type { Logger } from '../util/logger.js';
import { readWebConfig } from '../util/web-config.js';
import type { WebServerOptions } from '../util/web-server.js';

export interface HttpConfigFlags {
  'http.config'?: string;
  'http.unauthenticatedProbes'?: boolean;
}

export function httpConfigOptions(cmd: Command): Command {
  return cmd
    .option(
      '--http.config <file>',
      'web config file (Prometheus/exporter-toolkit format): TLS, basic auth users, response headers; reloaded when it changes',
    )
    .option(
      '--http.unauthenticated-probes',
      'with basic_auth_users in --http.config, still serve /-/healthy and /-/ready without credentials',
      false,
    );
}

/** The checked file, without the logger (the command's logger comes later); undefined without the flag. */
export type HttpConfig = Omit<WebServerOptions, 'logger'>;

export async function readHttpConfig(f: HttpConfigFlags): Promise<HttpConfig | undefined> {
  const file = f['http.config'];
  if (file === undefined || file === '') return undefined;
  return {
    config: await readWebConfig(file),
    unauthenticatedProbes: f['http.unauthenticatedProbes'] === true,
  };
}

/** The `web` option of startHttpEndpoint: spread it into the options. */
export function httpConfigOption(c: HttpConfig | undefined, logger: Logger): { web?: WebServerOptions } {
  return c ? { web: { ...c, logger } } : {};
}
