/**
 * Logging behind a small interface so components take a Logger as a dependency. JSON lines or
 * logfmt (Thanos' default), via pino. Known credential fields are redacted.
 */
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'logfmt' | 'json';
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const REDACT = [
  'secret_key',
  'access_key',
  'secretKey',
  'accessKey',
  'password',
  '*.secret_key',
  '*.access_key',
  '*.secretKey',
  '*.accessKey',
  '*.password',
];

function logfmtValue(v: unknown): string {
  const s = typeof v === 'string' ? v : v instanceof Error ? v.message : (JSON.stringify(v) ?? String(v));
  return /^[^\s"=]+$/.test(s) ? s : JSON.stringify(s);
}

/** Turns pino's JSON lines into logfmt: `ts=... level=info msg="..." k=v`. */
function logfmtStream(out: NodeJS.WritableStream): DestinationStream {
  const levels: Record<number, string> = {
    10: 'trace',
    20: 'debug',
    30: 'info',
    40: 'warn',
    50: 'error',
    60: 'fatal',
  };
  return {
    write(line: string): void {
      const rec = JSON.parse(line) as Record<string, unknown>;
      const { time, level, msg, pid: _pid, hostname: _host, ...rest } = rec;
      let s = `ts=${new Date(Number(time)).toISOString()} level=${levels[Number(level)] ?? String(level)}`;
      for (const [k, v] of Object.entries(rest)) s += ` ${k}=${logfmtValue(v)}`;
      s += ` msg=${logfmtValue(msg)}`;
      out.write(s + '\n');
    },
  };
}

function wrap(p: PinoLogger): Logger {
  return {
    debug: (msg, f) => p.debug(f ?? {}, msg),
    info: (msg, f) => p.info(f ?? {}, msg),
    warn: (msg, f) => p.warn(f ?? {}, msg),
    error: (msg, f) => p.error(f ?? {}, msg),
    child: (f) => wrap(p.child(f)),
  };
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Defaults to stderr, keeping stdout for command output. */
  out?: NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const out = opts.out ?? process.stderr;
  const dest: DestinationStream =
    opts.format === 'json' ? (out as unknown as DestinationStream) : logfmtStream(out);
  const p = pino(
    { level: opts.level ?? 'info', base: undefined, redact: { paths: REDACT, censor: '[REDACTED]' } },
    dest,
  );
  return wrap(p);
}

export const nopLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => nopLogger,
};
